"""What the suite observes: which Session each request used, and pooled connections in use.

The checks look at what the admin view actually did, not at what the test passed to it:
SQLAlchemy's own events say which Session ran each query, and pool events say when a
connection left and came back. Each probed request carries a header naming it, so events from
several threads at once can be told apart.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .stack import describe_exception

PROBE_HEADER = "X-Scoping-Probe"
#: A form as posted: a mapping, or pairs where a key repeats (``rowid`` of a batch action).
FormData: TypeAlias = Mapping[str, str] | Sequence[tuple[str, str]]
#: How much of a failing page to quote in a message.
BODY_EXCERPT = 300
MESSAGE_ELEMENT = re.compile(
    r'<(?P<tag>div|span|p)[^>]*class="[^"]*'
    r'(?:alert-(?:error|danger|warning)|help-block|help-inline|invalid-feedback)[^"]*"[^>]*>'
    r"(?P<text>.*?)</(?P=tag)>",
    re.DOTALL,
)
TAG = re.compile(r"<[^>]+>")
#: The dismiss button inside a flashed message, whose "x" is not part of what it says.
CLOSE_BUTTON = re.compile(r'<(?P<tag>a|button)[^>]*class="close"[^>]*>.*?</(?P=tag)>', re.DOTALL)


class SessionLog:
    """Which Session objects did ORM work during each probed request.

    Listeners go on the Session class, so they see every session, including backends' own
    Session subclasses and sessions the test never handed out.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, list[Session]] = {}

    def install(self) -> None:
        event.listen(Session, "after_begin", self._on_begin)
        event.listen(Session, "do_orm_execute", self._on_execute)

    def uninstall(self) -> None:
        event.remove(Session, "after_begin", self._on_begin)
        event.remove(Session, "do_orm_execute", self._on_execute)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()

    def sessions(self, probe: str) -> tuple[Session, ...]:
        """The distinct sessions the request named ``probe`` used, first used first."""
        with self._lock:
            return tuple(self._seen.get(probe, ()))

    def _on_begin(self, session: Session, _transaction: Any, _connection: Any) -> None:
        self._note(session)

    def _on_execute(self, state: Any) -> None:
        self._note(state.session)

    def _note(self, session: Session) -> None:
        if not flask.has_request_context():
            return
        probe = flask.request.headers.get(PROBE_HEADER)
        if probe is None:
            return
        with self._lock:
            used = self._seen.setdefault(probe, [])
            # Compare by identity: the question is "the same object?", and a Session's
            # equality is not defined to mean that.
            if not any(seen is session for seen in used):
                used.append(session)


class PoolCount:
    """Connections of one engine's pool checked out and not yet back.

    Counted with pool events because ``pool.checkedout()`` is not on every pool class
    (SQLAlchemy 1.4's NullPool, the default for SQLite files there, lacks it).
    """

    def __init__(self, engine: Engine) -> None:
        self._lock = threading.Lock()
        self._out = 0
        event.listen(engine, "checkout", self._on_checkout)
        event.listen(engine, "checkin", self._on_checkin)

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


class RequestErrors:
    """The exception behind each probed 500, and the surface each probed request was.

    The surface is read from the endpoint Flask matched and the query it was sent with, so a
    message names what Flask-Admin ran, not what the suite meant to ask.
    """

    def __init__(self, app: flask.Flask) -> None:
        self._lock = threading.Lock()
        self._errors: dict[str, str] = {}
        self._surfaces: dict[str, str] = {}
        flask.got_request_exception.connect(self._on_exception, app, weak=False)
        flask.request_started.connect(self._on_start, app, weak=False)

    def pop(self, probe: str) -> str:
        with self._lock:
            return self._errors.pop(probe, "")

    def pop_surface(self, probe: str) -> str:
        with self._lock:
            return self._surfaces.pop(probe, "")

    def _on_start(self, _sender: Any, **_extra: Any) -> None:
        from .surfaces import surface_of

        probe = flask.request.headers.get(PROBE_HEADER)
        surface = surface_of(flask.request.endpoint, flask.request.args)
        if probe is not None and surface is not None:
            with self._lock:
                self._surfaces[probe] = surface

    def _on_exception(self, _sender: Any, exception: BaseException, **_extra: Any) -> None:
        probe = flask.request.headers.get(PROBE_HEADER, "")
        with self._lock:
            self._errors[probe] = describe_exception(exception)


@dataclass(frozen=True)
class Answer:
    """One request the test sent, what came back, and which sessions served it."""

    method: str
    path: str
    probe: str
    status: int
    body: str
    error: str = ""
    sessions: tuple[Session, ...] = field(default=())
    #: The admin surface Flask matched the request to; empty when it matched none.
    surface: str = ""

    @property
    def ok(self) -> bool:
        return self.status < 400

    def describe(self) -> str:
        """A one-line account of a request for failure messages."""
        said = f"{self.method} {self.path} answered {self.status}"
        if self.error:
            return f"{said} ({self.error})"
        if self.status >= 400:
            excerpt = " ".join(self.body.split())[:BODY_EXCERPT]
            return f"{said}: {excerpt}"
        notes = page_messages(self.body)
        return f"{said}, saying: {' | '.join(notes)}" if notes else said


def send(
    app: flask.Flask,
    log: SessionLog,
    errors: RequestErrors,
    *,
    method: str,
    path: str,
    probe: str,
    data: FormData | None = None,
) -> Answer:
    """Send one request through a new test client, with no app context pushed around it.

    Two requests sent while an outer app context is pushed share that context, and so share
    one session on every backend: the checks would then measure the test, not the stack.
    """
    if flask.has_app_context():
        raise AssertionError(
            "the suite pushed an app context around a request; requests would share it"
        )
    from werkzeug.datastructures import MultiDict

    client = app.test_client()
    form = MultiDict(data) if data is not None and not isinstance(data, Mapping) else data
    response = client.open(path, method=method, data=form, headers={PROBE_HEADER: probe})
    body = response.get_data(as_text=True)
    response.close()
    return Answer(
        method=method,
        path=path,
        probe=probe,
        status=response.status_code,
        body=body,
        error=errors.pop(probe),
        sessions=log.sessions(probe),
        surface=errors.pop_surface(probe),
    )


def page_messages(body: str) -> list[str]:
    """Flashed messages and form-field errors on an admin page, as plain text.

    A form POST answered 200 means the admin showed its form again; these say why. Matched
    by the class names Flask-Admin's bootstrap 2, 3 and 4 templates give them.
    """
    found = []
    for match in MESSAGE_ELEMENT.finditer(body):
        inner = CLOSE_BUTTON.sub(" ", match.group("text"))
        text = " ".join(html.unescape(TAG.sub(" ", inner)).split())
        if text:
            found.append(text[:BODY_EXCERPT])
    return found


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
