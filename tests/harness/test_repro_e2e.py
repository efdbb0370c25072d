"""Reproductions for real: each run twice with ``uv run --script``, failing and then passing.

In its cell's environment (the pins the script was written with) it must fail; with the pins
of a compatible neighbour, the cell one step away that passes, it must exit 0. Two causes, the
ones the issue names: Flask-Admin 2.2.1 with lite alone (T_SESSION), and lite on 2.0 with the
views built inside an app context. uv's cache makes the installs quick after the first run.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from factories import RESOURCES

from flask_admin_compat.grid.causes import with_causes
from flask_admin_compat.grid.model import Grid, read_grid
from flask_admin_compat.report.repro import ReproSpec, render_repro, repro_spec
from flask_admin_compat.run.pythons import FoundPython, find_python

pytestmark = pytest.mark.e2e
TIMEOUT = 600


@pytest.fixture(scope="module")
def grid() -> Grid:
    return with_causes(read_grid(RESOURCES / "repro-grid.json"))


@pytest.fixture(scope="module")
def python() -> Path:
    found = find_python("3.12")
    if not isinstance(found, FoundPython):
        pytest.skip("no Python 3.12 on this machine for the reproductions' cells")
    return found.executable


def run(spec: ReproSpec, folder: Path, python: Path) -> subprocess.CompletedProcess[str]:
    script = folder / f"{spec.cause_id}-{spec.cell_id}.py"
    script.write_text(render_repro(spec), encoding="utf-8")
    # Only which interpreter to use is said from outside; everything else is the script's own.
    env = {**os.environ, "UV_PYTHON": str(python), "UV_PYTHON_DOWNLOADS": "never"}
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        ["uv", "run", "--quiet", "--script", str(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def twice(grid: Grid, words: str, neighbour: str, folder: Path, python: Path) -> None:
    cause = next(c for c in grid.causes if words in c.signature)
    spec = repro_spec(cause, grid)
    assert spec is not None
    failing = run(spec, folder, python)
    assert failing.returncode == 1, failing.stdout + failing.stderr
    assert "FAILED" in failing.stdout
    other = grid.cell(neighbour)
    assert other is not None
    assert other.cell_id not in cause.cells
    passing = run(spec.pinned_to(other), folder, python)
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert "passed" in passing.stdout


def test_221_with_lite_alone_fails_and_220_passes(grid: Grid, tmp_path: Path, python: Path) -> None:
    twice(grid, "T_SESSION", "py312-flask31-admin220-sqla20-lite01", tmp_path, python)


def test_lite_on_20_in_an_app_context_fails_and_flask_sqlalchemy_passes(
    grid: Grid, tmp_path: Path, python: Path
) -> None:
    twice(
        grid,
        "two list requests shared one Session",
        "py312-flask31-admin20-sqla20-fsa31",
        tmp_path,
        python,
    )
