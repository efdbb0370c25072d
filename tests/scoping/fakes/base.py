"""What every fake shares: an engine and a sessionmaker per app, and ``db`` as a session.

A fake serves one app (the suite makes one extension object per app). ``db`` forwards
session attributes to ``db.session``, so ``ModelView(Model, db)`` uses the fake's broken
session on every Flask-Admin: Flask-Admin 2.1+ only unwraps the real extensions' ``db`` and
treats any other object as the session itself, as 1.6 and 2.0 always do.
"""

from __future__ import annotations

from typing import Any

import flask
import sqlalchemy as sa
from sqlalchemy import orm


class FakeSQLAlchemy:
    """The skeleton of a Flask session extension; subclasses decide how sessions live."""

    session_class: type[orm.Session] = orm.Session

    def __init__(self) -> None:
        self.engine: sa.engine.Engine | None = None
        self.sessionmaker: orm.sessionmaker[Any] | None = None

    def init_app(self, app: flask.Flask) -> None:
        self.engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        self.sessionmaker = orm.sessionmaker(bind=self.engine, class_=self.session_class)
        self.session = self.make_session_proxy()
        app.teardown_appcontext(self.end_context)

    def make_session_proxy(self) -> Any:
        """What ``db.session`` is: decided by each fake."""
        raise NotImplementedError

    def end_context(self, exc: BaseException | None) -> None:
        """Called when an app context ends: where a real extension closes its session."""

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the extension itself lacks (query, add, commit, ...).
        if name.startswith("_") or name == "session":
            raise AttributeError(name)
        return getattr(self.session, name)


class ContextToken:
    """A key unique to the current app context, kept in ``g``.

    Unlike ``id()`` of the context it is never reused, so a fake that never forgets a session
    cannot hand a later context an old session by accident: its brokenness stays the one meant.
    """

    def __init__(self) -> None:
        self._next = 0

    def __call__(self) -> int:
        token: int | None = flask.g.get("_fake_scope")
        if token is None:
            self._next += 1
            token = flask.g._fake_scope = self._next
        return token
