"""Cell folders from shard artifacts, read as a hostile uploader made them: no file is read
through a link or from outside the cell's folder, and what a result brings in is capped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_outcome, make_result

from flask_admin_compat import exitcodes
from flask_admin_compat.cli import main
from flask_admin_compat.grid.artifacts import MAX_MESSAGE_CHARS, MAX_RESULT_BYTES
from flask_admin_compat.results.model import write_result

CELL = "py312-flask31-admin22-sqla20-fsa31"
SECRET = "root:x:0:0:the secret line:/root:/bin/bash"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the reports folder, standing in for /etc/passwd."""
    path = tmp_path / "elsewhere" / "passwd"
    path.parent.mkdir()
    path.write_text(SECRET + "\n", encoding="utf-8")
    return path


def _merge(reports: Path) -> int:
    return main(
        ["merge", "--cells", str(reports / "cells"), "--out", str(reports), "--no-local-log-links"]
    )


def _grid_text(reports: Path) -> str:
    return "".join((reports / n).read_text(encoding="utf-8") for n in ("grid.json", "grid.html"))


def _one_line_about(err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if all(w in line for w in words)]
    assert len(lines) == 1, err


def test_a_log_that_is_a_link_is_not_read(
    tmp_path: Path, secret: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    write_result(reports / "cells" / CELL, make_result(CELL))
    (reports / "cells" / CELL / "log.txt").symlink_to(secret)
    assert _merge(reports) == exitcodes.DAMAGED
    assert SECRET not in _grid_text(reports)
    _one_line_about(capsys.readouterr().err, CELL, "log.txt", "symbolic link")


@pytest.mark.parametrize(
    "log", ["ABSOLUTE", "../../../elsewhere/passwd"], ids=["absolute", "above"]
)
def test_a_log_field_outside_the_cells_folder_is_refused(
    tmp_path: Path, secret: Path, capsys: pytest.CaptureFixture[str], log: str
) -> None:
    reports = tmp_path / "reports"
    log = str(secret) if log == "ABSOLUTE" else log
    write_result(reports / "cells" / CELL, make_result(CELL, log=log))
    assert _merge(reports) == exitcodes.DAMAGED
    assert SECRET not in _grid_text(reports)
    _one_line_about(capsys.readouterr().err, CELL, "outside", f"reports/cells/{CELL}/")


def test_a_cell_folder_that_is_a_link_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    real = tmp_path / "elsewhere" / CELL
    write_result(real, make_result(CELL, reason="from outside the reports folder"))
    (real / "log.txt").write_text(SECRET + "\n", encoding="utf-8")
    (reports / "cells").mkdir(parents=True)
    (reports / "cells" / CELL).symlink_to(real, target_is_directory=True)
    assert _merge(reports) == exitcodes.DAMAGED
    grid = _grid_text(reports)
    assert SECRET not in grid
    assert "from outside the reports folder" not in grid
    _one_line_about(capsys.readouterr().err, CELL, "cell folder is a symbolic link")


def test_a_result_file_that_is_a_link_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    elsewhere = tmp_path / "elsewhere" / CELL
    write_result(elsewhere, make_result(CELL, reason="a result kept elsewhere"))
    (reports / "cells" / CELL).mkdir(parents=True)
    (reports / "cells" / CELL / "result.json").symlink_to(elsewhere / "result.json")
    assert _merge(reports) == exitcodes.DAMAGED
    assert "a result kept elsewhere" not in _grid_text(reports)
    _one_line_about(capsys.readouterr().err, "result.json is a symbolic link")


def test_a_result_file_too_large_is_refused_before_it_is_parsed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's 50 MB result.json made grid.html 60 MB and the merge peak at 474 MB."""
    reports = tmp_path / "reports"
    write_result(reports / "cells" / CELL, make_result(CELL))
    path = reports / "cells" / CELL / "result.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["reason"] = "x" * (MAX_RESULT_BYTES + 1)
    path.write_text(json.dumps(data), encoding="utf-8")
    assert _merge(reports) == exitcodes.DAMAGED
    assert (reports / "grid.html").stat().st_size < MAX_RESULT_BYTES
    _one_line_about(capsys.readouterr().err, "result.json is", "a result may be: refused")


def test_a_long_message_is_cut_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = tmp_path / "reports"
    long = "AssertionError: " + "y" * 100_000
    check = make_outcome("per-request", "failed", message=long)
    write_result(
        reports / "cells" / CELL, make_result(CELL, verdict="incompatible", checks=(check,))
    )
    assert _merge(reports) == exitcodes.OK  # a long message is no damage
    grid = json.loads((reports / "grid.json").read_text(encoding="utf-8"))
    (cell,) = grid["cells"]
    (kept,) = [c for c in cell["checks"] if c["check"] == "per-request"]
    assert kept["message"].startswith(long[:MAX_MESSAGE_CHARS])
    assert kept["message"].endswith("[cut: 98,016 more characters, see the log]")
    _one_line_about(capsys.readouterr().err, "cut in the grid")
