"""Start the stack under test lazily, so that a broken install is an outcome, not a crash.

Only the standard library is imported here: this module is imported at collection, and the
stack (flask, flask_admin, sqlalchemy, the backend) only inside :func:`start`, whose failure
becomes the ``startup`` check's message and the skip reason of every other check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_admin_compat.checks.describe import describe_exception


@dataclass(frozen=True)
class Startup:
    """The backend adapter when the stack started, else why it did not."""

    backend: Any = None
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


def start(fake: str | None, database_url: str) -> Startup:
    """Import the stack, build a bare app against ``database_url`` and create its tables."""
    try:
        from .backends import detect_backend

        # The backend first, so that its own import error is the one reported rather than
        # whatever Flask-Admin makes of a backend it could not import.
        backend = detect_backend(fake)

        from .app_factory import build_base_app
        from .database import Database

        base = build_base_app(backend, database_url)
        database = Database.connect(database_url, base.models)
        database.create_tables()
        database.drop_tables()
        base.engine.dispose()
    # SystemExit too: a hostile package that exits on import must not end the whole run.
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - a stack that cannot start is a result
        return Startup(error=describe_exception(exc))
    return Startup(backend=backend)
