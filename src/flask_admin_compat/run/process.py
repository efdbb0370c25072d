"""Run one command with a deadline, its output going to a log, and kill it whole on timeout.

Commands are argument lists, never shell strings: no value from matrix.toml is ever parsed
by a shell. Each command gets its own process group, so a timeout or Ctrl-C kills pytest and
everything it started, not just the top process.
"""

from __future__ import annotations

import codecs
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from flask_admin_compat.run.output import Output

#: The watchdog: a tiny process in a session of its own, so that whatever kills the run
#: (even SIGKILL of nox's whole process group) leaves it standing. The run tells it each
#: command's process group as it starts (+pgid) and ends (-pgid); when the run dies its end of
#: the pipe closes, and the watchdog kills every group still listed, children included.
WATCHDOG = """
import os, signal, sys
groups = set()
for line in sys.stdin:
    if line[:1] in "+-" and line[1:].strip().isdigit():
        (groups.add if line[0] == "+" else groups.discard)(int(line[1:]))
for pgid in groups:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
"""


class Reaper:
    """The commands running for one matrix run, so that an interrupt can kill them all.

    Worker threads never see Ctrl-C (Python delivers it to the main thread), and each command
    runs in its own process group, so the main thread kills them through this list. Given a
    ``running_dir``, each command also gets a watchdog (above) and a pid file there, so that
    commands outlive neither a run killed outright nor, failing that, the next run's start
    (:func:`end_leftovers`).
    """

    def __init__(self, *, running_dir: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._live: set[subprocess.Popen[str]] = set()
        self.stopping = False
        self._running_dir = running_dir
        self._watchdog: subprocess.Popen[str] | None = None

    def add(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._live.add(proc)
            stopping = self.stopping
            self._tell_watchdog(f"+{proc.pid}")
        self._write_pid_file(proc)
        if stopping:  # started in the instant between the interrupt and this call
            kill_group(proc)

    def discard(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._live.discard(proc)
            self._tell_watchdog(f"-{proc.pid}")
        if self._running_dir is not None:
            try:
                (self._running_dir / f"{proc.pid}.json").unlink(missing_ok=True)
            except OSError:
                pass

    def kill_all(self) -> None:
        with self._lock:
            self.stopping = True
            live = list(self._live)
        for proc in live:
            kill_group(proc)

    def close(self) -> None:
        """The run is over: the watchdog, told nothing is left, ends by itself."""
        with self._lock:
            watchdog, self._watchdog = self._watchdog, None
        if watchdog is not None and watchdog.stdin is not None:
            try:
                watchdog.stdin.close()
                watchdog.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                watchdog.kill()  # it has nothing left to guard
                watchdog.wait()

    def _tell_watchdog(self, line: str) -> None:
        if self._running_dir is None:
            return
        try:
            if self._watchdog is None:
                self._watchdog = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", WATCHDOG],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    text=True,
                    start_new_session=True,
                )
            assert self._watchdog.stdin is not None
            self._watchdog.stdin.write(line + "\n")
            self._watchdog.stdin.flush()
        except OSError:  # no watchdog: the pid files and the next run are the fallback
            pass

    def _write_pid_file(self, proc: subprocess.Popen[str]) -> None:
        if self._running_dir is None:
            return
        started = _start_ticks(proc.pid)
        record = {
            "pgid": proc.pid,
            "start_ticks": started,
            "run_pid": os.getpid(),
            "argv": [str(a) for a in proc.args][:4] if isinstance(proc.args, list) else [],
        }
        try:
            self._running_dir.mkdir(parents=True, exist_ok=True)
            path = self._running_dir / f"{proc.pid}.json"
            path.write_text(json.dumps(record), encoding="utf-8")
        except OSError:  # the watchdog still guards it; only a crash of both would leave it
            pass


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat from the state on (the name may hold spaces), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _start_ticks(pid: int) -> int | None:
    fields = _proc_stat(pid)
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def end_leftovers(running_dir: Path) -> list[str]:
    """End the commands a run that died left running, from its pid files; what was ended.

    Called with the checkout's run lock held, so no live run owns these files. A process
    counts only when it is in the recorded process group and started no earlier than its
    leader did, so a pid that the system has since given to someone else is never touched.
    """
    if not running_dir.is_dir():
        return []
    ended: list[str] = []
    for pid_file in sorted(running_dir.glob("*.json")):
        try:
            record = json.loads(pid_file.read_text(encoding="utf-8"))
            pgid, since = int(record["pgid"]), int(record["start_ticks"])
        except (OSError, ValueError, KeyError, TypeError):
            pid_file.unlink(missing_ok=True)
            continue
        members = _group_members(pgid, since=since)
        for pid in members:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if members:
            what = " ".join(record.get("argv", [])[:2]) or "a command"
            ended.append(f"{what} (process group {pgid}, left by run {record.get('run_pid')})")
        pid_file.unlink(missing_ok=True)
    return ended


def _group_members(pgid: int, *, since: int) -> list[int]:
    members: list[int] = []
    if not Path("/proc").is_dir():  # not Linux: the watchdog is all there is
        return members
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _proc_stat(int(entry.name))
        if fields is None or len(fields) <= 19 or fields[0] == "Z":
            continue
        if int(fields[2]) == pgid and int(fields[19]) >= since:
            members.append(int(entry.name))
    return members


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
    output = Output(log)
    reader = threading.Thread(target=_pump, args=(proc, output, echo), daemon=True)
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
    output.finish()
    if returncode is None:
        log.write(f"\n(killed after {timeout_s:.0f} s: the cell's time ran out)\n")
    log.flush()
    return Completed(tuple(argv), returncode, output.text(), time.monotonic() - started)


#: Output is read in pieces of this many characters, never a line at a time: one line of a
#: hundred megabytes must not be held whole.
_READ_CHARS = 64 * 1024


def _pump(proc: subprocess.Popen[str], output: Output, echo: IO[str] | None) -> None:
    """Copy the output as it comes: whatever the pipe holds, up to a piece, never waiting for more.

    Read below the text layer (``os.read`` returns what the pipe holds), decoded here with
    invalid bytes replaced, as the text layer would.
    """
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        data = os.read(fd, _READ_CHARS)
        chunk = decoder.decode(data, final=not data)
        if chunk:
            output.add(chunk)
            if echo is not None:
                echo.write(chunk)
                echo.flush()
        if not data:
            return


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
