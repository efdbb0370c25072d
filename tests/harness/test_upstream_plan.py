"""The upstream suite beside the scoping one: choosing suites, freshness per suite, keeping parts."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version
from test_results import make_result

from flask_admin_compat import exitcodes
from flask_admin_compat.cli import main
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.freshness import fingerprints, suites_to_run, upstream_fingerprints
from flask_admin_compat.matrix.index import IndexSnapshot, Release
from flask_admin_compat.matrix.matrix import FLASK_SQLALCHEMY, MatrixError, load_matrix
from flask_admin_compat.matrix.specs import parse_spec
from flask_admin_compat.report import outputs
from flask_admin_compat.results.model import (
    CellResult,
    PythonInfo,
    UpstreamCounts,
    UpstreamResult,
    UpstreamStatus,
    read_result,
    write_result,
)
from flask_admin_compat.run import cell as runner
from flask_admin_compat.run import session
from flask_admin_compat.run.cell import run_cell
from flask_admin_compat.run.env import Resolution
from flask_admin_compat.run.options import CellInterrupted, RunOptions

BOTH = {"scoping": "s1", "upstream": "u1"}


def _upstream(fingerprint: str = "u1", status: UpstreamStatus = "ran") -> UpstreamResult:
    return UpstreamResult(status, "1 passed", fingerprint, counts=UpstreamCounts(passed=1))


# --- which suites run -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous", "expected", "runs"),
    [
        # Never run: the scoping suite runs too, whatever was asked, for a verdict.
        (None, {"upstream": "u1"}, ("scoping", "upstream")),
        (None, {"scoping": "s1"}, ("scoping",)),
        # Scoping fresh, upstream never asked before: upstream alone.
        (make_result(fingerprint="s1"), BOTH, ("upstream",)),
        # Upstream fresh, scoping stale: scoping alone (and the other way round).
        (make_result(fingerprint="s0", upstream=_upstream()), BOTH, ("scoping",)),
        (make_result(fingerprint="s1", upstream=_upstream("u0")), BOTH, ("upstream",)),
        (make_result(fingerprint="s1", upstream=_upstream()), BOTH, ()),
        # Asked for one suite: the other's staleness does not matter.
        (make_result(fingerprint="s1", upstream=_upstream("u0")), {"scoping": "s1"}, ()),
        # A harness error is never fresh, in either suite.
        (make_result(fingerprint="s1", upstream=_upstream(status="error")), BOTH, ("upstream",)),
        (make_result(fingerprint="s1", verdict="error", upstream=_upstream()), BOTH, ("scoping",)),
        # n/a stands like any other outcome of the stack.
        (make_result(fingerprint="s1", upstream=_upstream(status="n/a")), BOTH, ()),
    ],
)
def test_each_suite_is_fresh_on_its_own(
    previous: CellResult | None, expected: dict[str, str], runs: tuple[str, ...]
) -> None:
    assert suites_to_run(previous, expected=expected, excluded=False) == runs


def test_an_excluded_cell_has_nothing_of_upstream_to_run() -> None:
    excluded = make_result(fingerprint="s1", verdict="excluded", reason="1.x predates lite")
    assert suites_to_run(excluded, expected=BOTH, excluded=True) == ()
    # No longer excluded: its old "excluded" says nothing, so both run.
    assert suites_to_run(excluded, expected=BOTH, excluded=False) == ("scoping", "upstream")
    # Newly excluded: run, so that the result says so.
    assert suites_to_run(
        make_result(fingerprint="s1"), expected={"scoping": "s1"}, excluded=True
    ) == ("scoping",)


def _cells() -> list[Cell]:
    packages = (
        ("flask", parse_spec("3.1.*")),
        ("flask-admin", parse_spec("2.2.*")),
        ("sqlalchemy", parse_spec("2.0.*")),
        (FLASK_SQLALCHEMY, parse_spec("3.1.*")),
    )
    return [Cell(parse_spec("3.12"), packages, FLASK_SQLALCHEMY)]


def _snapshot(*admin: str) -> IndexSnapshot:
    return IndexSnapshot(
        "http://index",
        datetime(2026, 1, 1, tzinfo=UTC),
        {"flask-admin": tuple(Release(Version(v), None) for v in admin)},
    )


def test_the_upstream_key_follows_its_data_and_its_own_inputs(tmp_path: Path) -> None:
    cells = _cells()
    cid = cells[0].id

    def key(**changes: Any) -> str:
        kwargs: dict[str, Any] = {
            "snapshot": _snapshot("2.2.1"),
            "deps_text": "a",
            "exclude_newer": None,
            "postgres": False,
        }
        kwargs.update(changes)
        return upstream_fingerprints(cells, **kwargs)[cid]

    assert key() == key()
    assert key(deps_text="b") != key()
    assert key(postgres=True) != key()
    assert key(snapshot=_snapshot("2.2.1", "2.2.2")) != key()  # a new Flask-Admin, new tests
    scoping = fingerprints(
        cells,
        snapshot=_snapshot("2.2.1"),
        suite="scoping",
        suite_dir=tmp_path,
        exclude_newer=None,
        pytest_args=(),
    )
    assert scoping[cid] != key()


def test_the_matrix_may_ask_for_both_suites(write_matrix: Callable[[str], Path]) -> None:
    axes = '[axes]\npython=["3.12"]\nflask=["3.1.*"]\nflask-admin=["2.2.*"]\nsqlalchemy=["2.0.*"]\n'
    backends = '[backends]\nflask-sqlalchemy=["3.1.*"]\n'
    path = write_matrix(f'[settings]\nsuites = ["scoping", "upstream"]\n{axes}{backends}')
    assert load_matrix(path).settings.suites == ("scoping", "upstream")
    for bad, problem in (('["upstream", "upstream"]', "each suite once"), ('["theirs"]', "known")):
        path = write_matrix(f"[settings]\nsuites = {bad}\n{axes}{backends}")
        with pytest.raises(MatrixError, match=problem):
            load_matrix(path)


# --- the command line -------------------------------------------------------------------------

INDEX = {
    "flask": [("3.1.0", "2024-11-13T00:00:00Z")],
    "flask-admin": [("1.6.1", "2023-01-01T00:00:00Z"), ("2.2.0", "2025-01-01T00:00:00Z")],
    "sqlalchemy": [("2.0.40", "2025-01-01T00:00:00Z")],
    "flask-sqlalchemy": [("3.1.1", "2024-01-01T00:00:00Z")],
}
MATRIX = (
    '[axes]\npython = ["3.12"]\nflask = ["3.1.*"]\nflask-admin = ["1.6.*", "2.2.*"]\n'
    'sqlalchemy = ["2.0.*"]\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n'
)


@pytest.fixture
def fake_cells(
    monkeypatch: pytest.MonkeyPatch,
    fake_index: Callable[[dict[str, list[tuple[str, str]]]], tuple[str, list[str]]],
) -> list[tuple[str, tuple[str, ...]]]:
    """The CLI against a loopback index, with a run_cell that records what it was asked."""
    url, _ = fake_index(INDEX)
    monkeypatch.setenv("UV_DEFAULT_INDEX", url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    # The merge after a run is the command's next step; these tests look at the run alone.
    monkeypatch.setattr(outputs, "merge_folder", lambda *args, **kwargs: exitcodes.OK)
    calls: list[tuple[str, tuple[str, ...]]] = []

    def fake_run_cell(
        cell: Cell, options: RunOptions, *, echo: object = None, suites: Sequence[str] = ()
    ) -> CellResult:
        calls.append((cell.id, tuple(suites)))
        upstream = None
        if "upstream" in suites:
            upstream = _upstream(options.upstream_fingerprint_of[cell.id])
        result = make_result(
            cell_id=cell.id, fingerprint=options.fingerprint_of[cell.id], upstream=upstream
        )
        write_result(options.cells_dir / cell.id, result)
        return result

    monkeypatch.setattr(session, "run_cell", fake_run_cell)
    return calls


def _run(path: Path, project: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["run", "--matrix", str(path), "--project", str(project), *args], out=out)
    return code, out.getvalue()


def test_suite_option_runs_each_suite_where_it_is_stale(
    write_matrix: Callable[[str], Path],
    fake_cells: list[tuple[str, tuple[str, ...]]],
    tmp_path: Path,
) -> None:
    path = write_matrix(MATRIX)
    a16, a22 = "py312-flask31-admin16-sqla20-fsa31", "py312-flask31-admin22-sqla20-fsa31"

    code, out = _run(path, tmp_path, "--suite", "scoping")
    assert code == exitcodes.OK
    assert fake_cells == [(a16, ("scoping",)), (a22, ("scoping",))]
    assert "2 cells: 2 to run, 0 fresh" in out
    assert "upstream" not in out

    fake_cells.clear()
    code, out = _run(path, tmp_path, "--suite", "upstream")
    # Scoping results stand: only upstream runs, and the counts say so.
    assert sorted(fake_cells) == [(a16, ("upstream",)), (a22, ("upstream",))]
    assert "2 cells: 2 to run, 0 fresh" in out
    assert "; upstream 2" in out
    assert "upstream: ran 2" in out

    fake_cells.clear()
    code, out = _run(path, tmp_path, "--suite", "upstream,scoping")
    assert fake_cells == []
    assert "2 cells: 0 to run, 2 fresh" in out

    # A cell that lost its upstream part runs upstream alone.
    cell_dir = tmp_path / "reports" / "cells" / a22
    write_result(cell_dir, replace(read_result(cell_dir / "result.json"), upstream=None))
    fake_cells.clear()
    code, out = _run(path, tmp_path, "--suite", "scoping,upstream")
    assert fake_cells == [(a22, ("upstream",))]
    assert "; scoping 0, upstream 1" in out

    # --force runs what was asked, both suites here.
    fake_cells.clear()
    _run(path, tmp_path, "--suite", "scoping,upstream", "--force", "-k", "admin16")
    assert fake_cells == [(a16, ("scoping", "upstream"))]


def test_an_upstream_error_is_a_harness_failure(
    write_matrix: Callable[[str], Path],
    fake_cells: list[tuple[str, tuple[str, ...]]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    path = write_matrix(MATRIX)

    def timed_out(cell: Cell, options: RunOptions, **_: object) -> CellResult:
        upstream = UpstreamResult("error", "timed out after 900 s", "u")
        result = make_result(cell_id=cell.id, upstream=upstream)
        write_result(options.cells_dir / cell.id, result)
        return result

    monkeypatch.setattr(session, "run_cell", timed_out)
    code, out = _run(path, tmp_path, "--suite", "upstream", "-k", "admin22")
    assert code == exitcodes.HARNESS_ERROR
    assert "py312-flask31-admin22-sqla20-fsa31" in out.split("Flask-Admin's own tests")[1]
    assert "upstream: error 1" in out


@pytest.mark.parametrize("value", ["theirs", "", "scoping,mine"])
def test_an_unknown_suite_is_refused(
    value: str, small_matrix_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["run", "--matrix", str(small_matrix_path), "--suite", value])
    assert stopped.value.code == exitcodes.USAGE
    assert "known suites are scoping, upstream" in capsys.readouterr().err


def test_the_summary_names_cells_whose_upstream_suite_failed_or_did_not_run() -> None:
    results = [
        make_result(cell_id="a", upstream=_upstream()),
        make_result(
            cell_id="b",
            upstream=UpstreamResult(
                "ran", "42 passed, 18 failed", "u", counts=UpstreamCounts(passed=42, failed=18)
            ),
        ),
        make_result(cell_id="c", upstream=UpstreamResult("n/a", "could not collect x.py", "u")),
        make_result(cell_id="d"),
    ]
    lines = session.upstream_summary(results)
    assert lines[1] == "Flask-Admin's own tests (upstream):"
    assert [ln.split()[0] for ln in lines[2:-1]] == ["b", "c"]
    assert lines[-1] == "upstream: ran 2, n/a 1"
    assert session.upstream_summary([make_result()]) == []


# --- keeping the part that did not run ----------------------------------------------------------


class Stubs:
    """What the stubbed suites ran, in order, and the verdict the scoping stub gives."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.verdict = "compatible"


@pytest.fixture
def stubs(monkeypatch: pytest.MonkeyPatch) -> Stubs:
    """run_cell with its two suites and the resolver stubbed out: only the bookkeeping is real."""
    stubs = Stubs()

    def resolve(cell: Cell, options: RunOptions, **_: object) -> Any:
        stubs.ran.append("resolve")
        return Resolution(PythonInfo("3.12"), lock="flask-admin==2.2.1\n")

    def scoping(cell: Cell, options: RunOptions, resolution: Any, **_: object) -> CellResult:
        stubs.ran.append("scoping")
        return make_result(cell_id=cell.id, verdict=stubs.verdict, reason=f"now {stubs.verdict}")

    def upstream(cell: Cell, options: RunOptions, resolution: Any, **_: object) -> UpstreamResult:
        stubs.ran.append("upstream" if resolution is not None else "upstream (resolving itself)")
        return _upstream("new")

    monkeypatch.setattr(runner, "resolve_cell", resolve)
    monkeypatch.setattr(runner, "_run", scoping)
    monkeypatch.setattr(runner, "run_upstream", upstream)
    return stubs


def _options(tmp_path: Path) -> RunOptions:
    return RunOptions(
        repo_root=tmp_path, cells_dir=tmp_path / "cells", venvs_dir=tmp_path / "venvs", timeout_s=60
    )


def test_upstream_alone_keeps_the_scoping_outcome(stubs: Stubs, tmp_path: Path) -> None:
    cell = _cells()[0]
    before = make_result(cell_id=cell.id, verdict="workaround", reason="then", fingerprint="s1")
    write_result(tmp_path / "cells" / cell.id, before)
    result = run_cell(cell, _options(tmp_path), suites=("upstream",))
    assert stubs.ran == ["upstream (resolving itself)"]
    assert result == replace(before, upstream=_upstream("new"))
    assert read_result(tmp_path / "cells" / cell.id / "result.json") == result


def test_scoping_alone_keeps_the_upstream_outcome(stubs: Stubs, tmp_path: Path) -> None:
    cell = _cells()[0]
    write_result(tmp_path / "cells" / cell.id, make_result(cell_id=cell.id, upstream=_upstream()))
    result = run_cell(cell, _options(tmp_path), suites=("scoping",))
    assert stubs.ran == ["resolve", "scoping"]
    assert result.reason == "now compatible"
    assert result.upstream == _upstream()


def test_a_stack_that_no_longer_resolves_drops_its_old_upstream_outcome(
    stubs: Stubs, tmp_path: Path
) -> None:
    cell = _cells()[0]
    write_result(tmp_path / "cells" / cell.id, make_result(cell_id=cell.id, upstream=_upstream()))
    stubs.verdict = "uninstallable"
    assert run_cell(cell, _options(tmp_path), suites=("scoping",)).upstream is None


def test_a_cell_never_run_gets_a_verdict_even_when_only_upstream_was_asked(
    stubs: Stubs, tmp_path: Path
) -> None:
    result = run_cell(_cells()[0], _options(tmp_path), suites=("upstream",))
    # One resolution serves both suites.
    assert stubs.ran == ["resolve", "scoping", "upstream"]
    assert result.verdict == "compatible"
    assert result.upstream == _upstream("new")


def test_an_interrupt_during_upstream_keeps_the_new_verdict(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def interrupted(cell: Cell, *args: object, **kwargs: object) -> UpstreamResult:
        raise CellInterrupted(cell.id)

    monkeypatch.setattr(runner, "run_upstream", interrupted)
    cell = _cells()[0]
    with pytest.raises(CellInterrupted):
        run_cell(cell, _options(tmp_path), suites=("scoping", "upstream"))
    assert read_result(tmp_path / "cells" / cell.id / "result.json").reason == "now compatible"
