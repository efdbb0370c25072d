"""A backend whose ``db.session`` is one Session for the app's whole lifetime.

Every request, in every thread, shares it; nothing closes it. The per-request, teardown and
fresh-reads checks must fail (and concurrency, as threads share it).
"""

from __future__ import annotations

from typing import Any

from .base import FakeSQLAlchemy


class GlobalSessionSQLAlchemy(FakeSQLAlchemy):
    def make_session_proxy(self) -> Any:
        assert self.sessionmaker is not None
        return self.sessionmaker()
