"""bisect: the first release where a cell's verdict or a check changes, by binary search."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from factories import make_result
from packaging.version import Version

from flask_admin_compat import exitcodes
from flask_admin_compat.bisection import (
    BisectError,
    ProbeFailed,
    default_range,
    first_change,
    probe_cell,
    releases_between,
)
from flask_admin_compat.cli import main
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.specs import VersionSpec
from flask_admin_compat.results.compare import differences
from flask_admin_compat.results.model import CellResult, CheckOutcome, Verdict

V = Version
ADMIN = [V(v) for v in ("2.0.0", "2.0.1", "2.0.2", "2.1.0", "2.2.0", "2.2.1")]


def _result(verdict: Verdict, startup: str = "passed", message: str = "") -> CellResult:
    checks = (CheckOutcome("*", "startup", startup, message),)  # type: ignore[arg-type]
    return make_result(verdict=verdict, checks=checks)


def _probe(bad_from: Version, calls: list[Version]) -> Callable[[Version], CellResult]:
    def probe(version: Version) -> CellResult:
        calls.append(version)
        if version >= bad_from:
            return _result("incompatible", "failed", "ImportError: cannot import name 'T_SESSION'")
        return _result("workaround")

    return probe


@pytest.mark.parametrize("bad_from", ADMIN[1:])
def test_the_first_bad_release_is_found_in_few_runs(bad_from: Version) -> None:
    calls: list[Version] = []
    found = first_change("flask-admin", ADMIN, _probe(bad_from, calls))
    assert found.first_bad == bad_from
    assert found.last_good == ADMIN[ADMIN.index(bad_from) - 1]
    assert found.changes[0] == "verdict: workaround → incompatible"
    assert found.changes[1].startswith("startup: passed → failed: ImportError")
    assert len(calls) == len(set(calls)) <= 2 + 3  # both ends, then ceil(log2(5))
    assert "first bad: flask-admin " + str(bad_from) in found.summary()


def test_no_change_between_good_and_bad_is_said() -> None:
    calls: list[Version] = []
    found = first_change("flask-admin", ADMIN, _probe(V("9"), calls))
    assert found.first_bad is None
    assert calls == [ADMIN[0], ADMIN[-1]]
    assert found.summary().startswith("no change between flask-admin 2.0.0 and 2.2.1")


def test_a_check_change_counts_even_when_the_verdict_does_not() -> None:
    def probe(version: Version) -> CellResult:
        outcome = "failed" if version >= V("2.2.0") else "passed"
        checks = (CheckOutcome("lazy-proxy", "teardown", outcome, "still in a transaction"),)  # type: ignore[arg-type]
        return make_result(verdict="workaround", checks=checks)

    found = first_change("flask-admin", ADMIN, probe)
    assert found.first_bad == V("2.2.0")
    assert found.changes == ("lazy-proxy/teardown: passed → failed: still in a transaction",)


def test_a_probe_the_harness_could_not_measure_stops_the_search() -> None:
    def probe(version: Version) -> CellResult:
        return _result("error") if version == ADMIN[-1] else _result("workaround")

    with pytest.raises(ProbeFailed, match=r"flask-admin 2\.2\.1"):
        first_change("flask-admin", ADMIN, probe)


def test_the_release_list_leaves_prereleases_out() -> None:
    listed = [V("2.1.0"), V("2.2.0rc1"), V("2.2.0"), V("2.2.1"), V("2.3.0")]
    assert releases_between(listed, good=V("2.1.0"), bad=V("2.2.1")) == [
        V("2.1.0"),
        V("2.2.0"),
        V("2.2.1"),
    ]


CELL = Cell(
    VersionSpec("exact", "3.12"),
    (
        ("flask", VersionSpec("series", "3.1.*")),
        ("flask-admin", VersionSpec("series", "2.2.*")),
        ("sqlalchemy", VersionSpec("series", "2.0.*")),
        ("flask-sqlalchemy-lite", VersionSpec("series", "0.2.*")),
    ),
    "flask-sqlalchemy-lite",
)


def test_a_probe_pins_the_package_exactly() -> None:
    probe = probe_cell(CELL, "flask-admin", V("2.2.0"))
    assert probe.id == "py312-flask31-admin220-sqla20-lite02"
    assert "flask-admin==2.2.0" in probe.requirements
    extra = probe_cell(CELL, "wtforms", V("3.2.1"))
    assert extra.requirements[-2:] == ("wtforms==3.2.1", "flask-sqlalchemy-lite==0.2.*")
    assert extra.backend == "flask-sqlalchemy-lite"


def test_good_and_bad_default_to_the_cells_series() -> None:
    assert default_range(CELL, "flask-admin", ADMIN, good=None, bad=None) == (
        V("2.2.0"),
        V("2.2.1"),
    )
    assert default_range(CELL, "flask-admin", ADMIN, good="2.1.0", bad=None) == (
        V("2.1.0"),
        V("2.2.1"),
    )
    with pytest.raises(BisectError, match=r"--good = '2\.1\.5': no such release"):
        default_range(CELL, "flask-admin", ADMIN, good="2.1.5", bad=None)
    with pytest.raises(BisectError, match="not an axis of this cell"):
        default_range(CELL, "wtforms", [V("3.1.0")], good=None, bad=None)


def test_differences_put_consequences_last() -> None:
    before = make_result(
        verdict="workaround",
        checks=(
            CheckOutcome("*", "startup", "passed"),
            CheckOutcome("lazy-proxy", "crud", "passed"),
        ),
    )
    after = make_result(
        verdict="incompatible",
        checks=(
            CheckOutcome("*", "startup", "failed", "boom"),
            CheckOutcome("lazy-proxy", "crud", "skipped", "the stack did not start"),
        ),
    )
    assert differences(before, after) == (
        "verdict: workaround → incompatible",
        "startup: passed → failed: boom",
        "lazy-proxy/crud: passed → skipped",
    )


def test_bad_input_is_one_line_and_exit_2(
    small_matrix_path: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        [
            "bisect",
            "py312-nope",
            "--axis",
            "python",
            "--matrix",
            str(small_matrix_path),
            "--project",
            str(tmp_path),
        ]
    )
    assert code == exitcodes.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "bisect a package" in err


def test_each_regression_asks_to_bisect_what_moved_forward() -> None:
    from factories import make_grid, make_grid_cell

    from flask_admin_compat.bisection import RegressionBisect, regression_bisects
    from flask_admin_compat.grid.model import CellChange, Changes, VersionChange

    requested = {"python": "3.12", "flask-admin": "2.2.*", "sqlalchemy": "2.0.*"}
    cell = make_grid_cell("c1", requested, "incompatible")
    moved = (
        VersionChange("python", "3.12.1", "3.12.2"),  # no index release
        VersionChange("werkzeug", "3.1.3", "3.1.4"),
        VersionChange("flask-admin", "2.2.0", "2.2.1"),
        VersionChange("sqlalchemy", "2.0.58", "2.0.40"),  # went back: nothing to bisect forward
        VersionChange("jinja2", None, "3.1.6"),  # newly installed
    )
    changes = Changes(
        "2026-11-24T00:00:00+00:00",
        regressions=(CellChange("c1", "workaround", "incompatible", versions=moved),),
    )
    assert regression_bisects(make_grid(cell, changes=changes)) == [
        RegressionBisect("c1", "flask-admin", "2.2.0", "2.2.1"),  # the axis package first
        RegressionBisect("c1", "werkzeug", "3.1.3", "3.1.4"),
    ]
    assert regression_bisects(make_grid(cell)) == []
