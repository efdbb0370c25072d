"""Commands run with a deadline; a hung command is killed with everything it started."""

from __future__ import annotations

import io
import os
import sys
import threading
import time
from pathlib import Path

from flask_admin_compat.run.process import Reaper, run_logged

# A parent that starts a child which would outlive it, then hangs.
HANG_WITH_CHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for its parent counts as gone.
    try:
        with Path(f"/proc/{pid}/stat").open() as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_output_is_logged_and_returned() -> None:
    log = io.StringIO()
    done = run_logged(
        [sys.executable, "-c", "print('hello'); import sys; sys.exit(3)"], log=log, timeout_s=30
    )
    assert (done.returncode, done.output.strip()) == (3, "hello")
    assert "hello" in log.getvalue()
    assert log.getvalue().startswith("$ ")


def test_timeout_kills_the_whole_process_group() -> None:
    log = io.StringIO()
    done = run_logged([sys.executable, "-c", HANG_WITH_CHILD], log=log, timeout_s=2)
    assert done.timed_out
    child = int(done.output.split()[0])
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    assert "killed after 2 s" in log.getvalue()


def test_stdin_is_fed() -> None:
    done = run_logged(
        [sys.executable, "-c", "import sys; print(sys.stdin.read().upper())"],
        log=io.StringIO(),
        timeout_s=30,
        stdin_text="flask==3.1.*",
    )
    assert done.output.strip() == "FLASK==3.1.*"


def test_reaper_kills_running_commands() -> None:
    reaper = Reaper()
    results = []
    worker = threading.Thread(
        target=lambda: results.append(
            run_logged(
                [sys.executable, "-c", "import time; time.sleep(60)"],
                log=io.StringIO(),
                timeout_s=60,
                reaper=reaper,
            )
        )
    )
    worker.start()
    time.sleep(0.5)
    reaper.kill_all()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert results[0].returncode == -9
