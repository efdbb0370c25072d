"""One run at a time per checkout, and one user at a time per cell environment.

Two runs on one checkout share ``.venvs/<id>`` and its ``junit.xml``, which each pytest
deletes before it starts: the second could judge the first one's report. An OS file lock
(``flock``) keeps them apart. The kernel releases it when its holder dies, however it dies,
so a crashed run never leaves a lock to clear by hand; the lock file only names the holder,
for the message a second run gives.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RUN_LOCK = "run.lock"
_POLL_S = 0.2


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its lock file says (read while it is held)."""

    pid: int | None
    started_at: str
    what: str

    def describe(self) -> str:
        pid = f"pid {self.pid}" if self.pid is not None else "a process"
        return f"{self.what} ({pid}, started {self.started_at or 'at an unknown time'})"


class Busy(Exception):
    """The lock is held by another process: who, as far as its lock file says."""

    def __init__(self, path: Path, holder: Holder) -> None:
        super().__init__(f"{path} is held by {holder.describe()}")
        self.path = path
        self.holder = holder


def read_holder(path: Path) -> Holder:
    """The holder a lock file names; a file being rewritten names nobody in particular."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data["started_at"]), str(data["what"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Holder(None, "", "another run")


@contextmanager
def exclusive(
    path: Path,
    *,
    what: str,
    wait_s: float = 0.0,
    on_wait: Callable[[Holder], None] | None = None,
    give_up: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """Hold ``path``'s lock for the block; :class:`Busy` when another holds it past ``wait_s``.

    ``on_wait`` hears once who holds it when this call has to wait; ``give_up`` ends the
    wait early (an interrupted run) with :class:`Busy` as well. The file descriptor is
    not inherited by the commands the holder starts (Python opens files close-on-exec), so
    an orphaned command never keeps a lock alive after its run has died.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _acquire(fd, path, wait_s=wait_s, on_wait=on_wait, give_up=give_up)
        record = {
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "what": what,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock; the file stays (unlinking it would race)


def _acquire(
    fd: int,
    path: Path,
    *,
    wait_s: float,
    on_wait: Callable[[Holder], None] | None,
    give_up: Callable[[], bool] | None,
) -> None:
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = read_holder(path)
            if time.monotonic() >= deadline or (give_up is not None and give_up()):
                raise Busy(path, holder) from None
            if on_wait is not None and not told:
                on_wait(holder)
                told = True
            time.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))


def environment_lock(venv: Path) -> Path:
    """The lock file of one cell environment: beside it, since ``uv venv --clear`` empties it."""
    return venv.with_name(f"{venv.name}.lock")
