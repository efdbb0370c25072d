"""SIGTERM to nox, or to the `uv run` above it, ends the whole run as Ctrl-C does.

Real installs through nox's `matrix` session, in a project of the test's own with a stand-in
suite: the Flask-SQLAlchemy cell finishes at once, the lite cell's pytest waits until killed.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from factories import PROJECT_ROOT, STAND_IN_MATRIX, stand_in_project

from flask_admin_compat.results.model import read_result

pytestmark = pytest.mark.e2e

FAST = "py312-flask31-admin22-sqla20-fsa31"
SLOW = "py312-flask31-admin22-sqla20-lite02"
# The Flask-SQLAlchemy cell finishes at once; the lite cell's pytest waits until killed.
MATRIX = STAND_IN_MATRIX.replace(
    'flask-sqlalchemy = ["3.1.*"]',
    'flask-sqlalchemy = ["3.1.*"]\nflask-sqlalchemy-lite = ["0.2.*"]',
)
STARTUP = """\
    if os.environ.get("FLASK_ADMIN_COMPAT_BACKEND") == "flask-sqlalchemy-lite":
        time.sleep(600)"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return stand_in_project(tmp_path, startup=STARTUP, matrix=MATRIX)


def _slow_pytest(project: Path, *, within_s: float = 400) -> int:
    """The lite cell's pytest, once the other cell's result is written."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if (project / "reports" / "cells" / FAST / "result.json").is_file():
            for pid_file in (project / ".cache" / "running").glob("*.json"):
                try:
                    record = json.loads(pid_file.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                if "pytest" in record["argv"] and SLOW in " ".join(record["argv"]):
                    return int(record["pgid"])
        time.sleep(0.2)
    pytest.fail("the lite cell's pytest never started")


def _running(marker: str) -> list[int]:
    """Live processes whose command line names ``marker`` (the test's own project folder)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (cmdline.parent / "stat").read_text()
        except OSError:
            continue
        if marker in text and stat[stat.rfind(")") + 2] != "Z":
            found.append(int(cmdline.parent.name))
    return found


@pytest.mark.parametrize("target", ["nox", "uv run"])
def test_sigterm_ends_the_run_as_ctrl_c_does(project: Path, target: str) -> None:
    argv = [
        sys.executable,
        "-m",
        "nox",
        "-f",
        str(PROJECT_ROOT / "noxfile.py"),
        "-s",
        "matrix",
        "--",
        "--project",
        str(project),
        "--jobs",
        "1",
    ]
    if target == "uv run":
        argv = ["uv", "run", "--no-sync", "--project", str(PROJECT_ROOT), *argv[1:]]
        argv[argv.index("-m") : argv.index("-m") + 2] = ["python", "-m", "nox"]
    top = subprocess.Popen(
        argv,
        cwd=PROJECT_ROOT,
        env={**os.environ, "FLASK_ADMIN_COMPAT_MATRIX": str(project / "matrix.toml")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # as a terminal's job would be; only the top gets the signal
    )
    try:
        _slow_pytest(project)
        top.send_signal(signal.SIGTERM)
        _, err = top.communicate(timeout=180)
    finally:
        if top.poll() is None:
            os.killpg(top.pid, signal.SIGKILL)
    assert top.returncode != 0
    assert "interrupted" in err
    # No orphans: nothing of the run is left (harness, uv, pytest), and the lock is free.
    left = _running(str(project))
    assert not left, [Path(f"/proc/{p}/cmdline").read_bytes() for p in left]
    with (project / ".cache" / "run.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert read_result(project / "reports" / "cells" / FAST / "result.json").verdict == "compatible"
    assert not (project / "reports" / "cells" / SLOW / "result.json").exists()
