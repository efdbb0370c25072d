"""Trust before a red verdict, with real installs: a damaged environment or bytecode store is
rebuilt and the cell run again, never recorded as a stack that does not start.

The stand-in suite's startup check imports Flask, as the scoping suite's app does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from factories import stand_in_project

from flask_admin_compat.results.model import read_result

pytestmark = pytest.mark.e2e

CELL = "py312-flask31-admin22-sqla20-fsa31"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return stand_in_project(tmp_path, startup="    import flask, flask_admin")


def _run(project: Path, *args: str) -> str:
    """One run of the cell; its verdict."""
    subprocess.run(
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
        capture_output=True,
        text=True,
        cwd=project,
        timeout=600,
        check=False,
    )
    return read_result(project / "reports" / "cells" / CELL / "result.json").verdict


def _site(project: Path) -> Path:
    (site,) = (project / ".venvs" / CELL / "lib").glob("python3*/site-packages")
    return site


def _log(project: Path) -> str:
    return (project / "reports" / "cells" / CELL / "log.txt").read_text(encoding="utf-8")


def test_a_package_deleted_from_the_environment_is_rebuilt_not_recorded(project: Path) -> None:
    assert _run(project) == "compatible"
    for file in sorted((_site(project) / "flask").rglob("*"), reverse=True):
        file.unlink() if not file.is_dir() else file.rmdir()
    assert _run(project, "--force") == "compatible"
    assert "environment damaged, rebuilt and run again" in _log(project)
    assert "flask/app.py is missing" in _log(project)
    assert _run(project) == "compatible"  # and what is kept as fresh is the real answer


def test_one_damaged_pyc_in_the_store_poisons_no_environment(project: Path) -> None:
    assert _run(project) == "compatible"
    pyc = next((_site(project) / "flask" / "__pycache__").glob("__init__.*.pyc"))
    assert pyc.stat().st_nlink > 1  # the store holds it: the same file
    with pyc.open("r+b") as file:
        file.truncate(316)  # as the issue cut it
    subprocess.run(["rm", "-rf", str(project / ".venvs" / CELL)], check=True)
    assert _run(project, "--force") == "compatible"
    # And in an environment it is already linked into: found before the verdict is recorded.
    pyc = next((_site(project) / "flask" / "__pycache__").glob("__init__.*.pyc"))
    with pyc.open("r+b") as file:
        file.truncate(316)
    assert _run(project, "--force") == "compatible"
    assert "in the bytecode store, dropped" in _log(project)
