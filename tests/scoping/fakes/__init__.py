"""Deliberately broken session backends, to prove each scoping check can fail.

Selected with ``--fake-backend NAME``. Each is plain SQLAlchemy + Flask (no Flask-SQLAlchemy
needed), shaped like the real extensions where the patterns touch them, and broken in one way:

- ``global-session``: one Session for the app's lifetime;
- ``no-close``: one Session per app context, never closed when the context ends;
- ``no-rollback``: never rolls a failed session back, and hands it to the next request.

Imported only when a fake is asked for.

``--fake-admin-surface SURFACE`` is the other kind (:mod:`surface_pin`): the backend stays
sound, and one Flask-Admin surface keeps the first Session it resolves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

GLOBAL_SESSION = "global-session"
NO_CLOSE = "no-close"
NO_ROLLBACK = "no-rollback"
FAKE_NAMES: tuple[str, ...] = (GLOBAL_SESSION, NO_CLOSE, NO_ROLLBACK)


def make_fake(name: str) -> Any:
    """A new, uninitialised fake extension object."""
    return _factories()[name]()


def _factories() -> dict[str, Callable[[], Any]]:
    # Imported here: this module is read to validate --fake-backend before the stack loads.
    from .global_session import GlobalSessionSQLAlchemy
    from .no_close import NoCloseSQLAlchemy
    from .no_rollback import NoRollbackSQLAlchemy

    return {
        GLOBAL_SESSION: GlobalSessionSQLAlchemy,
        NO_CLOSE: NoCloseSQLAlchemy,
        NO_ROLLBACK: NoRollbackSQLAlchemy,
    }
