"""The scoping checks: one engine for the cells' suite and for check-app.

What is here imports nothing but the standard library and the stack under test (Flask,
Flask-Admin, SQLAlchemy), so it runs inside every cell without a pin of its own and in a
user's environment with the project's core install. Each front end is a thin adapter:

- ``tests/scoping``: the fixture app, its four registration patterns and the fakes, run in
  every cell (its ``pytest.ini`` puts this package's ``src`` folder on the path);
- :mod:`flask_admin_compat.checkapp`: a user's own app, its views found as it built them.

The pieces, one job a module: :mod:`.ids` (check, pattern and outcome words),
:mod:`.surfaces` (the admin surfaces as data: how an app offers each, which requests reach
it), :mod:`.observe` (which Session each request used, over the app's whole life, and pooled
connections), :mod:`.probe` (one request and what it left behind), :mod:`.pages` (what an
admin page says and which form it holds), :mod:`.walk` (a sequence of visits, each recorded
as it ends) and :mod:`.judge` (the check functions: visits in, an outcome out).
"""
