"""check-app: the scoping checks against the ModelViews of a user's own Flask-Admin app.

Runs in the user's environment, over their installed Flask, Flask-Admin and SQLAlchemy, so it
imports none of the runner's dependencies (nox, uv, jsonschema, pip) and nothing of the
runner. The checks themselves are the engine's (:mod:`flask_admin_compat.checks`); this
package is its adapter for a user's app.

Steps, one module each: :mod:`.loading` (``--app`` as ``flask --app`` finds it, imported
once and bounded in time; ``--login``), :mod:`.discover` (Admins, views, engines),
:mod:`.target` (the app under check, one observer for its whole check), :mod:`.walk` (each
view's surfaces and the read checks; what a request that did not answer means),
:mod:`.writes` with :mod:`.forms` and :mod:`.values` (rows made through forms filled from
their own validators), :mod:`.tracebacks` (the app's errors kept per request),
:mod:`.diagnose` (why), :mod:`.report` (the model and its text and JSON), :mod:`.streams`
(the app's output kept off stdout), :mod:`.command` (the ``check-app`` edge) and
:mod:`.pytest_plugin`.
"""
