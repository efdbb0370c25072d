"""tools/grid_speed.py: a grid of the matrix's size without running it; its figures are printed.

The default matrix's grid.md is checked against GitHub's limit here (a size, not a time); the
browser timings are only printed, never asserted.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from factories import PROJECT_ROOT, RESOURCES
from grid_speed import CHROMIUM, main, synthetic_grid

from flask_admin_compat.grid.model import grid_from_json
from flask_admin_compat.matrix.matrix import load_matrix
from flask_admin_compat.matrix.series import list_cells, series_cache_for
from flask_admin_compat.report.markdown import render_markdown

COMMITTED = PROJECT_ROOT / "reports" / "grid.json"


def test_the_default_matrix_grid_md_renders_on_github() -> None:
    matrix = load_matrix(PROJECT_ROOT / "matrix.toml")
    cells, _ = list_cells(matrix, series_cache=series_cache_for(matrix))
    committed = grid_from_json(json.loads(COMMITTED.read_text(encoding="utf-8")))
    grid = synthetic_grid(cells, committed)

    # Exactly the matrix's cells, in its order; exclusions are the matrix's, with its reason.
    assert [c.cell_id for c in grid.cells] == [c.id for c in cells]
    assert [c.requested for c in grid.cells] == [c.requested for c in cells]
    for made, cell in zip(grid.cells, cells, strict=True):
        if cell.excluded_by is not None:
            assert made.verdict == "excluded"
            assert made.reason == cell.excluded_by.reason
        else:
            assert made.verdict != "excluded"
    # Results are the committed grid's: real messages, not invented ones.
    reasons = {c.reason for c in committed.cells}
    assert all(c.reason in reasons for c in grid.cells if c.verdict != "excluded")

    markdown = render_markdown(grid)
    assert len(markdown.encode()) < 500_000
    troubled = [c for c in grid.cells if c.verdict not in ("compatible", "excluded") or c.flaky]
    assert all(markdown.count(f'<a id="{c.cell_id}"></a>') == 1 for c in troubled)


@pytest.mark.skipif(
    importlib.util.find_spec("playwright") is None or not CHROMIUM.exists(),
    reason="needs playwright and Debian's chromium",
)
def test_the_tool_prints_sizes_and_browser_figures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--matrix", str(RESOURCES / "small-matrix.toml"), "--grid", str(COMMITTED)]
    assert main([*args, "--rounds", "1", "--keep", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    cells = len(list_cells(load_matrix(RESOURCES / "small-matrix.toml"), series_cache=tmp_path)[0])
    assert f"{cells} cells from small-matrix.toml" in out
    assert f"Showing {cells} of {cells} cells" in out
    for step in ("open", "filter python = 3.12", "filter verdict = not compatible", "reset"):
        assert f"| {step} | " in out
    assert {p.name for p in tmp_path.iterdir()} == {"grid.md", "grid.html", "grid.json"}


def test_rounds_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rounds", "0"]) == 2
    assert "--rounds" in capsys.readouterr().err


def test_a_missing_grid_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "grid.json"
    assert main(["--matrix", str(RESOURCES / "small-matrix.toml"), "--grid", str(missing)]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err
    assert "Traceback" not in err
