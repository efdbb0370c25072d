"""The grid's three files all or none against kill -9, and one merge at a time.

A merge is killed (SIGKILL, from inside, at a chosen rename) in a subprocess; what it leaves
is then looked at, recovered by the next merge, and checked whole.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from factories import make_result

from flask_admin_compat.results.model import write_result

CELL = "py312-flask31-admin22-sqla20-fsa31"
GRID = ("grid.json", "grid.md", "grid.html")

# Merges reports/cells into reports, and kills itself with SIGKILL right after the Nth rename
# of a grid file into place (0: right after the first staged grid file is written).
MERGE_KILLED = textwrap.dedent(
    """
    import os, pathlib, signal, sys
    from flask_admin_compat.cli import main
    reports, after = pathlib.Path(sys.argv[1]), int(sys.argv[2])
    grid = {reports / name for name in ("grid.json", "grid.md", "grid.html")}
    real_replace, done = pathlib.Path.replace, []
    def replace(self, target):
        moved = real_replace(self, target)
        if pathlib.Path(target) in grid:
            done.append(target)
            if len(done) == after:
                os.kill(os.getpid(), signal.SIGKILL)
        return moved
    real_open = os.fdopen
    def fdopen(fd, *args, **kwargs):
        handle = real_open(fd, *args, **kwargs)
        if after == 0 and ".grid.md." in os.readlink(f"/proc/self/fd/{fd}"):
            os.kill(os.getpid(), signal.SIGKILL)
        return handle
    pathlib.Path.replace, os.fdopen = replace, fdopen
    main(["merge", "--cells", str(reports / "cells"), "--out", str(reports)])
    """
)


MERGE = (
    "import sys; from flask_admin_compat.cli import main; "
    "sys.exit(main(['merge', '--cells', sys.argv[1] + '/cells', '--out', sys.argv[1]]))"
)


def _merge(reports: Path, *, kill_after: int | None = None) -> subprocess.CompletedProcess[str]:
    script = MERGE_KILLED if kill_after is not None else MERGE
    return subprocess.run(
        [sys.executable, "-c", script, str(reports), str(kill_after)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _grid(reports: Path) -> dict[str, bytes]:
    return {name: (reports / name).read_bytes() for name in GRID}


def _generated(reports: Path) -> set[str]:
    """Which merge each grid file comes from, by the cell reason it shows."""
    return {
        reason
        for name in GRID
        for reason in ("first merge", "second merge")
        if reason in (reports / name).read_text(encoding="utf-8")
    }


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """A reports folder with a grid from a first merge, and a changed cell to merge next."""
    reports = tmp_path / "reports"
    cell_dir = reports / "cells" / CELL
    write_result(cell_dir, make_result(CELL, reason="first merge", verdict="incompatible"))
    assert _merge(reports).returncode == 0
    write_result(cell_dir, make_result(CELL, reason="second merge", verdict="incompatible"))
    return reports


@pytest.mark.parametrize("kill_after", [1, 2])
def test_a_merge_killed_while_renaming_is_finished_by_the_next(
    reports: Path, kill_after: int
) -> None:
    """The issue's case: killed while the backups existed, grid.json new, the others old."""
    killed = _merge(reports, kill_after=kill_after)
    assert killed.returncode == -9
    assert [p.name for p in reports.glob(".grid*")]  # what the kill left behind
    # The next merge finds the set committed and finishes it before reading grid.json.
    (reports / "cells" / CELL / "result.json").unlink()  # it must not matter what it merges
    done = _merge(reports)
    assert "finished an interrupted write" in done.stderr
    assert not list(reports.glob(".grid*"))  # no temporary or backup file left
    assert not list(reports.glob("*.tmp"))
    assert not list(reports.glob("*.old"))


@pytest.mark.parametrize("kill_after", [1, 2])
def test_recovery_alone_makes_the_three_files_one_merges(reports: Path, kill_after: int) -> None:
    from flask_admin_compat.report.outputs import recover_outputs

    assert _merge(reports, kill_after=kill_after).returncode == -9
    assert _generated(reports) == {"first merge", "second merge"}  # mixed, until recovered
    recover_outputs(reports)
    assert _generated(reports) == {"second merge"}
    assert not list(reports.glob(".grid*"))


def test_a_merge_killed_before_its_files_are_complete_leaves_the_old_grid(reports: Path) -> None:
    from flask_admin_compat.report.outputs import recover_outputs

    before = _grid(reports)
    assert _merge(reports, kill_after=0).returncode == -9
    assert list(reports.glob(".grid*.tmp"))
    # grid.json staged whole, grid.md begun: both go, and nothing was replaced.
    assert recover_outputs(reports) == ("removed 2 leftover files of an interrupted write",)
    assert _grid(reports) == before
    assert not list(reports.glob(".grid*"))


def test_a_second_merge_waits_for_the_first(reports: Path) -> None:
    """Two merges at once mixed their files (5 of 220 pairs): the second now waits."""
    from flask_admin_compat.report.outputs import GRID_LOCK
    from flask_admin_compat.run.exclusive import exclusive

    before = _grid(reports)
    with exclusive(reports / GRID_LOCK, what="a merge holding the grid"):
        second = subprocess.Popen(
            [sys.executable, "-c", MERGE, str(reports)],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        assert second.stderr is not None
        line = second.stderr.readline()
        assert "waiting for a merge holding the grid" in line
        assert _grid(reports) == before  # nothing written while the first holds it
    assert second.wait(timeout=120) == 0
    second.stderr.close()
    assert _generated(reports) == {"second merge"}


def test_a_set_under_a_relative_folder_with_files_below_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As CI's merge job names it (``--out reports``), with badges and reproductions below."""
    from flask_admin_compat.jsonio import write_texts_atomic

    monkeypatch.chdir(tmp_path)
    texts = {Path("reports/grid.json"): "{}\n", Path("reports/repro/a.py"): "print(1)\n"}
    write_texts_atomic(texts)
    assert (tmp_path / "reports" / "repro" / "a.py").read_text(encoding="utf-8") == "print(1)\n"
    assert not list((tmp_path / "reports").rglob(".*"))
