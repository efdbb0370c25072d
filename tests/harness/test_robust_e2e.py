"""Two runs on one checkout, and a run killed outright: real installs, one cell, a stand-in suite.

The stand-in suite reports every check as the scoping suite does, slowly enough for the test to
act while it runs; uv's cache makes the one environment quick after the first time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import stand_in_project

from flask_admin_compat import exitcodes
from flask_admin_compat.results.model import read_result

pytestmark = pytest.mark.e2e

CELL = "py312-flask31-admin22-sqla20-fsa31"
# The startup check tells the test that pytest sits in a test now, then waits as asked.
STARTUP = """\
    if os.environ.get("STAND_IN_MARKER"):
        open(os.environ["STAND_IN_MARKER"], "w").close()
    time.sleep(float(os.environ.get("STAND_IN_SLEEP", "0")))"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return stand_in_project(tmp_path, startup=STARTUP)


def _start(project: Path, *args: str, sleep_s: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask_admin_compat.cli",
            "run",
            "--matrix",
            str(project / "matrix.toml"),
            "--jobs",
            "1",
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=project,
        env={
            **os.environ,
            "STAND_IN_SLEEP": str(sleep_s),
            "STAND_IN_MARKER": str(project / "in-a-test"),
        },
        start_new_session=True,  # as nox's own process group would be
    )


def _pytest_pid(project: Path, *, within_s: float = 240) -> int:
    """The pid of the cell's pytest once it runs, from the run's pid files."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for pid_file in (project / ".cache" / "running").glob("*.json"):
            try:
                record = json.loads(pid_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if "pytest" in record["argv"]:
                return int(record["pgid"])
        time.sleep(0.1)
    pytest.fail("the cell's pytest never started")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def test_a_second_run_refuses_then_waits_and_no_verdict_is_shared(project: Path) -> None:
    first = _start(project, "--force", sleep_s=8)
    _pytest_pid(project)

    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "flask_admin_compat.cli",
            "run",
            "--matrix",
            str(project / "matrix.toml"),
            "--force",
        ],
        capture_output=True,
        text=True,
        cwd=project,
        timeout=60,
        check=False,
    )
    assert refused.returncode == exitcodes.BUSY
    (line,) = refused.stderr.strip().splitlines()
    assert f"(pid {first.pid}, started " in line

    second = _start(project, "--force", "--wait", sleep_s=0)
    out1, err1 = first.communicate(timeout=300)
    out2, err2 = second.communicate(timeout=300)
    assert first.returncode == 0, out1 + err1
    assert second.returncode == 0, out2 + err2
    assert "waiting for flask-admin-compat run" in err2
    assert "Traceback" not in err1 + err2
    result = read_result(project / "reports" / "cells" / CELL / "result.json")
    assert result.verdict == "compatible"
    assert len(result.checks) == 1 + 7 * 4


def test_a_run_killed_outright_leaves_no_pytest_running(project: Path) -> None:
    run = _start(project, "--force", sleep_s=120)
    pytest_pid = _pytest_pid(project)
    # Killed while pytest sits in a test, having said all it will for a while: killed before
    # it writes anything, it would die of the broken pipe at its first line, proving nothing.
    deadline = time.monotonic() + 60
    while not (project / "in-a-test").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    assert _alive(pytest_pid)

    os.killpg(run.pid, signal.SIGKILL)  # the whole process group, as a CI runner's cancel does
    run.communicate(timeout=30)

    deadline = time.monotonic() + 10
    while _alive(pytest_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pytest_pid)
    # The next run finds the checkout free and the crashed run's cell not done.
    again = _start(project, sleep_s=0)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, out + err
    assert "1 cells: 1 to run" in out
