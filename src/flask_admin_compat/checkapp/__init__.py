"""check-app: the scoping checks against the ModelViews of a user's own Flask-Admin app.

Runs in the user's environment, over their installed Flask, Flask-Admin and SQLAlchemy, so it
imports none of the runner's dependencies (nox, uv, jsonschema, pip) and nothing of the
runner. The scoping suite (tests/scoping) runs inside cells, where this package is not
installed, so the few observer pieces both need are a deliberate small copy, not an import.

Steps, one module each: :mod:`.loading` (``--app``, ``--login``), :mod:`.discover` (Admins,
views, engines), :mod:`.observe` (Sessions and pooled connections), :mod:`.probe` (requests),
:mod:`.checks` and :mod:`.writes` (verdicts), :mod:`.diagnose` (why), :mod:`.report` (the
model and its text and JSON), :mod:`.command` (the ``check-app`` edge) and
:mod:`.pytest_plugin`.
"""
