"""``compare``'s judgement of two results of one stack: regressed, fixed or the same, and why."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from factories import make_outcome, make_result

from flask_admin_compat.cli import main
from flask_admin_compat.compare import Pair, paired_cells, report
from flask_admin_compat.matrix.builds import PathBuild
from flask_admin_compat.matrix.cells import expand
from flask_admin_compat.matrix.matrix import load_matrix
from flask_admin_compat.results.compare import check_changes, direction
from flask_admin_compat.results.model import CellResult, Verdict

PASSED = (make_outcome("per-request", surfaces=("list", "details")),)
FAILED = (
    make_outcome(
        "per-request",
        "failed",
        message="two list requests shared one Session\n(details)",
        surfaces=("list", "details"),
        failed_surfaces=("list",),
    ),
)


def _result(verdict: Verdict, checks: tuple[object, ...], cell_id: str = "c") -> CellResult:
    return make_result(cell_id=cell_id, verdict=verdict, checks=checks)  # type: ignore[arg-type]


def test_a_check_that_starts_failing_is_a_regression_named_with_its_surface() -> None:
    before, after = _result("compatible", PASSED), _result("incompatible", FAILED)
    (change,) = check_changes(before, after)
    assert change.direction == "regressed"
    assert change.words() == (
        "db-at-setup/per-request (list): passed → failed: two list requests shared one Session"
    )
    assert direction(before, after) == "regressed"
    assert direction(after, before) == "fixed"
    assert check_changes(after, before)[0].surfaces == ("list",)  # the fixed surface
    assert direction(before, before) == "same"


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("compatible", "uninstallable", "regressed"),  # the build no longer installs
        ("workaround", "incompatible", "regressed"),
        ("incompatible", "workaround", "fixed"),
        ("uninstallable", "compatible", "fixed"),
        ("uninstallable", "uninstallable", "same"),
    ],
)
def test_a_verdict_that_moves_without_a_check_still_counts(
    before: Verdict, after: Verdict, expected: str
) -> None:
    assert direction(_result(before, ()), _result(after, ())) == expected


def test_the_report_says_each_cell_and_the_counts() -> None:
    build = PathBuild("build", "dist/x.whl", Path("/nowhere/x.whl"))
    pairs = [
        Pair(_result("compatible", PASSED, "a"), _result("incompatible", FAILED, "a-build")),
        Pair(_result("compatible", PASSED, "b"), _result("compatible", PASSED, "b-build")),
        Pair(_result("compatible", PASSED, "c"), _result("error", (), "c-build")),
    ]
    text = report(pairs, build, "flask-admin")
    lines = text.splitlines()
    assert lines[0] == "flask-admin build: wheel dist/x.whl, against the release each cell names:"
    assert lines[2] == "a  regressed  compatible → incompatible  (build: a-build)"
    assert lines[3].startswith("  db-at-setup/per-request (list): passed → failed")
    assert lines[4] == "b  same  compatible  (build: b-build)"
    assert lines[5] == "c  error  compatible → error  (build: c-build)"
    assert lines[-1] == (
        "3 cells: 1 regressed, 0 fixed, 1 same, 1 error (the harness failed; see the logs)"
    )


def test_each_cell_gets_a_build_twin_and_builds_or_excluded_cells_none(
    small_matrix_path: Path,
) -> None:
    cells = expand(load_matrix(small_matrix_path))
    build = PathBuild("build", "x.whl", Path("/nowhere/x.whl"))
    pairs = paired_cells(cells, "flask-admin", build)
    assert len(pairs) == sum(c.excluded_by is None for c in cells)
    _, twin = next(p for p in pairs if p[0].id == "py312-flask31-admin22-sqla20-fsa31")
    assert twin.id == "py312-flask31-adminbuild-sqla20-fsa31"
    assert paired_cells([twin], "flask-admin", build) == []


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("flask-admin=missing.whl", "error: --with = 'missing.whl': no such file or folder"),
        ("flask-admin=git+http://example.invalid/r@main", "https: or file:"),
        ("wtforms=x.whl", "wtforms is no package of"),
    ],
)
def test_compare_refuses_bad_input_in_one_line(
    given: str,
    said: str,
    small_matrix_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.whl").write_bytes(b"x")
    code = main(["compare", "--matrix", str(small_matrix_path), "--with", given], out=io.StringIO())
    assert code == 2
    err = capsys.readouterr().err
    assert said in err
    assert len(err.strip().splitlines()) == 1
