"""Send one request through the app's test client and record what it left behind.

What a request's Sessions still hold is read right after its response is closed: a later
request may reuse a kept Session and change it, which would blame the wrong request.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import flask
from sqlalchemy.orm import Session

from .loading import LoginHook, UsageProblem
from .observe import PROBE_HEADER, Observer, leftovers

_numbers = itertools.count()


@dataclass(frozen=True)
class Answer:
    """One probed request: what it answered, which Sessions it used, what they kept."""

    label: str
    method: str
    path: str
    probe: str
    status: int
    body: str
    location: str
    error: str
    sessions: tuple[Session, ...]
    #: Pooled connections checked out once the response was closed.
    outstanding_after: int
    left: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def refused(self) -> bool:
        """Turned away before the view ran: a login page, 401 or 403 (``is_accessible``)."""
        return self.status in (401, 403) or (300 <= self.status < 400 and self.method == "GET")

    def describe(self) -> str:
        said = f"{self.method} {self.path} answered {self.status}"
        return f"{said} ({self.error})" if self.error else said


class Prober:
    """The app's test clients, one per thread, logged in by the user's hook when given."""

    def __init__(self, app: flask.Flask, observer: Observer, login: LoginHook | None) -> None:
        self.app = app
        self.observer = observer
        self.login = login
        self._local = threading.local()

    def client(self) -> Any:
        # One client per thread: cookies persist on a client and its contexts do not, as
        # long as it is never used as `with client:` (that would keep a context pushed).
        client = getattr(self._local, "client", None)
        if client is None:
            client = self.app.test_client()
            if self.login is not None:
                try:
                    self.login(client)
                except Exception as exc:  # noqa: BLE001 - the user's hook: any failure is theirs
                    said = next(iter(str(exc).strip().splitlines()), "")
                    raise UsageProblem(
                        f"the login hook raised {type(exc).__name__}: {said}".rstrip(": ")
                    ) from None
            self._local.client = client
        return client

    def get(self, label: str, path: str) -> Answer:
        return self.send(label, "GET", path)

    def post(self, label: str, path: str, data: Mapping[str, str]) -> Answer:
        return self.send(label, "POST", path, data)

    def send(
        self, label: str, method: str, path: str, data: Mapping[str, str] | None = None
    ) -> Answer:
        if flask.has_app_context() and _same_app(self.app):
            # The checks are about requests that stand alone; an outer context would hide
            # exactly the bug they look for.
            raise RuntimeError("an app context of the app is pushed around the checks")
        probe = f"{label}-{next(_numbers)}"
        response = self.client().open(
            path, method=method, data=dict(data or {}), headers={PROBE_HEADER: probe}
        )
        body = response.get_data(as_text=True)
        location = response.headers.get("Location", "")
        response.close()
        sessions = self.observer.sessions(probe)
        left = tuple(
            f"a Session it used {' and '.join(found)}"
            for found in map(leftovers, sessions)
            if found
        )
        return Answer(
            label=label,
            method=method,
            path=path,
            probe=probe,
            status=response.status_code,
            body=body,
            location=location,
            error=self.observer.pop_error(probe),
            sessions=sessions,
            outstanding_after=self.observer.outstanding,
            left=left,
        )


def _same_app(app: flask.Flask) -> bool:
    """Whether the app context pushed now is ``app``'s (not another app's, a test's own)."""
    current: Any = flask.current_app
    return bool(current._get_current_object() is app)
