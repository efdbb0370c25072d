"""Flask-Admin's own tests in the grid: grid.json (additively), grid.md and grid.html."""

from __future__ import annotations

import json
from pathlib import Path

from test_render_html import Page, data_of
from test_results import make_result

from flask_admin_compat.grid.merge import Collected, merge
from flask_admin_compat.grid.model import (
    Grid,
    GridCell,
    grid_from_json,
    grid_to_json,
    read_grid,
    validate_grid,
    write_grid,
)
from flask_admin_compat.report.html import hover_text, render_html
from flask_admin_compat.report.markdown import md_code, render_markdown
from flask_admin_compat.report.view import upstream_short, upstream_tally
from flask_admin_compat.results.model import UpstreamCounts, UpstreamFailure, UpstreamResult

NOW = "2025-06-01T12:00:00+00:00"
HOSTILE = "</script><script>alert('x')</script> | `x` *y* [z](javascript:1)"

FAILING = UpstreamResult(
    "ran",
    "42 passed, 18 failed, 4 xfailed",
    "u",
    counts=UpstreamCounts(passed=42, failed=18, xfailed=4),
    failures=tuple(
        UpstreamFailure(f"flask_admin/tests/sqla/test_basic.py::test_{i}", "failed", f"assert {i}")
        for i in range(18)
    ),
    flask_admin="1.6.1",
    added={"flask-babelex": "0.9.4"},
    selection=("--ignore-glob */test_postgres.py: PostgreSQL only",),
    junit="upstream-junit.xml",
)
PASSING = UpstreamResult("ran", "194 passed, 1 skipped", "u", counts=UpstreamCounts(194, 0, 0, 1))
NOT_APPLICABLE = UpstreamResult("n/a", "could not collect test_basic.py: ImportError: x", "u")


def _grid(**upstreams: UpstreamResult | None) -> Grid:
    requested = {"python": "3.12", "flask": "3.1.*", "sqlalchemy": "2.0.*"}
    collected = []
    for i, (name, upstream) in enumerate(upstreams.items()):
        cell_requested = {**requested, "flask-admin": f"2.{i}.*", "flask-sqlalchemy": "3.1.*"}
        result = make_result(cell_id=name, requested=cell_requested, upstream=upstream)
        collected.append(Collected(name, f"cells/{name}/result.json", result))
    return merge(collected, generated_at=NOW, harness_version="0.1.0")


def test_the_merge_carries_each_cells_upstream_outcome() -> None:
    grid = _grid(a=FAILING, b=None)
    assert grid.cell("a").upstream == FAILING  # type: ignore[union-attr]
    assert grid.cell("b").upstream is None  # type: ignore[union-attr]
    assert upstream_tally(grid.cells) == "ran in 1 (1 with failures)"
    assert upstream_tally(_grid(b=None).cells) == ""


def test_grid_json_holds_it_and_reads_it_back(tmp_path: Path) -> None:
    grid = _grid(a=FAILING, b=NOT_APPLICABLE, c=None)
    path = tmp_path / "grid.json"
    write_grid(path, grid)
    data = json.loads(path.read_text())
    cells = {c["cell_id"]: c for c in data["cells"]}
    assert cells["a"]["upstream"]["counts"]["failed"] == 18
    assert cells["a"]["upstream"]["failures"][0]["message"] == "assert 0"
    assert cells["b"]["upstream"]["status"] == "n/a"
    assert cells["c"]["upstream"] is None
    assert read_grid(path) == grid


def test_a_grid_written_before_the_field_still_reads() -> None:
    data = grid_to_json(_grid(a=None))
    del data["cells"][0]["upstream"]
    validate_grid(data)
    assert grid_from_json(data).cells[0].upstream is None


def test_the_short_form_fits_beside_a_verdict() -> None:
    assert upstream_short(PASSING) == "194 passed"
    assert upstream_short(FAILING) == "42 passed, 18 failed"
    errors = UpstreamResult("ran", "", "u", counts=UpstreamCounts(passed=1, errors=1))
    assert upstream_short(errors) == "1 passed, 1 error"
    assert upstream_short(NOT_APPLICABLE) == "n/a"


def test_markdown_shows_counts_beside_the_verdict_and_leaves_failures_to_html() -> None:
    grid = _grid(a=FAILING, b=PASSING)
    grid = Grid(
        grid.generated_at,
        grid.harness_version,
        tuple(_incompatible(c) if c.cell_id == "a" else c for c in grid.cells),
    )
    text = render_markdown(grid)
    assert "🧪 Flask-Admin's own tests: ran in 2 (1 with failures)." in text
    assert "| 🧪 | upstream | Flask-Admin's own SQLAlchemy tests" in text
    assert "<br>🧪 42 passed, 18 failed" in text
    assert "<br>🧪 194 passed" in text
    # grid.md keeps one line a cell: upstream's failing tests are listed in grid.html.
    assert "test_basic.py::test_0" not in text
    assert "test_basic.py::test_0" in render_html(grid)


def test_markdown_without_upstream_results_is_unchanged() -> None:
    text = render_markdown(_grid(a=None))
    assert "🧪" not in text
    assert "upstream" not in text


def test_hostile_upstream_text_stays_inert_in_markdown() -> None:
    evil = UpstreamResult(
        "ran",
        HOSTILE,
        "u",
        counts=UpstreamCounts(failed=1),
        failures=(UpstreamFailure(HOSTILE, "failed", HOSTILE),),
    )
    grid = _grid(a=evil)
    text = render_markdown(
        Grid(grid.generated_at, grid.harness_version, (_incompatible(grid.cells[0]),))
    )
    # grid.md names no upstream test; what it does show of the cell cannot open a tag or link.
    assert "<script>" not in text
    assert "](javascript" not in text
    assert md_code(HOSTILE) not in text


def test_html_badge_title_details_and_filter() -> None:
    html = render_html(_grid(a=FAILING, b=NOT_APPLICABLE, c=None))
    page = Page(html)
    buttons = {b["data-cell"]: b for b in page.all("button") if b.get("data-cell")}
    assert "⚗ 42 ✓ 18 ✗</span>" in html
    assert "⚗ n/a</span>" in html
    assert (
        '<span class="up up-failing" title="Flask-Admin&#x27;s own tests: '
        '42 passed, 18 failed, 4 xfailed">⚗ 42 ✓ 18 ✗</span>'
    ) in html
    assert 'title="Flask-Admin&#x27;s own tests: n/a: could not collect test_basic.py' in html
    assert "Flask-Admin's own tests: 42 passed, 18 failed, 4 xfailed" in (
        buttons["a"]["title"] or ""
    )
    assert '<option value="upstream-failing">' in html
    cells = {c["id"]: c for c in data_of(page)["cells"]}  # type: ignore[attr-defined]
    up = cells["a"]["up"]
    assert up["failing"] is True
    assert up["failures"][0] == [
        "flask_admin/tests/sqla/test_basic.py::test_0",
        "failed",
        "assert 0",
    ]
    assert up["more"] == 0
    assert "flask-babelex 0.9.4" in up["note"]
    assert cells["b"]["up"]["failing"] is False
    assert cells["c"]["up"] is None


def test_html_lists_so_many_failures_and_counts_the_rest() -> None:
    many = UpstreamResult(
        "ran",
        "1 passed, 100 failed",
        "u",
        counts=UpstreamCounts(passed=1, failed=100),
        failures=tuple(UpstreamFailure(f"t{i}", "failed", "x") for i in range(100)),
    )
    up = data_of(Page(render_html(_grid(a=many))))["cells"][0]["up"]  # type: ignore[index]
    assert len(up["failures"]) == 30
    assert up["more"] == 70


def test_html_without_upstream_results_has_no_badge_or_filter() -> None:
    markup = render_html(_grid(a=None)).split('<script type="application/json"')[0]
    assert "⚗" not in markup
    assert "upstream-failing" not in markup


def test_hostile_upstream_text_stays_text_in_html() -> None:
    evil = UpstreamResult(
        "ran",
        HOSTILE,
        "u",
        counts=UpstreamCounts(failed=1),
        failures=(UpstreamFailure(HOSTILE, "failed", HOSTILE),),
    )
    html = render_html(_grid(a=evil))
    assert html.count("<script") == 2
    up = data_of(Page(html))["cells"][0]["up"]  # type: ignore[index]
    assert up["failures"][0] == [HOSTILE, "failed", HOSTILE]
    assert HOSTILE in hover_text(_grid(a=evil).cells[0])


def _incompatible(cell: GridCell) -> GridCell:
    # The details section lists cells that are not plainly compatible.
    from dataclasses import replace

    return replace(
        cell, result=replace(cell.result, verdict="incompatible", reason="no pattern works")
    )
