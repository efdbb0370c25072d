"""One cell end to end with real installs, against small stand-in suites that misbehave.

These use uv and the package index (uv's cache makes them fast after the first run).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import FLASK_SQLALCHEMY
from flask_admin_compat.matrix.specs import parse_spec
from flask_admin_compat.results.model import CellResult, read_result
from flask_admin_compat.run.cell import run_cell
from flask_admin_compat.run.options import RunOptions

pytestmark = pytest.mark.e2e

#: A stand-in suite reports as the real one does: through the engine's records plugin.
PYTEST_INI = (
    f"[pytest]\njunit_family = xunit1\npythonpath = {Path(__file__).parents[2] / 'src'}\n"
    "addopts = -p flask_admin_compat.checks.records\n"
)
REPORTING_TEST = """
import pytest
CHECKS = ["construct", "per-request", "teardown", "isolation-after-error", "concurrency", "fresh-reads", "crud"]
PATTERNS = ["session-at-setup", "db-at-setup", "in-app-context", "lazy-proxy"]

def test_stack_starts(record_property):
    record_property("check", "startup"); record_property("pattern", "*")

@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("check", CHECKS)
def test_check(check, pattern, record_property, tmp_path_factory):
    record_property("check", check); record_property("pattern", pattern)
    BODY
"""


def _cell(sqlalchemy: str = "2.0.*") -> Cell:
    packages = (
        ("flask", parse_spec("3.1.*")),
        ("flask-admin", parse_spec("2.2.*")),
        ("sqlalchemy", parse_spec(sqlalchemy)),
        (FLASK_SQLALCHEMY, parse_spec("3.1.*")),
    )
    return Cell(parse_spec("3.12"), packages, FLASK_SQLALCHEMY)


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environments folder for the module, so the cell is installed once and reused."""
    return tmp_path_factory.mktemp("venvs")


def _run(
    tmp_path: Path,
    venvs: Path,
    files: dict[str, str],
    *,
    timeout_s: float = 120,
    cell: Cell | None = None,
) -> tuple[CellResult, Path]:
    suite = tmp_path / "tests" / "scoping"
    suite.mkdir(parents=True)
    (suite / "pytest.ini").write_text(PYTEST_INI)
    for name, text in files.items():
        (suite / name).write_text(text)
    options = RunOptions(
        repo_root=tmp_path, cells_dir=tmp_path / "cells", venvs_dir=venvs, timeout_s=timeout_s
    )
    cell = cell or _cell()
    result = run_cell(cell, options)
    return result, tmp_path / "cells" / cell.id


def test_a_passing_suite_gives_a_verdict_and_every_file(tmp_path: Path, venvs: Path) -> None:
    result, cell_dir = _run(tmp_path, venvs, {"test_ok.py": REPORTING_TEST.replace("BODY", "pass")})
    assert result.verdict == "compatible"
    assert result.installed["flask-admin"].startswith("2.2.")
    assert result.python.version is not None
    assert result.python.version.startswith("3.12.")
    assert set(result.durations) >= {"resolve", "install", "test", "total"}
    assert len(result.checks) == 1 + 7 * 4
    assert read_result(cell_dir / "result.json") == result
    assert (cell_dir / "junit.xml").is_file()
    assert "pytest" in (cell_dir / "log.txt").read_text()
    assert not list(cell_dir.glob(".*"))  # no partial files left behind


def test_an_unresolvable_cell_keeps_the_resolvers_words(tmp_path: Path, venvs: Path) -> None:
    result, _cell_dir = _run(
        tmp_path, venvs, {"test_ok.py": "def test_x(): pass\n"}, cell=_cell("1.3.*")
    )
    assert result.verdict == "uninstallable"
    assert result.reason.startswith("No solution found when resolving dependencies: ")
    assert "sqlalchemy" in result.reason
    assert result.durations["resolve"] < 10
    assert "install" not in result.durations


def test_a_suite_that_crashes_is_an_error_with_its_output(tmp_path: Path, venvs: Path) -> None:
    crash = {"conftest.py": "raise RuntimeError('suite exploded at import')\n"}
    result, cell_dir = _run(tmp_path, venvs, crash)
    assert result.verdict == "error"
    assert "suite exploded at import" in result.reason
    assert "suite exploded at import" in (cell_dir / "log.txt").read_text()


def test_a_hung_suite_is_killed_and_recorded(tmp_path: Path, venvs: Path) -> None:
    # Warm the environment first so that the short timeout below is spent in the suite.
    _run(tmp_path / "warm", venvs, {"test_ok.py": REPORTING_TEST.replace("BODY", "pass")})
    hang = {"test_hang.py": "import time\ndef test_hang():\n    time.sleep(600)\n"}
    result, _ = _run(tmp_path, venvs, hang, timeout_s=8)
    assert result.verdict == "error"
    # The records name what was running: a test with no check tag, by its node id.
    assert result.reason == "timed out in test_hang.py::test_hang after 8 s"


def test_a_check_that_fails_once_is_flaky_and_not_compatible(tmp_path: Path, venvs: Path) -> None:
    # Fails on the first run only: a marker file in the suite's folder remembers the first.
    body = (
        "marker = __import__('pathlib').Path(__file__).with_name('ran-' + pattern + check)\n"
        "    if pattern == 'db-at-setup' and check == 'concurrency' and not marker.exists():\n"
        "        marker.touch(); assert False, 'two threads shared one session'"
    )
    result, cell_dir = _run(
        tmp_path,
        venvs,
        {"test_flaky.py": REPORTING_TEST.replace("BODY", body), "conftest.py": RERUN_CONFTEST},
    )
    assert result.flags == ("flaky",)
    assert result.verdict == "workaround"
    (flaky,) = [c for c in result.checks if c.flaky]
    assert flaky.attempts == ("failed", "passed")
    data = json.loads((cell_dir / "result.json").read_text())
    assert data["flags"] == ["flaky"]


# The real suite re-runs a failed check in its own process (tests/scoping/conftest.py, tested
# in test_scoping_suite.py) and marks the second attempt's test case with an `attempt`
# property; this stand-in suite does the same, so that the harness's side is tested here.
RERUN_CONFTEST = """
import pytest
from _pytest.runner import runtestprotocol


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item, nextitem):
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    kept = list(item.user_properties)
    reports = runtestprotocol(item, nextitem=nextitem, log=True)
    if any(report.failed for report in reports):
        item.user_properties[:] = [*kept, ("attempt", "2")]
        runtestprotocol(item, nextitem=nextitem, log=True)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True
"""

SLOW_SUITE = REPORTING_TEST.replace("BODY", "__import__('time').sleep(0.2)")
INTERRUPT_MATRIX = """
[axes]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.*"]
sqlalchemy = ["2.0.*"]
[backends]
flask-sqlalchemy = ["3.0.*", "3.1.*"]
flask-sqlalchemy-lite = ["0.2.*"]
"""


def test_an_interrupted_run_keeps_finished_cells_and_invents_none(tmp_path: Path) -> None:
    """SIGTERM twice, as an impatient user or CI would: no killed command becomes a verdict."""
    suite = tmp_path / "tests" / "scoping"
    suite.mkdir(parents=True)
    (suite / "pytest.ini").write_text(PYTEST_INI)
    (suite / "test_slow.py").write_text(SLOW_SUITE)
    (tmp_path / "matrix.toml").write_text(INTERRUPT_MATRIX)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask_admin_compat.cli",
            "run",
            "--matrix",
            str(tmp_path / "matrix.toml"),
            "--jobs",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cells = tmp_path / "reports" / "cells"
    deadline = time.monotonic() + 240
    while not list(cells.glob("*/result.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1)  # the second cell is now under way
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    # 130 when both signals reached the clean-up, -15 when the second came after it.
    assert proc.returncode in (130, -signal.SIGTERM), err
    finished = [read_result(p) for p in cells.glob("*/result.json")]
    assert 1 <= len(finished) < 3
    assert all(r.verdict == "compatible" for r in finished)
    assert not list(cells.glob("*/.*"))  # no partial log of the interrupted cell


def test_a_postgresql_cell_without_a_server_is_an_error_with_a_hint(
    tmp_path: Path, venvs: Path
) -> None:
    cell = replace(_cell(), database="postgresql")
    suite = tmp_path / "tests" / "scoping"
    suite.mkdir(parents=True)
    (suite / "pytest.ini").write_text(PYTEST_INI)
    (suite / "test_ok.py").write_text(REPORTING_TEST.replace("BODY", "pass"))
    missing = "no PostgreSQL server: set DATABASE_URL to one, or install the server"
    options = RunOptions(
        repo_root=tmp_path,
        cells_dir=tmp_path / "cells",
        venvs_dir=venvs,
        timeout_s=120,
        postgres=None,
        postgres_missing=missing,
    )
    result = run_cell(cell, options)
    assert cell.id.endswith("-pg")
    assert result.verdict == "error"
    assert result.reason == missing


def test_a_resolution_is_reused_while_the_listing_stands(tmp_path: Path, venvs: Path) -> None:
    from flask_admin_compat.run.locks import LockCache

    suite = tmp_path / "tests" / "scoping"
    suite.mkdir(parents=True)
    (suite / "pytest.ini").write_text(PYTEST_INI)
    (suite / "test_ok.py").write_text(REPORTING_TEST.replace("BODY", "pass"))
    options = RunOptions(
        repo_root=tmp_path,
        cells_dir=tmp_path / "cells",
        venvs_dir=venvs,
        timeout_s=120,
        lock_cache=LockCache(tmp_path / "locks", "listing-1"),
    )
    for cell in (_cell(), _cell("1.3.*")):
        first = run_cell(cell, options)
        again = run_cell(cell, options)
        assert again.verdict == first.verdict
        assert again.reason == first.reason
        log = (tmp_path / "cells" / cell.id / "log.txt").read_text()
        assert log.startswith("(resolution reused")
        assert "uv pip compile" not in log
