"""A damaged reports folder and subset runs: nothing lost, nothing invented, the grid is the matrix.

The runs here go through the real CLI, session, cell and merge code against a loopback index;
only resolving and the suite are stubbed, so no uv or network is needed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import make_result

from flask_admin_compat import exitcodes
from flask_admin_compat.cli import main
from flask_admin_compat.grid.model import UNREADABLE, GridError, read_grid
from flask_admin_compat.jsonio import write_texts_atomic
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.results.model import CellResult, PythonInfo, read_result, write_result
from flask_admin_compat.run import cell as runner
from flask_admin_compat.run.env import Resolution
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.process import now_iso

INDEX = {
    "flask": [("3.0.3", "2024-04-07T00:00:00Z"), ("3.1.0", "2024-11-13T00:00:00Z")],
    "flask-admin": [("2.2.0", "2025-01-01T00:00:00Z")],
    "sqlalchemy": [("2.0.40", "2025-01-01T00:00:00Z")],
    "flask-sqlalchemy": [("3.1.1", "2024-01-01T00:00:00Z")],
}
MATRIX = (
    '[axes]\npython = ["3.12"]\nflask = ["3.0.*", "3.1.*"]\nflask-admin = ["2.2.*"]\n'
    'sqlalchemy = ["2.0.*"]\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n'
)
F30 = "py312-flask30-admin22-sqla20-fsa31"
F31 = "py312-flask31-admin22-sqla20-fsa31"


@pytest.fixture
def stub_suite(
    monkeypatch: pytest.MonkeyPatch,
    fake_index: Callable[[dict[str, list[tuple[str, str]]]], tuple[str, list[str]]],
) -> list[str]:
    """The CLI against a loopback index; resolving and the suite stubbed, the writing real."""
    url, _ = fake_index(INDEX)
    monkeypatch.setenv("UV_DEFAULT_INDEX", url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ran: list[str] = []

    def resolve(cell: Cell, options: RunOptions, **_: object) -> Any:
        return Resolution(PythonInfo("3.12"), lock="flask-admin==2.2.0\n")

    def suite(cell: Cell, options: RunOptions, resolution: Any, **kwargs: Any) -> CellResult:
        ran.append(cell.id)
        return make_result(
            cell_id=cell.id,
            requested=cell.requested,
            reason=f"stub run {len(ran)}",
            fingerprint=options.fingerprint_of.get(cell.id, ""),
            started_at=kwargs["started_at"],
            finished_at=now_iso(),
        )

    monkeypatch.setattr(runner, "resolve_cell", resolve)
    monkeypatch.setattr(runner, "_run", suite)
    return ran


def _run(project: Path, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    matrix = project / "matrix.toml"
    code = main(["run", "--matrix", str(matrix), "--project", str(project), *args], out=out)
    return code, out.getvalue()


def _project(tmp_path: Path, text: str = MATRIX) -> Path:
    (tmp_path / "matrix.toml").write_text(text, encoding="utf-8")
    return tmp_path


# -- a cell whose files cannot be written ----------------------------------------------------


def test_a_cell_folder_that_is_a_file_is_an_error_of_that_cell_and_the_run_goes_on(
    stub_suite: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    cells = project / "reports" / "cells"
    cells.mkdir(parents=True)
    (cells / F30).write_text("not a folder", encoding="utf-8")

    code, out = _run(project, "--jobs", "1")

    assert code == exitcodes.HARNESS_ERROR  # the harness failed a cell: never success
    assert read_result(cells / F31 / "result.json").verdict == "compatible"
    assert f"{F30:<44} error" in out
    grid = read_grid(project / "reports" / "grid.json")
    assert [c.cell_id for c in grid.cells] == [F30, F31]
    broken = grid.cell(F30)
    assert broken is not None
    assert broken.verdict == "error"
    assert "could not write this cell's files" in broken.reason
    assert "Traceback" not in capsys.readouterr().err


def test_an_unwritable_cell_folder_is_an_error_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, stub_suite: list[str], tmp_path: Path
) -> None:
    # As root no folder is unwritable, so the refusal the OS would give is given here.
    real = write_result  # the one runner.run_cell calls, patched below where it is looked up

    def refuse(cell_dir: Path, result: CellResult) -> Path:
        if cell_dir.name == F30:
            raise PermissionError(13, "Permission denied", str(cell_dir / "result.json"))
        return real(cell_dir, result)

    monkeypatch.setattr(runner, "write_result", refuse)
    options = RunOptions(
        repo_root=tmp_path, cells_dir=tmp_path / "cells", venvs_dir=tmp_path / "venvs", timeout_s=60
    )
    cell = next(c for c in _cells(tmp_path) if c.id == F30)
    result = runner.run_cell(cell, options)
    assert result.verdict == "error"
    assert "Permission denied" in result.reason
    assert result.cell_id == F30


def _cells(tmp_path: Path) -> list[Cell]:
    from flask_admin_compat.matrix.cells import expand
    from flask_admin_compat.matrix.matrix import load_matrix

    (tmp_path / "m").mkdir()
    return expand(load_matrix(_project(tmp_path / "m") / "matrix.toml"))


# -- the merge writes all three files or none ----------------------------------------------------


def _reports(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    for cell_id in (F30, F31):
        write_result(reports / "cells" / cell_id, make_result(cell_id))
    return reports


def _merge(reports: Path, *extra: str) -> int:
    return main(["merge", "--cells", str(reports / "cells"), "--out", str(reports), *extra])


def test_a_grid_md_that_is_a_folder_fails_the_merge_cleanly_and_replaces_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = _reports(tmp_path)
    assert _merge(reports) == exitcodes.OK
    before = {n: (reports / n).read_bytes() for n in ("grid.json", "grid.html")}
    (reports / "grid.md").unlink()
    (reports / "grid.md").mkdir()
    write_result(reports / "cells" / F31, make_result(F31, verdict="incompatible"))
    capsys.readouterr()

    assert _merge(reports) == exitcodes.DAMAGED

    err = capsys.readouterr().err
    (line,) = err.strip().splitlines()
    assert "grid.md" in line
    assert "none of its files replaced" in line
    assert {n: (reports / n).read_bytes() for n in before} == before
    assert not list(reports.glob(".grid*"))  # no temporary file left behind


def test_a_failing_rename_puts_back_the_files_already_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a", encoding="utf-8")
    real = Path.replace

    def fail_on_b(self: Path, target: Any) -> Path:
        if Path(target) == b:
            raise OSError(28, "No space left on device", str(b))
        return real(self, target)

    monkeypatch.setattr(Path, "replace", fail_on_b)
    with pytest.raises(OSError, match="No space left"):
        write_texts_atomic({a: "new a", b: "new b"})
    monkeypatch.undo()
    assert a.read_text(encoding="utf-8") == "old a"
    assert not b.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_a_text_in_pieces_is_written_whole_or_replaces_nothing(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("old a", encoding="utf-8")
    b.write_text("old b", encoding="utf-8")
    write_texts_atomic({a: iter(["new ", "a", "\n"]), b: "new b"})
    assert (a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")) == ("new a\n", "new b")

    def broken() -> Iterator[str]:
        yield "half of a"
        raise GridError("cells/0: not valid")  # render_json validates before its first piece

    with pytest.raises(GridError):
        write_texts_atomic({b: "newer b", a: broken()})
    assert (a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")) == ("new a\n", "new b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


# -- the grid is the matrix ----------------------------------------------------------------------


def test_a_result_in_another_cells_folder_counts_for_its_own_cell_and_hides_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    write_result(reports / "cells" / F30, make_result(F31, finished_at="2026-11-25T07:00:00+00:00"))
    (reports / "cells" / F31).mkdir()  # died before writing its own

    assert _merge(reports) == exitcodes.DAMAGED

    grid = read_grid(reports / "grid.json")
    assert [c.cell_id for c in grid.cells] == [F30, F31]
    f30, f31 = grid.cell(F30), grid.cell(F31)
    assert f30 is not None
    assert f31 is not None
    assert f31.verdict == "compatible"
    assert f31.finished_at == "2026-11-25T07:00:00+00:00"
    assert f30.label == f"error ({UNREADABLE})"
    assert f"is for cell {F31}, not {F30}" in capsys.readouterr().err


def test_a_cell_folder_replaced_by_a_file_is_named_and_still_shown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = _reports(tmp_path)
    for path in (reports / "cells" / F30).iterdir():
        path.unlink()
    (reports / "cells" / F30).rmdir()
    (reports / "cells" / F30).write_text("oops", encoding="utf-8")

    assert _merge(reports, "--no-previous") == exitcodes.DAMAGED

    assert f"cells/{F30}" in capsys.readouterr().err
    shown = read_grid(reports / "grid.json").cell(F30)
    assert shown is not None
    assert shown.label == f"error ({UNREADABLE})"


def test_a_subset_run_on_a_fresh_clone_keeps_the_committed_grid(
    stub_suite: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    assert _run(project)[0] == exitcodes.OK
    reports = project / "reports"
    committed = read_grid(reports / "grid.json").cell(F30)
    assert committed is not None
    # A fresh clone: the grid is committed, the cell folders are not.
    for folder in (reports / "cells").iterdir():
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()

    code, _ = _run(project, "-k", "flask31")

    assert code == exitcodes.OK
    grid = read_grid(reports / "grid.json")
    assert [c.cell_id for c in grid.cells] == [F30, F31]
    carried = grid.cell(F30)
    assert carried is not None
    assert carried.result == committed.result  # as it was, with its own run dates
    rerun = grid.cell(F31)
    assert rerun is not None
    assert rerun.reason == "stub run 3"
    assert grid.changes is not None
    assert grid.changes.gone == ()


def test_cells_removed_from_the_matrix_leave_the_grid_as_gone(
    stub_suite: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _project(tmp_path)
    assert _run(project)[0] == exitcodes.OK
    _project(tmp_path, MATRIX.replace('["3.0.*", "3.1.*"]', '["3.1.*"]'))
    capsys.readouterr()

    assert _run(project)[0] == exitcodes.OK  # the remaining cell is fresh: nothing runs

    grid = read_grid(project / "reports" / "grid.json")
    assert [c.cell_id for c in grid.cells] == [F31]
    assert grid.changes is not None
    assert [c.cell_id for c in grid.changes.gone] == [F30]
    err = capsys.readouterr().err
    assert f"gone from the matrix, and so from the grid: {F30}" in err
    assert f"not cells of the matrix, left out of the grid: {F30}" in err


def test_merge_takes_the_matrix_and_holds_exactly_its_cells(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = _reports(tmp_path)
    write_result(reports / "cells" / "py312-old-cell", make_result("py312-old-cell"))
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MATRIX, encoding="utf-8")

    assert _merge(reports, "--matrix", str(matrix)) == exitcodes.OK

    grid = read_grid(reports / "grid.json")
    assert [c.cell_id for c in grid.cells] == [F30, F31]
    assert "py312-old-cell" in capsys.readouterr().err


def test_merge_given_the_matrix_holds_its_cells_only_from_the_newest_result() -> None:
    from factories import make_grid, make_grid_cell

    from flask_admin_compat.grid.merge import Collected, merge

    ids = ["py312-a", "py312-b", "py312-c"]
    new_a = make_result("py312-a", verdict="incompatible", finished_at="2026-12-01T08:00:00+00:00")
    previous = make_grid(
        make_grid_cell("py312-a", {"python": "3.12"}, finished_at="2026-11-01T08:00:00+00:00"),
        make_grid_cell("py312-b", {"python": "3.12"}, finished_at="2026-11-02T08:00:00+00:00"),
        make_grid_cell("py312-gone", {"python": "3.12"}, finished_at="2026-11-03T08:00:00+00:00"),
    )
    grid = merge(
        [Collected("py312-a", "cells/py312-a/result.json", new_a)],
        generated_at="2026-12-01T09:00:00+00:00",
        harness_version="0.1.0",
        previous=previous,
        matrix_cells={i: {"python": "3.12"} for i in ids},
    )
    # a: this run's; b: carried as it was; c: never run, so nothing to show; gone: left out.
    assert [c.cell_id for c in grid.cells] == ["py312-a", "py312-b"]
    assert grid.cells[0].verdict == "incompatible"
    assert grid.cells[1] == previous.cells[1]
    # An older result on disk does not displace a newer one carried from the grid.
    stale = make_result("py312-b", verdict="error", finished_at="2026-10-01T08:00:00+00:00")
    again = merge(
        [Collected("py312-b", "cells/py312-b/result.json", stale)],
        generated_at="2026-12-01T09:00:00+00:00",
        harness_version="0.1.0",
        previous=previous,
        matrix_cells={i: {"python": "3.12"} for i in ids},
    )
    assert again.cell("py312-b") == previous.cells[1]


def test_a_subset_run_on_a_fresh_clone_keeps_the_other_suites_outcome(
    stub_suite: list[str], tmp_path: Path
) -> None:
    from dataclasses import replace

    from flask_admin_compat.results.model import UpstreamCounts, UpstreamResult

    project = _project(tmp_path)
    assert _run(project)[0] == exitcodes.OK
    cells = project / "reports" / "cells"
    upstream = UpstreamResult("ran", "194 passed", "u1", counts=UpstreamCounts(passed=194))
    write_result(cells / F31, replace(read_result(cells / F31 / "result.json"), upstream=upstream))
    assert _merge(project / "reports") == exitcodes.OK
    for folder in cells.iterdir():  # a fresh clone: the grid committed, no cell folders
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()

    assert _run(project, "-k", "flask31", "--force")[0] == exitcodes.OK

    rerun = read_grid(project / "reports" / "grid.json").cell(F31)
    assert rerun is not None
    assert rerun.reason == "stub run 3"  # the scoping suite ran again
    assert rerun.upstream == upstream  # and upstream's outcome, not re-run, is not lost
