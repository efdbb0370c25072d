"""Send one request to the app, named by a probe header, and say what came back.

Requests go through Flask's test client with no app context pushed around them: two requests
sent while an outer app context is pushed share that context, and so share one session on
every backend, and the checks would measure the caller instead of the stack.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import flask
from sqlalchemy.orm import Session

from .observe import PROBE_HEADER, Observer
from .pages import page_messages

#: A form as posted: a mapping, or pairs where a key repeats (``rowid`` of a batch action).
FormData: TypeAlias = Mapping[str, str] | Sequence[tuple[str, str]]
#: Logs a new test client in before its first request (check-app's ``--login``).
LoginHook: TypeAlias = Callable[[Any], object]
#: How much of a failing page to quote in a message.
BODY_EXCERPT = 300


@dataclass(frozen=True)
class Answer:
    """One request that was sent, what came back, and which Sessions served it."""

    method: str
    path: str
    probe: str
    status: int
    body: str
    location: str = ""
    error: str = ""
    sessions: tuple[Session, ...] = field(default=())
    #: The admin surface Flask matched the request to; empty when it matched none.
    surface: str = ""

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def refused(self) -> bool:
        """Turned away before the view ran: 401, 403, or a GET sent to another page (a login)."""
        return self.status in (401, 403) or (300 <= self.status < 400 and self.method == "GET")

    def describe(self) -> str:
        """A one-line account of the request, for a message."""
        said = f"{self.method} {self.path} answered {self.status}"
        if self.error:
            return f"{said} ({self.error})"
        if self.status >= 400:
            excerpt = " ".join(self.body.split())[:BODY_EXCERPT]
            return f"{said}: {excerpt}"
        if self.refused and self.location:
            return f"{said}, to {self.location}"
        notes = page_messages(self.body)
        return f"{said}, saying: {' | '.join(notes)}" if notes else said


class OuterContext(RuntimeError):
    """An app context of the app under test was pushed around a request."""


class Prober:
    """Sends the checks' requests to one app and reads back what its observer saw.

    ``keep_cookies``: one test client per thread, logged in once by ``login`` (a user's app
    behind a login); otherwise a new client per request, so that nothing a request left in
    the cookie (a flashed message) reaches the next.
    """

    def __init__(
        self,
        app: flask.Flask,
        observer: Observer,
        *,
        login: LoginHook | None = None,
        keep_cookies: bool = False,
    ) -> None:
        self.app = app
        self.observer = observer
        self.login = login
        self.keep_cookies = keep_cookies
        self._local = threading.local()
        self._numbers = itertools.count()
        #: Every request sent, by probe: ``GET /admin/post/``, for the checks' messages.
        self.sent: dict[str, str] = {}

    def client(self) -> Any:
        if not self.keep_cookies:
            return self.app.test_client()
        # Never used as `with client:`, which would keep a context pushed.
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.app.test_client()
            if self.login is not None:
                self.login(client)
            self._local.client = client
        return client

    def probe_name(self, label: str) -> str:
        return f"{label}-{next(self._numbers)}"

    def send(self, method: str, path: str, *, label: str, data: FormData | None = None) -> Answer:
        """Send one request and return what it answered and which Sessions served it."""
        if flask.has_app_context() and _pushed_for(self.app):
            raise OuterContext(
                "an app context of the app is pushed around the checks' requests; "
                "requests would share it"
            )
        from werkzeug.datastructures import MultiDict

        probe = self.probe_name(label)
        self.sent[probe] = f"{method} {path}"
        form = MultiDict(data) if data is not None and not isinstance(data, Mapping) else data
        response = self.client().open(path, method=method, data=form, headers={PROBE_HEADER: probe})
        body = response.get_data(as_text=True)
        location = response.headers.get("Location", "")
        response.close()
        return Answer(
            method=method,
            path=path,
            probe=probe,
            status=response.status_code,
            body=body,
            location=location,
            error=self.observer.pop_error(probe),
            sessions=self.observer.sessions(probe),
            surface=self.observer.surface(probe),
        )


def _pushed_for(app: flask.Flask) -> bool:
    """Whether the app context pushed now is ``app``'s (not another app's, a test's own)."""
    current: Any = flask.current_app
    return bool(current._get_current_object() is app)
