"""Run the checks in a fresh thread: no app context pushed elsewhere can wrap their requests.

A new thread starts with an empty contextvars context, so a context that the app's factory
left pushed, or that a user's pytest fixture pushed, stays in its own thread, as it does for
the threads of a real server.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def in_fresh_thread(work: Callable[[], T], *, name: str) -> T:
    """``work()``'s result, or its exception re-raised in the caller's thread."""
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(exc)

    # A daemon, though joined right here: threads the app starts while serving the checks'
    # requests inherit the flag, and so never keep the process (check-app, or the user's
    # pytest with the plugin) alive once the checks are done.
    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return results[0]
