"""A backend that never rolls a failed session back, and gives it to the next request.

Healthy sessions are closed at the end of each request as they should be. A session whose
transaction failed is neither rolled back (its ``rollback()``, which Flask-Admin calls after
a failed commit, does nothing) nor closed, but reused by the next app context, which then
meets ``PendingRollbackError``: the isolation-after-error check must fail.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import orm

from .base import ContextToken, FakeSQLAlchemy


class NoRollbackSession(orm.Session):
    def rollback(self) -> None:
        """The deliberate bug: a rollback that does nothing."""


class NoRollbackSQLAlchemy(FakeSQLAlchemy):
    session_class = NoRollbackSession

    def __init__(self) -> None:
        super().__init__()
        self._failed: orm.Session | None = None

    def make_session_proxy(self) -> Any:
        return orm.scoped_session(self._session_for_new_context, scopefunc=ContextToken())

    def _session_for_new_context(self) -> orm.Session:
        failed, self._failed = self._failed, None
        if failed is not None:
            return failed
        assert self.sessionmaker is not None
        return self.sessionmaker()

    def end_context(self, exc: BaseException | None) -> None:
        registry = self.session.registry
        if not registry.has():
            return
        session = registry()
        if session.is_active:
            self.session.remove()
            return
        # A failed transaction: forget it for this context without closing it, and hand it on.
        self._failed = session
        registry.clear()
