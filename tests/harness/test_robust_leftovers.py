"""Through the CLI: a run ends what a crashed run left running, and waits for a busy environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_robust_grid import F30, MATRIX, stub_suite
from test_robust_locks import SRC

from flask_admin_compat.cli import main
from flask_admin_compat.run import cell as runner
from flask_admin_compat.run.exclusive import environment_lock
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.process import _start_ticks

__all__ = ["stub_suite"]  # the fixture, used here by name


def _project(tmp_path: Path) -> Path:
    (tmp_path / "matrix.toml").write_text(MATRIX, encoding="utf-8")
    return tmp_path


def test_a_run_ends_and_names_what_a_crashed_run_left_running(
    stub_suite: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    running = project / ".cache" / "running"
    running.mkdir(parents=True)
    left = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True
    )
    record = {
        "pgid": left.pid,
        "start_ticks": _start_ticks(left.pid),
        "run_pid": 4242,
        "argv": [str(project / ".venvs" / F30 / "bin" / "python"), "-m", "pytest"],
    }
    (running / f"{left.pid}.json").write_text(json.dumps(record), encoding="utf-8")

    main(["run", "--matrix", str(project / "matrix.toml"), "--project", str(project)])

    assert left.wait(timeout=10) == -signal.SIGKILL
    err = capsys.readouterr().err
    assert "note: ended a command left running by a run that died: " in err
    assert f"(process group {left.pid}, left by run 4242)" in err


HOLD_ENV = """
import sys, time
from pathlib import Path
from flask_admin_compat.run.exclusive import exclusive
with exclusive(Path(sys.argv[1]), what="someone else's pytest"):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_cell_waits_for_its_environment_and_gives_up_at_its_timeout(
    stub_suite: list[str], tmp_path: Path
) -> None:
    options = RunOptions(
        repo_root=tmp_path, cells_dir=tmp_path / "cells", venvs_dir=tmp_path / ".venvs", timeout_s=1
    )
    from flask_admin_compat.matrix.cells import expand
    from flask_admin_compat.matrix.matrix import load_matrix

    cell = next(c for c in expand(load_matrix(_project(tmp_path) / "matrix.toml")) if c.id == F30)
    lock = environment_lock(options.venvs_dir / cell.id)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_ENV, str(lock)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "held\n"
        started = time.monotonic()
        result = runner.run_cell(cell, options)
        assert time.monotonic() - started >= 1
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate()
    assert stub_suite == []  # its pytest never ran beside the other one
    assert result.verdict == "error"
    assert "its environment stayed in use for the cell's 1 s" in result.reason
    assert f"someone else's pytest (pid {holder.pid}" in result.reason
    # Free again, the cell runs.
    assert runner.run_cell(cell, options).verdict == "compatible"
    assert stub_suite == [F30]
