"""`nox -s matrix` end to end, as a user runs it, on a tiny real matrix with real installs."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from factories import PROJECT_ROOT

from flask_admin_compat.results.model import read_result

pytestmark = pytest.mark.e2e

TINY_MATRIX = """
[settings]
timeout = 300

[axes]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.*"]
sqlalchemy = ["1.4.*", "2.0.*"]   # Flask-SQLAlchemy 3.1 needs SQLAlchemy 2: one cell cannot resolve

[backends]
flask-sqlalchemy = ["3.1.*"]

[[include]]
python = "3.12"
flask = "3.1.*"
flask-admin = "2.2.*"
sqlalchemy = "2.0.*"
flask-sqlalchemy-lite = "0.2.*"
"""
CELLS = {
    "py312-flask31-admin22-sqla14-fsa31",
    "py312-flask31-admin22-sqla20-fsa31",
    "py312-flask31-admin22-sqla20-lite02",
}


def _nox_matrix(matrix: Path, reports: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "nox",
            "-f",
            str(PROJECT_ROOT / "noxfile.py"),
            "-s",
            "matrix",
            "--",
            "--reports",
            str(reports),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=900,
        check=False,
        env={**os.environ, "FLASK_ADMIN_COMPAT_MATRIX": str(matrix)},
    )


@pytest.fixture(scope="module")
def first_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("e2e")
    matrix = folder / "matrix.toml"
    matrix.write_text(TINY_MATRIX, encoding="utf-8")
    return folder, _nox_matrix(matrix, folder / "reports", "--force")


def test_every_cell_gets_a_valid_result(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, done = first_run
    assert done.returncode == 0, done.stdout + done.stderr
    cells = folder / "reports" / "cells"
    assert {p.name for p in cells.iterdir()} == CELLS
    results = {cid: read_result(cells / cid / "result.json") for cid in CELLS}
    unresolvable = results["py312-flask31-admin22-sqla14-fsa31"]
    assert unresolvable.verdict == "uninstallable"
    assert "sqlalchemy" in unresolvable.reason
    for cid in CELLS - {"py312-flask31-admin22-sqla14-fsa31"}:
        result = results[cid]
        assert result.verdict in {"compatible", "workaround", "incompatible"}, result.reason
        assert result.installed["flask"].startswith("3.1.")
        assert len(result.checks) == 1 + 7 * 4
        assert (cells / cid / "junit.xml").is_file()
        assert (cells / cid / "log.txt").is_file()
        # The installed set as a PEP 751 lock, beside the result, that uv can rebuild it from.
        lock = tomllib.loads((cells / cid / "pylock.toml").read_text(encoding="utf-8"))
        assert lock["lock-version"] == "1.0"
        locked = {p["name"]: p["version"] for p in lock["packages"]}
        assert {n: v for n, v in result.installed.items() if n in locked} == dict(result.installed)
    assert "[3/3]" in done.stdout
    # The two cells that ran rendered from one folder of compiled templates, the project's.
    assert list((PROJECT_ROOT / ".cache" / "templates").glob("*/*.jinja"))


def test_a_rerun_with_nothing_changed_skips_every_cell(
    first_run: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    folder, _ = first_run
    before = {p: p.stat().st_mtime_ns for p in (folder / "reports" / "cells").glob("*/result.json")}
    again = _nox_matrix(folder / "matrix.toml", folder / "reports")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "3 cells: 0 to run, 3 fresh" in again.stdout
    after = {p: p.stat().st_mtime_ns for p in (folder / "reports" / "cells").glob("*/result.json")}
    assert after == before
