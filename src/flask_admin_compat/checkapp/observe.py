"""Which Session served each probed request, where user code reached it, pooled connections.

Listeners go on the classes (``sqlalchemy.orm.Session``, ``sqlalchemy.pool.Pool``), so every
Session and every engine of the user's app is seen, including Flask-SQLAlchemy's and lite's
Session subclasses, sessions the app makes itself and engines discovery never found
(class-level pool listeners apply to pools that already exist). A small copy of the scoping
suite's probes, which cannot be imported from here (they never ship in the wheel).
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import flask
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

PROBE_HEADER = "X-Admin-Scoping-Probe"
#: Libraries between the user's code and a query; the first frame outside them is the user's.
LIBRARIES = (
    "sqlalchemy",
    "flask",
    "flask_admin",
    "werkzeug",
    "jinja2",
    "wtforms",
    "flask_sqlalchemy",
    "flask_sqlalchemy_lite",
    "flask_login",
    "blinker",
    "markupsafe",
)
EXCERPT = 300
STDLIB = sysconfig.get_paths()["stdlib"] + os.sep
SITE_PACKAGES = tuple({sysconfig.get_paths()[key] + os.sep for key in ("purelib", "platlib")})


class Observer:
    """Collects, per probe header, the Sessions used, the user frame that reached them, errors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, list[Session]] = {}
        self._reached_from: dict[tuple[str, int], str] = {}
        self._errors: dict[str, str] = {}
        self._outstanding = 0
        self._library_dirs: tuple[str, ...] = ()

    def install(self, app: flask.Flask) -> None:
        # Computed now, after the app was loaded, so every library it imported is known.
        self._library_dirs = _library_dirs()
        event.listen(Session, "after_begin", self._on_begin)
        event.listen(Session, "do_orm_execute", self._on_execute)
        event.listen(Pool, "checkout", self._on_checkout)
        event.listen(Pool, "checkin", self._on_checkin)
        flask.got_request_exception.connect(self._on_exception, app, weak=False)

    def uninstall(self, app: flask.Flask) -> None:
        event.remove(Session, "after_begin", self._on_begin)
        event.remove(Session, "do_orm_execute", self._on_execute)
        event.remove(Pool, "checkout", self._on_checkout)
        event.remove(Pool, "checkin", self._on_checkin)
        flask.got_request_exception.disconnect(self._on_exception, app)

    @property
    def outstanding(self) -> int:
        """Pooled connections checked out now, over every engine."""
        with self._lock:
            return self._outstanding

    def sessions(self, probe: str) -> tuple[Session, ...]:
        with self._lock:
            return tuple(self._seen.get(probe, ()))

    def reached_from(self, probe: str, session: Session) -> str:
        with self._lock:
            return self._reached_from.get((probe, id(session)), "")

    def pop_error(self, probe: str) -> str:
        with self._lock:
            return self._errors.pop(probe, "")

    def _on_begin(self, session: Session, *_: Any) -> None:
        self._note(session)

    def _on_execute(self, state: Any) -> None:
        self._note(state.session)

    def _note(self, session: Session) -> None:
        if not flask.has_request_context():
            return
        probe = flask.request.headers.get(PROBE_HEADER)
        if probe is None:
            return
        frame = _user_frame(sys._getframe(2), self._library_dirs)
        with self._lock:
            used = self._seen.setdefault(probe, [])
            if not any(s is session for s in used):
                used.append(session)
            if frame:
                self._reached_from.setdefault((probe, id(session)), frame)

    def _on_checkout(self, *_: Any) -> None:
        with self._lock:
            self._outstanding += 1

    def _on_checkin(self, *_: Any) -> None:
        with self._lock:
            self._outstanding -= 1

    def _on_exception(self, _sender: object, exception: BaseException, **_: Any) -> None:
        probe = flask.request.headers.get(PROBE_HEADER, "")
        text = f"{type(exception).__name__}: {' '.join(str(exception).split())}"
        with self._lock:
            self._errors[probe] = text[:EXCERPT]


def leftovers(session: Session) -> list[str]:
    """What a Session still holds that its request should have released."""
    found = []
    if session.in_transaction():
        found.append("is still in a transaction")
    if len(session.identity_map):
        found.append(f"still holds {len(session.identity_map)} loaded object(s)")
    if session.new or session.dirty or session.deleted:
        found.append("still has unflushed changes")
    return found


def _library_dirs() -> tuple[str, ...]:
    files = (getattr(sys.modules.get(name), "__file__", None) for name in LIBRARIES)
    dirs = tuple(f"{Path(file).parent}{os.sep}" for file in files if file)
    # This package is never the user's code either.
    return (*dirs, f"{Path(__file__).parent}{os.sep}")


def _is_library(filename: str, library_dirs: tuple[str, ...]) -> bool:
    if filename.startswith(library_dirs) or filename.startswith("<"):
        return True
    # The standard library (threading, contextlib) is not the user's code; site-packages,
    # which may sit inside the standard library's folder, can be.
    return filename.startswith(STDLIB) and not filename.startswith(SITE_PACKAGES)


def _user_frame(frame: FrameType | None, library_dirs: tuple[str, ...]) -> str:
    """The innermost frame outside the libraries: where the user's code reached the Session."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_library(filename, library_dirs):
            return f"{frame.f_code.co_name} at {filename}:{frame.f_lineno}"
        frame = frame.f_back
    return ""
