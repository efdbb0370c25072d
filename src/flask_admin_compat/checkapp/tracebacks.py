"""The tracebacks of the app's own exceptions, kept per request instead of printed per view.

Flask logs every unhandled exception with its traceback (``app.log_exception``) and
Flask-Admin logs a failed save the same way: a missing table would print a traceback on
stderr for every view. While the checks run those go quiet, and each request's traceback is
kept here, for ``--json`` and ``--verbose``.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

import flask

from flask_admin_compat.checks.observe import PROBE_HEADER

#: Flask-Admin's logger, which logs a failed create, edit or delete with its traceback.
FLASK_ADMIN_LOGGER = "flask-admin"


class Tracebacks:
    """Records the traceback of each request's unhandled exception, by probe."""

    def __init__(self, app: flask.Flask) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._kept: dict[str, str] = {}
        self._level = logging.NOTSET

    def install(self) -> None:
        flask.got_request_exception.connect(self._on_exception, self.app, weak=False)
        # An instance attribute over the method: Flask calls self.log_exception(exc_info).
        self.app.log_exception = lambda exc_info: None  # type: ignore[method-assign]
        logger = logging.getLogger(FLASK_ADMIN_LOGGER)
        self._level = logger.level
        logger.setLevel(logging.CRITICAL)

    def uninstall(self) -> None:
        flask.got_request_exception.disconnect(self._on_exception, self.app)
        self.app.__dict__.pop("log_exception", None)
        logging.getLogger(FLASK_ADMIN_LOGGER).setLevel(self._level)

    def get(self, probe: str) -> str:
        with self._lock:
            return self._kept.get(probe, "")

    def _on_exception(self, _sender: Any, exception: BaseException, **_extra: Any) -> None:
        probe = flask.request.headers.get(PROBE_HEADER, "")
        said = "".join(traceback.format_exception(exception)).rstrip()
        with self._lock:
            self._kept[probe] = said
