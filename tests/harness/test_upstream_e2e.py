"""Flask-Admin's own tests in a real cell: real installs, upstream's real suite.

The scoping suite here is a small stand-in that passes (as in test_runner.py), so that these
tests measure the upstream suite's plumbing, not the scoping suite's state.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_run_cell import PYTEST_INI, REPORTING_TEST

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import FLASK_SQLALCHEMY, FLASK_SQLALCHEMY_LITE
from flask_admin_compat.matrix.specs import parse_spec
from flask_admin_compat.results.model import CellResult, read_result
from flask_admin_compat.run.cell import run_cell
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.upstream import UPSTREAM_VENV_SUFFIX
from flask_admin_compat.run.upstream_plan import load_deps, lock_versions, parse_deps

pytestmark = pytest.mark.e2e

# The scoping suite's stand-in from the runner's tests, every check passing.
PASSING_SUITE = REPORTING_TEST.replace("BODY", "pass")


def _cell(admin: str, sqlalchemy: str, backend: str, backend_spec: str) -> Cell:
    packages = (
        ("flask", parse_spec("3.1.*")),
        ("flask-admin", parse_spec(admin)),
        ("sqlalchemy", parse_spec(sqlalchemy)),
        (backend, parse_spec(backend_spec)),
    )
    return Cell(parse_spec("3.12"), packages, backend)


ADMIN22 = _cell("2.2.*", "2.0.*", FLASK_SQLALCHEMY, "3.1.*")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> RunOptions:
    root = tmp_path_factory.mktemp("project")
    suite = root / "tests" / "scoping"
    suite.mkdir(parents=True)
    (suite / "pytest.ini").write_text(PYTEST_INI)
    (suite / "test_ok.py").write_text(PASSING_SUITE)
    return RunOptions(
        repo_root=root,
        cells_dir=root / "reports" / "cells",
        venvs_dir=root / ".venvs",
        timeout_s=600,
        fingerprint_of={ADMIN22.id: "scoping-key"},
        upstream_fingerprint_of={ADMIN22.id: "upstream-key"},
    )


@pytest.fixture(scope="module")
def both(project: RunOptions) -> CellResult:
    """Flask-Admin 2.2 on Flask 3.1, SQLAlchemy 2.0, Flask-SQLAlchemy 3.1: both suites at once."""
    return run_cell(ADMIN22, project, suites=("scoping", "upstream"))


def test_upstream_counts_sit_beside_the_verdict(both: CellResult, project: RunOptions) -> None:
    assert both.verdict == "compatible"  # the stand-in scoping suite's, untouched
    upstream = both.upstream
    assert upstream is not None
    assert upstream.status == "ran", upstream.reason
    assert upstream.flask_admin is not None
    assert upstream.flask_admin.startswith("2.2.")
    assert upstream.series == ">=2.2"
    assert upstream.fingerprint == "upstream-key"
    assert upstream.counts.passed > 100
    assert upstream.counts.failed + upstream.counts.errors == len(upstream.failures)
    assert upstream.reason == upstream.counts.summary()
    # Only this cell's backend: the lite cases were left out, and lite was never installed.
    assert any("not SQLALiteProvider" in s for s in upstream.selection)
    assert "flask-sqlalchemy-lite" not in upstream.added
    assert {"sqlalchemy-utils", "arrow", "flask-babel"} <= set(upstream.added)
    assert set(upstream.durations) >= {"resolve", "install", "test", "total"}
    cell_dir = project.cells_dir / ADMIN22.id
    assert read_result(cell_dir / "result.json") == both
    assert {"result.json", "junit.xml", "log.txt", "upstream-junit.xml", "upstream-log.txt"} <= {
        p.name for p in cell_dir.iterdir()
    }
    assert not list(cell_dir.glob(".*"))  # no partial files left behind
    assert "--pyargs flask_admin.tests.sqla" in (cell_dir / "upstream-log.txt").read_text()


def test_the_scoping_environment_stays_exactly_the_cells_pins(
    both: CellResult, project: RunOptions
) -> None:
    scoping = lock_versions((project.venvs_dir / ADMIN22.id / "requirements.lock").read_text())
    upstream_venv = project.venvs_dir / f"{ADMIN22.id}{UPSTREAM_VENV_SUFFIX}"
    upstream = lock_versions((upstream_venv / "requirements.lock").read_text())
    assert "sqlalchemy-utils" not in scoping
    assert "sqlalchemy-utils" in upstream
    # Every pin under test has the same version in both environments.
    assert {name: upstream[name] for name in scoping} == scoping
    assert both.installed["flask-admin"] == upstream["flask-admin"]


def test_each_suite_keeps_the_others_outcome(both: CellResult, project: RunOptions) -> None:
    scoping_only = run_cell(ADMIN22, project, suites=("scoping",))
    assert scoping_only.upstream == both.upstream
    upstream_only = run_cell(ADMIN22, project, suites=("upstream",))
    assert upstream_only.checks == scoping_only.checks
    assert upstream_only.started_at == scoping_only.started_at  # the scoping run's, kept
    assert upstream_only.upstream is not None
    assert upstream_only.upstream.status == "ran"
    assert upstream_only.upstream.counts == both.upstream.counts  # type: ignore[union-attr]
    assert "resolve-cell" in upstream_only.upstream.durations  # it resolved the pins itself


def test_a_backend_its_tests_do_not_cover_is_not_applicable(project: RunOptions) -> None:
    cell = _cell("1.6.*", "2.0.*", FLASK_SQLALCHEMY_LITE, "0.2.*")
    result = run_cell(cell, project, suites=("scoping", "upstream"))
    assert result.upstream is not None
    assert result.upstream.status == "n/a"
    assert "exercise flask-sqlalchemy only, not flask-sqlalchemy-lite" in result.upstream.reason
    assert not (project.venvs_dir / f"{cell.id}{UPSTREAM_VENV_SUFFIX}").exists()


def test_an_unresolvable_cell_is_not_applicable_with_the_resolvers_words(
    project: RunOptions,
) -> None:
    cell = _cell("2.2.*", "1.3.*", FLASK_SQLALCHEMY, "3.1.*")
    result = run_cell(cell, project, suites=("scoping", "upstream"))
    assert result.verdict == "uninstallable"
    assert result.upstream is not None
    assert result.upstream.status == "n/a"
    assert result.upstream.reason.startswith("the cell's pins do not resolve: No solution found")


def test_test_dependencies_the_pins_forbid_are_not_applicable(
    project: RunOptions, tmp_path: Path
) -> None:
    # A requirement that needs another SQLAlchemy than the cell's: the resolver refuses rather
    # than move the pin under test, and its reason is kept.
    deps = load_deps()
    impossible = parse_deps(
        {
            "suite": {"module": deps.module},
            "postgres": {"ignore-glob": deps.postgres_ignore_glob},
            "series": [
                {
                    "flask-admin": ">=2.2",
                    "source": "a test",
                    "requirements": [{"requirement": "sqlalchemy<2", "source": "a test"}],
                    "backends": {"flask-sqlalchemy": {"source": "a test"}},
                    "postgres": {"uri-env": "X", "source": "a test"},
                }
            ],
        }
    )
    options = RunOptions(
        repo_root=project.repo_root,
        cells_dir=tmp_path / "cells",
        venvs_dir=project.venvs_dir,
        timeout_s=600,
        upstream_deps=impossible,
    )
    result = run_cell(ADMIN22, options, suites=("scoping", "upstream"))
    assert result.upstream is not None
    assert result.upstream.status == "n/a"
    assert re.match(
        r"Flask-Admin 2\.2\.\d+'s test dependencies do not install with this cell's pins: ",
        result.upstream.reason,
    )
    assert "sqlalchemy" in result.upstream.reason
