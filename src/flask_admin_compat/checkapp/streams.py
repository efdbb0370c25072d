"""check-app's stdout is its own: whatever the app prints goes to stderr.

An app prints while it loads (a banner, a debug dump, Flask-Admin 2.2.1 itself prints a list
in ``flask_admin/form/rules.py``) and while it serves; under ``--json -`` any of it on stdout
would break the JSON. Both the Python-level ``sys.stdout`` and the process's file descriptor 1
(what C extensions and child processes write to) are pointed at stderr while the app runs;
check-app writes its own output through the stream this hands back.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator
from typing import IO


def _fd(stream: IO[str]) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        return None


@contextlib.contextmanager
def app_output_to_stderr(out: IO[str]) -> Iterator[IO[str]]:
    """While inside: ``print()`` and fd 1 go to stderr; the yielded stream is ``out``'s own.

    ``out`` other than the process's stdout (a test's buffer) is handed back as it is, and
    only ``sys.stdout`` is redirected.
    """
    stdout_fd = _fd(sys.__stdout__) if sys.__stdout__ is not None else None
    stderr_fd = _fd(sys.stderr)
    if out is not sys.stdout or stdout_fd is None or stderr_fd is None:
        with contextlib.redirect_stdout(sys.stderr):
            yield out
        return
    out.flush()
    saved = os.dup(stdout_fd)
    own = os.fdopen(os.dup(saved), "w", encoding="utf-8", errors="replace", closefd=True)
    os.dup2(stderr_fd, stdout_fd)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield own
    finally:
        own.flush()
        own.close()
        sys.stderr.flush()
        os.dup2(saved, stdout_fd)
        os.close(saved)
