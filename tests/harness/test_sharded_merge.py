"""Shards merge into the grid of one run: what the CI jobs do, on a small real matrix.

Two shards run into folders of their own (as two machines would), their cells are copied into
one folder (as the final job downloads every shard's artifact), and the merge of that must
equal the merge of one unsharded run, timestamps and durations aside.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import PROJECT_ROOT

from flask_admin_compat.cli import main

pytestmark = pytest.mark.e2e

# Four cells, one at a time to be gentle on a shared machine: two install and run the real
# suite, and Flask-SQLAlchemy 3.1 with SQLAlchemy 1.4 cannot resolve.
MATRIX = """
[settings]
timeout = 300
jobs = 1

[axes]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.*"]
sqlalchemy = ["1.4.*", "2.0.*"]

[backends]
flask-sqlalchemy = ["3.1.*"]
flask-sqlalchemy-lite = ["0.2.*"]
"""
CELLS = {
    "py312-flask31-admin22-sqla14-fsa31",
    "py312-flask31-admin22-sqla20-fsa31",
    "py312-flask31-admin22-sqla14-lite02",
    "py312-flask31-admin22-sqla20-lite02",
}


def _run(matrix: Path, reports: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "flask_admin_compat.cli",
            "run",
            "--matrix",
            str(matrix),
            "--project",
            str(PROJECT_ROOT),
            "--reports",
            str(reports),
            "--force",
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=900,
        check=False,
    )


def _merge(cells: Path, out: Path) -> dict[str, Any]:
    """Merge with the very code CI's final job runs (scripts/merge_grid.py calls it)."""
    assert main(["merge", "--cells", str(cells), "--out", str(out), "--no-previous"]) == 0
    grid: dict[str, Any] = json.loads((out / "grid.json").read_text(encoding="utf-8"))
    return grid


def _comparable(grid: dict[str, Any]) -> list[dict[str, Any]]:
    """What a cell found, without when it ran, how long it took or where its files are."""
    return sorted(
        (
            {
                "cell_id": cell["cell_id"],
                "verdict": cell["verdict"],
                "requested": cell["requested"],
                "installed": cell["installed"],
                "checks": sorted((c["pattern"], c["check"], c["outcome"]) for c in cell["checks"]),
            }
            for cell in grid["cells"]
        ),
        key=lambda cell: cell["cell_id"],
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sharded")
    matrix = folder / "matrix.toml"
    matrix.write_text(MATRIX, encoding="utf-8")
    for reports, args in (
        ("shard1", ["--shard", "1/2"]),
        ("shard2", ["--shard", "2/2"]),
        ("whole", []),
    ):
        done = _run(matrix, folder / reports, *args)
        assert done.returncode == 0, f"{reports}:\n{done.stdout}{done.stderr}"
    return folder


def test_each_shard_runs_its_own_part_of_the_cells(runs: Path) -> None:
    first = {p.name for p in (runs / "shard1" / "cells").iterdir()}
    second = {p.name for p in (runs / "shard2" / "cells").iterdir()}
    assert first
    assert second
    assert not first & second
    assert first | second == CELLS
    assert {p.name for p in (runs / "whole" / "cells").iterdir()} == CELLS


def test_the_merged_shards_equal_one_run(runs: Path) -> None:
    downloaded = runs / "downloaded" / "cells"
    for shard in ("shard1", "shard2"):
        shutil.copytree(runs / shard / "cells", downloaded, dirs_exist_ok=True)
    sharded = _merge(downloaded, runs / "downloaded")
    whole = _merge(runs / "whole" / "cells", runs / "whole")
    assert _comparable(sharded) == _comparable(whole)
    assert sharded["counts"] == whole["counts"]
    assert {c["verdict"] for c in sharded["cells"]} & {"compatible", "workaround", "incompatible"}
