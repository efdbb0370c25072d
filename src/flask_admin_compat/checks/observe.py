"""What the checks observe: which Session served each request, over the app's whole life.

The checks look at what the admin views actually did, not at what was passed to them:
SQLAlchemy's own events say which Session ran each query, pool events say when a connection
left and came back, and Flask's signals say which surface each request was and what it raised.
Each probed request carries a header naming it, so events from several threads at once can be
told apart. Listeners go on the classes (``Session``, ``Pool``), so every Session is seen,
backends' own subclasses and sessions the app makes itself included.

Sessions are tracked by identity for as long as the app lives, across checks and threads (the
:class:`Ledger`): a Session that one path keeps and uses again in a later request is caught
even when it is clean at the end of every request and the two requests belong to two checks.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from .describe import describe_exception
from .surfaces import surface_of

PROBE_HEADER = "X-Scoping-Probe"
#: How much of an exception's text to keep.
EXCERPT = 300


def current_surface() -> str | None:
    """The admin surface of the request being served, from the view method Flask matched."""
    endpoint = flask.request.endpoint or ""
    if "." not in endpoint:
        return None
    function = flask.current_app.view_functions.get(endpoint)
    view = getattr(function, "__self__", None)
    return surface_of(
        endpoint.split(".", 1)[1], flask.request.args, view, posted=flask.request.method == "POST"
    )


@dataclass(frozen=True)
class Use:
    """One request that ran ORM work through a Session: its probe and its surface."""

    probe: str
    surface: str


@dataclass(frozen=True)
class Shared:
    """A Session that served more than one request of the app's life, and which."""

    session: Session
    uses: tuple[Use, ...]

    @property
    def surfaces(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(use.surface for use in self.uses))


class Ledger:
    """Every Session that did ORM work in a probed request, by identity, for the app's life.

    Held weakly: a Session that was collected cannot serve another request, and dropping it
    at once (the weakref's callback) means a new Session that reuses its ``id`` is never
    confused with it. Nothing here keeps a Session, or its connection, alive.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uses: dict[int, tuple[weakref.ref[Session], list[Use]]] = {}

    def note(self, session: Session, use: Use) -> None:
        key = id(session)
        with self._lock:
            entry = self._uses.get(key)
            if entry is None or entry[0]() is not session:
                entry = (weakref.ref(session, self._forget(key)), [])
                self._uses[key] = entry
            if not any(seen.probe == use.probe for seen in entry[1]):
                entry[1].append(use)

    def _forget(self, key: int) -> Callable[[weakref.ref[Session]], None]:
        def forget(ref: weakref.ref[Session]) -> None:
            with self._lock:
                if self._uses.get(key, (None,))[0] is ref:
                    del self._uses[key]

        return forget

    def shared(self) -> list[Shared]:
        """The Sessions that served two requests or more, in the order first used."""
        with self._lock:
            entries = [(ref(), list(uses)) for ref, uses in self._uses.values() if len(uses) > 1]
        return [Shared(session, tuple(uses)) for session, uses in entries if session is not None]

    def clear(self) -> None:
        with self._lock:
            self._uses.clear()


class Observer:
    """Per probed request of one app: the Sessions it used, its surface, its exception.

    ``frames``: also note where the app's own code reached each Session (the first frame
    outside the libraries), which check-app names in a diagnosis; the suite does not pay for
    the stack walk.
    """

    def __init__(self, app: flask.Flask, *, frames: bool = False) -> None:
        self.app = app
        self.ledger = Ledger()
        self._frames = frames
        self._lock = threading.Lock()
        self._seen: dict[str, list[Session]] = {}
        self._surfaces: dict[str, str] = {}
        self._errors: dict[str, str] = {}
        self._reached_from: dict[tuple[str, int], str] = {}
        self._library_dirs: tuple[str, ...] = ()

    def install(self) -> None:
        # Computed now, after the app was built, so every library it imported is known.
        self._library_dirs = library_dirs() if self._frames else ()
        event.listen(Session, "after_begin", self._on_begin)
        event.listen(Session, "do_orm_execute", self._on_execute)
        flask.request_started.connect(self._on_start, self.app, weak=False)
        flask.got_request_exception.connect(self._on_exception, self.app, weak=False)

    def uninstall(self) -> None:
        event.remove(Session, "after_begin", self._on_begin)
        event.remove(Session, "do_orm_execute", self._on_execute)
        flask.request_started.disconnect(self._on_start, self.app)
        flask.got_request_exception.disconnect(self._on_exception, self.app)

    def forget(self) -> None:
        """Let go of every record (the app is torn down): nothing of it is judged again."""
        with self._lock:
            self._seen.clear()
            self._surfaces.clear()
            self._errors.clear()
            self._reached_from.clear()
        self.ledger.clear()

    def sessions(self, probe: str) -> tuple[Session, ...]:
        """The distinct Sessions the request named ``probe`` used, first used first."""
        with self._lock:
            return tuple(self._seen.get(probe, ()))

    def surface(self, probe: str) -> str:
        """The surface Flask matched the request to; empty when it matched none."""
        with self._lock:
            return self._surfaces.get(probe, "")

    def pop_error(self, probe: str) -> str:
        with self._lock:
            return self._errors.pop(probe, "")

    def reached_from(self, probe: str, session: Session) -> str:
        with self._lock:
            return self._reached_from.get((probe, id(session)), "")

    def _on_begin(self, session: Session, *_: Any) -> None:
        self._note(session)

    def _on_execute(self, state: Any) -> None:
        self._note(state.session)

    def _note(self, session: Session) -> None:
        if not flask.has_request_context():
            return
        probe = flask.request.headers.get(PROBE_HEADER)
        if probe is None or flask.current_app._get_current_object() is not self.app:  # type: ignore[attr-defined]
            return
        frame = user_frame(sys._getframe(2), self._library_dirs) if self._frames else ""
        with self._lock:
            used = self._seen.setdefault(probe, [])
            # By identity: the question is "the same object?", and a Session's equality is
            # not defined to mean that.
            if not any(seen is session for seen in used):
                used.append(session)
            if frame:
                self._reached_from.setdefault((probe, id(session)), frame)
            surface = self._surfaces.get(probe, "")
        self.ledger.note(session, Use(probe, surface))

    def _on_start(self, _sender: Any, **_extra: Any) -> None:
        probe = flask.request.headers.get(PROBE_HEADER)
        surface = current_surface()
        if probe is not None and surface is not None:
            with self._lock:
                self._surfaces[probe] = surface

    def _on_exception(self, _sender: Any, exception: BaseException, **_extra: Any) -> None:
        probe = flask.request.headers.get(PROBE_HEADER, "")
        with self._lock:
            self._errors[probe] = describe_exception(exception)[:EXCERPT]


class PoolCount:
    """Connections checked out of a pool and not yet back: one engine's, or every pool's.

    Counted with pool events because ``pool.checkedout()`` is not on every pool class
    (SQLAlchemy 1.4's NullPool, the default for SQLite files there, lacks it). ``target`` is
    an Engine, or the ``Pool`` class to count every engine's (check-app: engines discovery
    never found included, as class-level listeners reach pools that already exist).
    """

    def __init__(self, target: Any) -> None:
        self._target = target
        self._lock = threading.Lock()
        self._out = 0
        event.listen(target, "checkout", self._on_checkout)
        event.listen(target, "checkin", self._on_checkin)

    def close(self) -> None:
        event.remove(self._target, "checkout", self._on_checkout)
        event.remove(self._target, "checkin", self._on_checkin)

    @property
    def outstanding(self) -> int:
        with self._lock:
            return self._out

    def _on_checkout(self, *_args: Any) -> None:
        with self._lock:
            self._out += 1

    def _on_checkin(self, *_args: Any) -> None:
        with self._lock:
            self._out -= 1


#: Libraries between an app's code and a query; the first frame outside them is the app's.
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
STDLIB = sysconfig.get_paths()["stdlib"] + os.sep
SITE_PACKAGES = tuple({sysconfig.get_paths()[key] + os.sep for key in ("purelib", "platlib")})


def library_dirs() -> tuple[str, ...]:
    files = (getattr(sys.modules.get(name), "__file__", None) for name in LIBRARIES)
    dirs = tuple(f"{Path(file).parent}{os.sep}" for file in files if file)
    # This project is never the app's code either.
    return (*dirs, f"{Path(__file__).parents[1]}{os.sep}")


def _is_library(filename: str, libraries: tuple[str, ...]) -> bool:
    if filename.startswith(libraries) or filename.startswith("<"):
        return True
    # The standard library (threading, contextlib) is not the app's code; site-packages,
    # which may sit inside the standard library's folder, can be.
    return filename.startswith(STDLIB) and not filename.startswith(SITE_PACKAGES)


def user_frame(frame: FrameType | None, libraries: tuple[str, ...]) -> str:
    """The innermost frame outside the libraries: where the app's code reached the Session."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_library(filename, libraries):
            return f"{frame.f_code.co_name} at {filename}:{frame.f_lineno}"
        frame = frame.f_back
    return ""


def leftovers(session: Session) -> list[str]:
    """What a Session still holds that a closed one would not, in words; empty when clean."""
    found: list[str] = []
    if session.in_transaction():
        found.append("is still in a transaction")
    if len(session.identity_map):
        found.append(f"still holds {len(session.identity_map)} loaded object(s)")
    if session.new or session.dirty or session.deleted:
        found.append("still has unflushed changes")
    return found
