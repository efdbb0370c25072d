"""One run per checkout and one user per environment; no command outlives the run that started it."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import PROJECT_ROOT

from flask_admin_compat import exitcodes
from flask_admin_compat.cli import main
from flask_admin_compat.run.exclusive import Busy, exclusive, read_holder
from flask_admin_compat.run.process import _start_ticks, end_leftovers

SRC = str(PROJECT_ROOT / "src")

# Holds a lock, says so, then sleeps until killed.
HOLD = """
import sys, time
from pathlib import Path
from flask_admin_compat.run.exclusive import exclusive
with exclusive(Path(sys.argv[1]), what="a test holder"):
    print("held", flush=True)
    time.sleep(120)
"""

# Runs a command that starts a child, through a Reaper with a watchdog, then hangs: the test
# SIGKILLs this process as a crash would.
CRASHING_RUN = """
import io, sys
from pathlib import Path
from flask_admin_compat.run.process import Reaper, run_logged
reaper = Reaper(running_dir=Path(sys.argv[1]))
child = "import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); print(p.pid, flush=True); time.sleep(120)"
run_logged([sys.executable, "-c", child], log=sys.stdout, timeout_s=120, reaper=reaper)
"""


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def _wait_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not _alive(pid)


def _holder(lock: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "held\n"
    return proc


def test_a_held_lock_names_its_holder_and_dies_with_it(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    holder = _holder(lock)
    try:
        with pytest.raises(Busy) as busy, exclusive(lock, what="me"):
            pass
        assert busy.value.holder.pid == holder.pid
        assert busy.value.holder.what == "a test holder"
        assert f"pid {holder.pid}, started 20" in busy.value.holder.describe()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    # The kernel released it with its holder: no stale lock to clear by hand.
    with exclusive(lock, what="me"):
        assert read_holder(lock).pid == os.getpid()


def test_a_waiting_holder_gets_the_lock_when_it_is_free(tmp_path: Path) -> None:
    lock = tmp_path / "run.lock"
    holder = _holder(lock)
    heard: list[int | None] = []

    def release_soon(who: object) -> None:
        heard.append(getattr(who, "pid", None))
        holder.send_signal(signal.SIGKILL)

    with exclusive(lock, what="me", wait_s=30, on_wait=release_soon):
        assert heard == [holder.pid]
    holder.communicate()


def test_a_second_run_on_a_checkout_refuses_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "matrix.toml").write_text(
        '[axes]\npython = ["3.12"]\nflask = ["3.1.*"]\nflask-admin = ["2.2.*"]\n'
        'sqlalchemy = ["2.0.*"]\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n',
        encoding="utf-8",
    )
    holder = _holder(tmp_path / ".cache" / "run.lock")
    try:
        args = ["run", "--matrix", str(tmp_path / "matrix.toml"), "--project", str(tmp_path)]
        assert main(args, out=io.StringIO()) == exitcodes.BUSY
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        f"error: another run is using {tmp_path}: a test holder (pid {holder.pid}"
    )
    assert not (tmp_path / "reports").exists()


def test_a_killed_run_takes_its_commands_with_it(tmp_path: Path) -> None:
    running = tmp_path / "running"
    run = subprocess.Popen(
        [sys.executable, "-c", CRASHING_RUN, str(running)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    assert run.stdout is not None
    line = run.stdout.readline()
    while not line.strip().isdigit():  # the log echoes the command line first
        line = run.stdout.readline()
    grandchild = int(line)
    (pid_file,) = running.glob("*.json")
    leader = int(pid_file.stem)
    assert _alive(leader)
    run.send_signal(signal.SIGKILL)
    run.communicate()
    assert _wait_gone(leader)
    assert _wait_gone(grandchild)


def test_the_next_run_ends_what_a_crashed_run_left_running(tmp_path: Path) -> None:
    # The watchdog died too (say, kill -9 of everything): only the pid file is left.
    running = tmp_path / "running"
    running.mkdir()
    left = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    record = {
        "pgid": left.pid,
        "start_ticks": _start_ticks(left.pid),
        "run_pid": 1,
        "argv": ["/x/.venvs/c/bin/python", "-m", "pytest"],
    }
    (running / f"{left.pid}.json").write_text(json.dumps(record), encoding="utf-8")
    # A pid file whose process is long gone (its pid maybe reused) touches nothing.
    (running / "1.json").write_text(
        json.dumps({"pgid": 1, "start_ticks": 10**15, "argv": []}), encoding="utf-8"
    )

    ended = end_leftovers(running)

    left.wait(timeout=10)
    assert ended == [f"/x/.venvs/c/bin/python -m (process group {left.pid}, left by run 1)"]
    assert not list(running.iterdir())
