"""Run one command with a deadline, its output going to a log, and kill it whole on timeout.

Commands are argument lists, never shell strings: no value from matrix.toml is ever parsed
by a shell. Each command gets its own process group, so a timeout or Ctrl-C kills pytest and
everything it started, not just the top process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


class Reaper:
    """The commands running for one matrix run, so that an interrupt can kill them all.

    Worker threads never see Ctrl-C (Python delivers it to the main thread), and each command
    runs in its own process group, so the main thread kills them through this list.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen[str]] = set()
        self.stopping = False

    def add(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._live.add(proc)
            stopping = self.stopping
        if stopping:  # started in the instant between the interrupt and this call
            kill_group(proc)

    def discard(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._live.discard(proc)

    def kill_all(self) -> None:
        with self._lock:
            self.stopping = True
            live = list(self._live)
        for proc in live:
            kill_group(proc)


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int | None  # None: killed at the deadline
    output: str
    duration_s: float

    @property
    def timed_out(self) -> bool:
        return self.returncode is None


def run_logged(
    argv: Sequence[str],
    *,
    log: IO[str],
    timeout_s: float,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin_text: str | None = None,
    echo: IO[str] | None = None,
    reaper: Reaper | None = None,
) -> Completed:
    """Run ``argv``, copying its merged output into ``log`` (and ``echo``) as it comes."""
    started = time.monotonic()
    log.write(f"$ {' '.join(argv)}\n")
    log.flush()
    if timeout_s <= 0:
        log.write("(not started: the cell's time was already up)\n")
        return Completed(tuple(argv), None, "", 0.0)
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        start_new_session=True,
    )
    if reaper is not None:
        reaper.add(proc)
    chunks: list[str] = []
    reader = threading.Thread(target=_pump, args=(proc, chunks, log, echo), daemon=True)
    reader.start()
    if stdin_text is not None and proc.stdin is not None:
        try:
            proc.stdin.write(stdin_text)
            proc.stdin.close()
        except BrokenPipeError:  # the command exited before reading: its output says why
            pass
    try:
        returncode: int | None = proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        returncode = None
    except BaseException:  # Ctrl-C: take the whole process group down with us
        kill_group(proc)
        raise
    finally:
        if reaper is not None:
            reaper.discard(proc)
    reader.join(timeout=5)
    for pipe in (proc.stdout, proc.stdin):
        if pipe is not None:
            pipe.close()
    if returncode is None:
        log.write(f"\n(killed after {timeout_s:.0f} s: the cell's time ran out)\n")
    log.flush()
    return Completed(tuple(argv), returncode, "".join(chunks), time.monotonic() - started)


def _pump(
    proc: subprocess.Popen[str], chunks: list[str], log: IO[str], echo: IO[str] | None
) -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        chunks.append(line)
        log.write(line)
        if echo is not None:
            echo.write(line)
            echo.flush()


def kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the process and every process it started."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


LOG_TAIL_LINES = 30


def time_left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def tail(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    return "\n".join(lines[-LOG_TAIL_LINES:])


def with_total(durations: dict[str, float], t0: float) -> dict[str, float]:
    """The phases and their total, to the millisecond (finer is noise)."""
    return {name: round(s, 3) for name, s in {**durations, "total": time.monotonic() - t0}.items()}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
