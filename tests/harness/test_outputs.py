"""The merge command: reads cell folders, writes the three files, compares, and exits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from factories import make_result

from flask_admin_compat import exitcodes
from flask_admin_compat.cli import main as cli_main
from flask_admin_compat.grid.model import read_grid
from flask_admin_compat.results.model import CheckOutcome, PythonInfo, Verdict, write_result

ROOT = Path(__file__).parents[2]


def main(argv: list[str]) -> int:
    """The ``merge`` command, as ``flask-admin-compat merge ARGS`` runs it."""
    return cli_main(["merge", *argv])


def write_cell(
    cells: Path,
    cell_id: str,
    flask: str,
    verdict: Verdict = "compatible",
    *,
    failing: str | None = None,
    flask_installed: str = "3.1.0",
) -> Path:
    checks = tuple(
        CheckOutcome(
            "session-at-setup",
            check,
            "failed" if check == failing else "passed",
            "AssertionError: one session for two requests" if check == failing else "",
            0.05,
            ("failed",) if check == failing else ("passed",),
        )
        for check in ("per-request", "teardown")
    )
    result = make_result(
        cell_id=cell_id,
        requested={
            "python": "3.12",
            "flask": flask,
            "flask-admin": "2.2.*",
            "sqlalchemy": "2.0.*",
            "flask-sqlalchemy": "3.1.*",
        },
        python=PythonInfo("3.12", "3.12.7", None),
        verdict=verdict,
        reason="because",
        started_at="2025-06-01T10:00:00+00:00",
        finished_at="2025-06-01T10:01:00+00:00",
        fingerprint="fp",
        harness_version="0.1.0",
        installed={"flask": flask_installed, "flask-admin": "2.2.1"},
        checks=checks,
        durations={"total": 3.0},
        log="log.txt",
    )
    folder = cells / cell_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "log.txt").write_text("$ uv pip install\nok\n", encoding="utf-8")
    write_result(folder, result)
    return folder


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    reports = tmp_path / "reports"
    cells = reports / "cells"
    write_cell(cells, "py312-flask30-admin22-sqla20-fsa31", "3.0.*", flask_installed="3.0.3")
    write_cell(cells, "py312-flask31-admin22-sqla20-fsa31", "3.1.*")
    return reports


def run(reports: Path, *extra: str) -> int:
    return main(["--cells", str(reports / "cells"), "--out", str(reports), *extra])


def test_writes_json_markdown_and_html(reports: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(reports) == exitcodes.OK
    for name in ("grid.json", "grid.md", "grid.html"):
        assert (reports / name).is_file()
    grid = read_grid(reports / "grid.json")
    assert [c.verdict for c in grid.cells] == ["compatible", "compatible"]
    assert grid.changes is None  # a first run: nothing to compare with
    assert "[✅ compatible](<cells/py312-flask30-admin22-sqla20-fsa31/log.txt>)" in (
        reports / "grid.md"
    ).read_text(encoding="utf-8")
    out = capsys.readouterr()
    assert "merged 2 cells" in out.out
    assert out.err == ""
    assert not list(reports.glob(".*.tmp"))  # atomic writes leave no temporary file behind


def test_unreadable_result_is_named_on_stderr_and_kept(
    reports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = reports / "cells" / "py312-flask23-admin22-sqla20-fsa31"
    bad.mkdir()
    (bad / "result.json").write_text('{"schema_version": "1.0", "cell_id": "py3', encoding="utf-8")
    foreign = reports / "cells" / "somebody-else"
    foreign.mkdir()
    (foreign / "result.json").write_text('{"format": "other"}', encoding="utf-8")

    assert run(reports) == exitcodes.DAMAGED

    err = capsys.readouterr().err
    assert "cells/py312-flask23-admin22-sqla20-fsa31/result.json" in err
    assert "not valid JSON" in err
    assert "cells/somebody-else/result.json" in err
    grid = read_grid(reports / "grid.json")
    assert len(grid.cells) == 4
    lost = grid.cell("py312-flask23-admin22-sqla20-fsa31")
    assert lost is not None
    assert lost.label == "error (unreadable result)"
    # No readable cell has Flask 2.3, so its id cannot place it: it is listed apart.
    assert lost.requested == {}
    md = (reports / "grid.md").read_text(encoding="utf-8")
    assert "## Cells that could not be placed" in md
    assert "- `py312-flask23-admin22-sqla20-fsa31`: ⚠️ error (unreadable result)" in md
    assert "`somebody-else`: ⚠️ error (unreadable result)" in md


def test_second_run_compares_with_the_grid_it_replaces(
    reports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(reports) == exitcodes.OK
    write_cell(
        reports / "cells",
        "py312-flask31-admin22-sqla20-fsa31",
        "3.1.*",
        "incompatible",
        failing="per-request",
        flask_installed="3.1.1",
    )
    capsys.readouterr()

    assert run(reports) == exitcodes.OK  # a regression alone does not fail the merge

    err = capsys.readouterr().err
    assert "regression: py312-flask31-admin22-sqla20-fsa31: compatible -> incompatible" in err
    grid = read_grid(reports / "grid.json")
    assert grid.changes is not None
    (regression,) = grid.changes.regressions
    assert regression.checks == ("per-request (session-at-setup)",)
    assert [(v.package, v.before, v.after) for v in regression.versions] == [
        ("flask", "3.1.0", "3.1.1")
    ]
    md = (reports / "grid.md").read_text(encoding="utf-8")
    assert "### Regressions (1)" in md
    assert "Flask 3.1.0 → 3.1.1" in md


def test_fail_on_regression(reports: Path) -> None:
    assert run(reports) == exitcodes.OK
    write_cell(
        reports / "cells",
        "py312-flask30-admin22-sqla20-fsa31",
        "3.0.*",
        "incompatible",
        failing="teardown",
    )
    assert run(reports, "--fail-on-regression") == exitcodes.REGRESSION
    # The files are written all the same: CI uploads them to show what regressed.
    grid = read_grid(reports / "grid.json")
    assert grid.changes is not None
    assert len(grid.changes.regressions) == 1
    # Against itself, nothing regressed.
    assert run(reports, "--fail-on-regression") == exitcodes.OK


def test_explicit_previous_and_no_previous(reports: Path, tmp_path: Path) -> None:
    assert run(reports) == exitcodes.OK
    saved = tmp_path / "saved-grid.json"
    saved.write_text((reports / "grid.json").read_text(encoding="utf-8"), encoding="utf-8")
    write_cell(reports / "cells", "py312-flask30-admin22-sqla20-fsa31", "3.0.*", "incompatible")
    assert run(reports, "--no-previous") == exitcodes.OK
    assert read_grid(reports / "grid.json").changes is None
    assert run(reports, "--previous", str(saved), "--fail-on-regression") == exitcodes.REGRESSION


def test_unusable_previous_grid_is_reported_not_fatal(
    reports: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (reports / "grid.json").write_text("{truncated", encoding="utf-8")
    assert run(reports) == exitcodes.OK
    assert "not comparing with the previous grid" in capsys.readouterr().err
    assert read_grid(reports / "grid.json").changes is None


def test_link_base_points_cells_at_the_ci_page(reports: Path) -> None:
    page = "https://github.com/o/r/actions/runs/7"
    assert run(reports, "--link-base", page) == exitcodes.OK
    md = (reports / "grid.md").read_text(encoding="utf-8")
    assert f"[✅ compatible](<{page}>)" in md
    data = json.loads((reports / "grid.json").read_text(encoding="utf-8"))
    assert data["link_base"] == page
    assert {c["log"]["url"] for c in data["cells"]} == {page}


def test_missing_cells_folder_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--cells", str(tmp_path / "nope"), "--out", str(tmp_path)]) == exitcodes.USAGE
    assert "no cells folder" in capsys.readouterr().err


def test_empty_cells_folder_gives_an_empty_grid(tmp_path: Path) -> None:
    (tmp_path / "cells").mkdir()
    assert main(["--cells", str(tmp_path / "cells"), "--out", str(tmp_path)]) == exitcodes.OK
    assert read_grid(tmp_path / "grid.json").cells == ()


def test_script_runs_from_a_checkout(reports: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "merge_grid.py"),
            "--cells",
            str(reports / "cells"),
            "--out",
            str(reports),
            "--no-previous",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == exitcodes.OK, done.stderr
    assert "merged 2 cells" in done.stdout


def test_a_grid_published_without_its_logs_shows_their_last_lines(tmp_path: Path) -> None:
    from test_results import make_result

    from flask_admin_compat.results.model import write_result

    cells = tmp_path / "cells"
    cell = cells / "py312-flask31-admin22-sqla20-fsa31"
    write_result(cell, make_result(verdict="incompatible"))
    (cell / "log.txt").write_text("$ uv pip compile -\n3 failed\n")
    args = ["--cells", str(cells), "--out", str(tmp_path), "--no-previous", "--no-local-log-links"]
    assert main(args) == 0
    markdown = (tmp_path / "grid.md").read_text()
    assert "log.txt>" not in markdown
    # grid.md keeps to one line a cell; the log's last lines are grid.html's and grid.json's.
    assert "3 failed" not in markdown
    assert "3 failed" in (tmp_path / "grid.html").read_text()
    assert "3 failed" in (tmp_path / "grid.json").read_text()
