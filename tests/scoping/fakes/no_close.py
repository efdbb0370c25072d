"""A backend with a fresh Session per app context that it never closes.

Each request gets its own session, but at the end of the request the session keeps its
transaction, its loaded objects and its pooled connection: the teardown check must fail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import orm

from .base import ContextToken, FakeSQLAlchemy


class NoCloseSQLAlchemy(FakeSQLAlchemy):
    def make_session_proxy(self) -> Any:
        return orm.scoped_session(self.sessionmaker, scopefunc=ContextToken())

    # end_context is inherited and does nothing: the deliberate bug (no session.remove()).
