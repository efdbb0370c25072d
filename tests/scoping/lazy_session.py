"""A session for Flask-Admin that is fresh for every request, whatever the session backend.

Copy this file into your project when you cannot pass ``ModelView(Model, db)``: with
flask-sqlalchemy-lite on Flask-Admin before 2.1 (which only takes a session), or when you
build your views outside any app context (where lite's ``db.session`` raises
``RuntimeError: Working outside of application context``). Passing lite's ``db.session``
from inside an app context is worse: Flask-Admin keeps that one Session for good, shared by
every request and thread, and it keeps a pooled connection checked out.

``app_scoped_session`` returns a ``scoped_session``: a proxy that looks up, on every use,
the Session of the current Flask app context (each request runs in its own app context),
creates it on first use from your factory, and closes and forgets it when that context ends.

With flask-sqlalchemy-lite::

    from flask import Flask
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from flask_sqlalchemy_lite import SQLAlchemy

    from lazy_session import app_scoped_session

    db = SQLAlchemy()

    def create_app() -> Flask:
        app = Flask(__name__)
        app.config["SQLALCHEMY_ENGINES"] = {"default": "sqlite:///app.db"}
        db.init_app(app)
        # db.sessionmaker needs an app context, so look it up only when a session is made.
        session = app_scoped_session(app, lambda: db.sessionmaker())
        admin = Admin(app)
        admin.add_view(ModelView(User, session))
        return app

With Flask-SQLAlchemy, ``db.session`` is already scoped to the app context, so
``ModelView(User, db.session)`` is fine; ``app_scoped_session(app, db.session)`` gives the
same session and is only useful to write one registration for both backends.

Flask-Admin 2.1 and later warn (DeprecationWarning) when given a session instead of ``db``;
prefer ``ModelView(User, db)`` there, built inside ``with app.app_context():`` for lite.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.globals import app_ctx
from sqlalchemy.orm import Session, scoped_session


def app_scoped_session(app: Flask, session_factory: Callable[[], Session]) -> scoped_session:
    """Return a proxy to one Session per app context of ``app``, closed when the context ends.

    ``session_factory`` is called inside the app context, once per context that uses the
    session; it can be lite's ``lambda: db.sessionmaker()`` or Flask-SQLAlchemy's ``db.session``.
    """
    sessions = scoped_session(session_factory, scopefunc=_current_app_context_id)

    def close_session(_exc: BaseException | None) -> None:
        # Without this the registry would keep every context's Session (and its connection)
        # alive, and a later context reusing the same id() would get an old, dirty Session.
        sessions.remove()

    app.teardown_appcontext(close_session)
    return sessions


def _current_app_context_id() -> int:
    """Key sessions on the app context itself, as Flask-SQLAlchemy 3 does."""
    return id(app_ctx._get_current_object())
