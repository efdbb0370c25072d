"""The grid model: collecting cell folders, merging, laying out, the JSON form and the diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import PROJECT_ROOT, make_grid_cell, make_result

from flask_admin_compat.checks.ids import CHECK_IDS, PATTERN_IDS
from flask_admin_compat.grid.diff import diff, with_changes
from flask_admin_compat.grid.merge import (
    Collected,
    collect,
    infer_requested,
    log_url,
    merge,
    merge_problems,
    read_log_excerpt,
)
from flask_admin_compat.grid.model import (
    GRID_SCHEMA_VERSION,
    UNREADABLE,
    Grid,
    GridError,
    grid_from_json,
    grid_to_json,
    read_grid,
    render_json,
    safe_link,
    spec_sort_key,
    validate_grid,
    write_grid,
)
from flask_admin_compat.report.view import layout
from flask_admin_compat.results.model import (
    CellResult,
    CheckOutcome,
    PythonInfo,
    Verdict,
    write_result,
)

NOW = "2025-06-01T12:00:00+00:00"


def requested(
    flask: str = "3.1.*", admin: str = "2.2.*", sqla: str = "2.0.*", **extra: str
) -> dict[str, str]:
    return {
        "python": "3.12",
        "flask": flask,
        "flask-admin": admin,
        "sqlalchemy": sqla,
        **({"flask-sqlalchemy": "3.1.*"} if not extra else extra),
    }


def cell_id(req: dict[str, str]) -> str:
    short = {
        "python": "py",
        "flask": "flask",
        "flask-admin": "admin",
        "sqlalchemy": "sqla",
        "flask-sqlalchemy": "fsa",
        "flask-sqlalchemy-lite": "lite",
    }
    return "-".join(short[a] + s.removesuffix(".*").replace(".", "") for a, s in req.items())


def outcome(
    check: str, result: str = "passed", *, pattern: str = "session-at-setup", message: str = ""
) -> CheckOutcome:
    return CheckOutcome(pattern, check, result, message, 0.01, (result,))  # type: ignore[arg-type]


def result(
    req: dict[str, str],
    verdict: Verdict = "compatible",
    *,
    reason: str = "all checks passed",
    checks: tuple[CheckOutcome, ...] = (),
    installed: dict[str, str] | None = None,
    finished: str = "2025-06-01T11:00:00+00:00",
    flags: tuple[str, ...] = (),
    log: str | None = "log.txt",
) -> CellResult:
    return make_result(
        cell_id=cell_id(req),
        requested=req,
        python=PythonInfo("3.12", "3.12.7", "/usr/bin/python3.12"),
        verdict=verdict,
        reason=reason,
        started_at="2025-06-01T10:59:00+00:00",
        finished_at=finished,
        fingerprint="fp",
        harness_version="0.1.0",
        installed=installed
        if installed is not None
        else {"flask": "3.1.1", "flask-admin": "2.2.1"},
        flags=flags,
        checks=checks or (outcome("per-request"), outcome("teardown")),
        durations={"total": 12.5},
        log=log,
    )


def collected(res: CellResult, *, log_exists: bool = True) -> Collected:
    return Collected(
        folder=res.cell_id,
        result_path=f"cells/{res.cell_id}/result.json",
        result=res,
        log_path=f"cells/{res.cell_id}/log.txt",
        log_exists=log_exists,
        log_excerpt=("$ uv pip install", "Resolved 9 packages"),
    )


def broken(folder: str, problem: str = "not valid JSON: Expecting value") -> Collected:
    return Collected(folder, f"cells/{folder}/result.json", None, problem)


def write_cell(cells: Path, res: CellResult, *, log_text: str = "line one\nline two\n") -> Path:
    folder = cells / res.cell_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "log.txt").write_text(log_text, encoding="utf-8")
    write_result(folder, res)
    return folder


def merged(*items: Collected, previous: Grid | None = None, link_base: str | None = None) -> Grid:
    return merge(
        items, generated_at=NOW, harness_version="0.1.0", previous=previous, link_base=link_base
    )


# -- collect ---------------------------------------------------------------------------------------


def test_collect_reads_every_folder_and_keeps_broken_ones(tmp_path: Path) -> None:
    cells = tmp_path / "reports" / "cells"
    good = write_cell(cells, result(requested()))
    truncated = cells / "py312-flask30-admin22-sqla20-fsa31"
    truncated.mkdir()
    (truncated / "result.json").write_text('{"schema_version": "1.0", "cell_', encoding="utf-8")
    foreign = cells / "py312-flask23-admin22-sqla20-fsa31"
    foreign.mkdir()
    (foreign / "result.json").write_text('{"schema_version": "7.0", "hello": 1}', encoding="utf-8")
    empty = cells / "py312-flask31-admin21-sqla20-fsa31"  # died before writing a result
    empty.mkdir()
    (cells / ".partial").mkdir()  # a hidden folder is not a cell

    found = collect(cells, grid_dir=tmp_path / "reports")

    assert [c.folder for c in found] == sorted(
        [good.name, truncated.name, foreign.name, empty.name]
    )
    by_name = {c.folder: c for c in found}
    assert by_name[good.name].result is not None
    assert by_name[good.name].log_path == f"cells/{good.name}/log.txt"
    assert by_name[good.name].log_exists
    assert by_name[good.name].log_excerpt == ("line one", "line two")
    for name in (truncated.name, foreign.name, empty.name):
        assert by_name[name].result is None
        assert by_name[name].problem
        # The reader's message names the problem, not our absolute path again.
        assert str(tmp_path) not in (by_name[name].problem or "")
    assert "not valid JSON" in (by_name[truncated.name].problem or "")
    assert "cannot read" in (by_name[empty.name].problem or "")


def test_log_excerpt_is_its_end_short_and_survives_binary(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_bytes(
        b"$ uv pip compile -\n" * 100 + b"x" * 5000 + b"\n\xff\xfe bad bytes\n" + b"3 failed\n\n"
    )
    excerpt = read_log_excerpt(log)
    assert len(excerpt) == 5
    assert excerpt[-1] == "3 failed"
    assert "bad bytes" in excerpt[-2]
    assert len(excerpt[-3]) == 200
    assert excerpt[-3].endswith("…")
    assert read_log_excerpt(tmp_path / "missing.txt") == ()


# -- merge -----------------------------------------------------------------------------------------


def test_merge_never_loses_a_cell() -> None:
    a = result(requested(flask="3.0.*"))
    b = result(requested(flask="3.1.*"), "incompatible")
    grid = merged(collected(a), broken("py312-flask23-admin22-sqla20-fsa31"), collected(b))
    assert [c.cell_id for c in grid.cells] == sorted(
        [a.cell_id, b.cell_id, "py312-flask23-admin22-sqla20-fsa31"]
    )
    lost = grid.cell("py312-flask23-admin22-sqla20-fsa31")
    assert lost is not None
    assert lost.verdict == "error"
    assert lost.label == f"error ({UNREADABLE})"
    assert lost.unreadable == "not valid JSON: Expecting value"
    assert grid.counts["error"] == 1
    assert grid.counts["incompatible"] == 1


def test_merge_is_order_independent_so_shards_merge_like_one_run() -> None:
    items = [collected(result(requested(flask=f))) for f in ("2.3.*", "3.0.*", "3.1.*")]
    one = merged(*items)
    shards = merged(*reversed(items))
    assert grid_to_json(one) == grid_to_json(shards)


def test_merge_keeps_the_later_of_two_results_for_one_cell() -> None:
    early = result(requested(), "incompatible", finished="2025-06-01T10:00:00+00:00")
    late = result(requested(), "compatible", finished="2025-06-01T11:00:00+00:00")
    copy = Collected("copy", "cells/copy/result.json", late)
    grid = merged(collected(early), copy)
    kept = grid.cell(early.cell_id)
    assert kept is not None
    assert kept.verdict == "compatible"
    # The folder it sat in is no folder of that cell: shown, with no result of its own.
    assert [c.cell_id for c in grid.cells] == sorted([early.cell_id, "copy"])
    stray = grid.cell("copy")
    assert stray is not None
    assert stray.unreadable == f"it holds the result of cell {early.cell_id}"
    problems = merge_problems([collected(early), copy])
    assert any("is for cell" in p for p in problems)
    assert any("finished last" in p for p in problems)


def test_merge_problems_name_each_unreadable_file() -> None:
    problems = merge_problems([broken("x", "not valid JSON: boom")])
    assert problems == ["cannot use cells/x/result.json: not valid JSON: boom"]


def test_unreadable_cell_is_placed_from_its_id() -> None:
    placed = [
        make_grid_cell(cell_id(r), r, "compatible", reason="", result_path="r")
        for r in (
            requested(flask="3.0.*", admin="2.2.*"),
            requested(flask="3.1.*", admin="2.1.*"),
        )
    ]
    assert infer_requested("py312-flask30-admin21-sqla20-fsa31", placed) == requested(
        flask="3.0.*", admin="2.1.*"
    )
    # A part no readable cell has, or no cell at all: unplaced rather than misplaced.
    assert infer_requested("py312-flask99-admin21-sqla20-fsa31", placed) == {}
    assert infer_requested("whatever", []) == {}


def test_unreadable_cell_is_placed_from_the_previous_grid() -> None:
    req = requested(flask="2.3.*")
    previous = merged(collected(result(req)))
    grid = merged(broken(cell_id(req)), previous=previous)
    assert dict(grid.cells[0].requested) == req


def test_log_links_local_path_or_link_base() -> None:
    res = result(requested())
    local = merged(collected(res)).cells[0]
    assert local.log is not None
    assert local.log.url == f"cells/{res.cell_id}/log.txt"
    missing = merged(collected(res, log_exists=False)).cells[0]
    assert missing.log is not None
    assert missing.log.url is None
    assert missing.log.excerpt == ("$ uv pip install", "Resolved 9 packages")
    page = "https://github.com/o/r/actions/runs/1#artifacts"
    ci = merged(collected(res, log_exists=False), link_base=page).cells[0]
    assert ci.log is not None
    assert ci.log.url == page
    template = "https://logs.example/{cell_id}/{log}"
    assert log_url(template, cell_id="c1", log="cells/c1/log.txt") == (
        "https://logs.example/c1/cells/c1/log.txt"
    )


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("cells/a/log.txt", True),
        ("https://example.org/x", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("cells/a\n/log.txt", False),
        (None, False),
    ],
)
def test_safe_link_only_lets_pages_through(url: str | None, kept: bool) -> None:
    assert (safe_link(url) is not None) is kept


# -- layout ----------------------------------------------------------------------------------------


def test_layout_one_table_per_python_and_backend_version() -> None:
    cells = [
        make_grid_cell(cell_id(r), r, "compatible", reason="", result_path="r")
        for r in (
            requested(flask="3.1.*", admin="2.2.*"),
            requested(flask="3.0.*", admin="2.2.*"),
            requested(flask="3.0.*", admin="1.6.*", sqla="1.4.*"),
            requested(**{"flask-sqlalchemy-lite": "0.2.*"}),
        )
    ]
    tables = layout(cells)
    assert [t.shared for t in tables] == [
        (("python", "3.12"), ("flask-sqlalchemy", "3.1.*")),
        (("python", "3.12"), ("flask-sqlalchemy-lite", "0.2.*")),
    ]
    first = tables[0]
    assert first.row_axes == ("flask-admin",)
    assert first.column_axes == ("flask", "sqlalchemy")
    assert first.rows == (("1.6.*",), ("2.2.*",))
    assert first.columns == (("3.0.*", "1.4.*"), ("3.0.*", "2.0.*"), ("3.1.*", "2.0.*"))
    assert [c.cell_id for c in first.at(("2.2.*",), ("3.1.*", "2.0.*"))] == [cells[0].cell_id]
    assert first.at(("1.6.*",), ("3.1.*", "2.0.*")) == ()


def test_layout_gives_a_new_axis_its_own_tables_and_sorts_versions() -> None:
    cells = [
        make_grid_cell(
            f"c{i}", {**requested(flask=f), "wtforms": w}, "compatible", reason="", result_path="r"
        )
        for i, (f, w) in enumerate([("3.10.*", "3.1.*"), ("3.9.*", "3.0.*"), ("latest", "3.1.*")])
    ]
    tables = layout(cells)
    assert [dict(t.shared)["wtforms"] for t in tables] == ["3.0.*", "3.1.*"]
    assert [c[0] for c in tables[1].columns] == ["3.10.*", "latest"]


def test_layout_puts_unplaceable_cells_last_in_a_table_without_axes() -> None:
    cells = [
        make_grid_cell("lost", {}, "error", reason="", result_path="r", unreadable="x"),
        make_grid_cell("a", requested(), "compatible", reason="", result_path="r"),
    ]
    tables = layout(cells)
    assert tables[-1].shared == ()
    assert tables[-1].row_axes == ()
    assert [c.cell_id for c in tables[-1].at((), ())] == ["lost"]


# -- JSON ------------------------------------------------------------------------------------------


def test_json_round_trip_and_schema(tmp_path: Path) -> None:
    hostile = "<script>alert('x')</script> | ` @here"
    grid = merged(
        collected(
            result(
                requested(),
                "workaround",
                reason=hostile,
                flags=("flaky",),
                checks=(outcome("per-request", "failed", message=hostile),),
            )
        ),
        broken("lost folder with spaces"),
    )
    path = tmp_path / "grid.json"
    write_grid(path, grid)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == GRID_SCHEMA_VERSION
    assert data["harness_version"] == "0.1.0"
    assert data["counts"]["total"] == 2
    assert data["counts"]["flaky"] == 1
    by_id = {c["cell_id"]: c for c in data["cells"]}
    assert by_id[cell_id(requested())]["log"]["path"].endswith("log.txt")
    assert by_id["lost folder with spaces"]["label"] == f"error ({UNREADABLE})"
    assert read_grid(path) == grid
    assert grid_from_json(json.loads(render_json(grid))) == grid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"schema_version": "2.0"}', "schema_version"),
        ('{"schema_version": "1.0", "cells": "nope"}', "required property"),
    ],
)
def test_read_grid_refuses_what_is_not_a_grid(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "grid.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GridError, match=expected):
        read_grid(path)


def test_read_grid_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(GridError, match="cannot read"):
        read_grid(tmp_path / "nope.json")


def test_validate_names_the_field() -> None:
    data = grid_to_json(merged(collected(result(requested()))))
    data["cells"][0]["verdict"] = "fine"
    with pytest.raises(GridError, match="cells/0/verdict"):
        validate_grid(data)


# -- diff ------------------------------------------------------------------------------------------


def test_diff_sorts_changes_into_regressions_fixes_other_new_and_gone() -> None:
    r = {k: requested(flask=k) for k in ("2.3.*", "3.0.*", "3.1.*", "3.2.*", "3.3.*", "3.4.*")}
    before = merged(
        collected(result(r["2.3.*"], installed={"flask": "2.3.2", "flask-admin": "2.2.1"})),
        collected(result(r["3.0.*"], "incompatible")),
        collected(result(r["3.1.*"])),
        collected(result(r["3.2.*"])),
        collected(result(r["3.3.*"], "workaround")),
    )
    failing = (
        outcome("per-request", "failed", message="AssertionError: shared\nmore"),
        outcome("teardown"),
    )
    after = merged(
        collected(
            result(
                r["2.3.*"],
                "incompatible",
                checks=failing,
                installed={"flask": "2.3.3", "flask-admin": "2.2.1"},
            )
        ),
        collected(result(r["3.0.*"])),
        collected(result(r["3.1.*"], "error", reason="harness crashed")),
        collected(result(r["3.3.*"], "uninstallable", installed={})),
        collected(result(r["3.4.*"])),
    )
    changes = diff(before, after)
    assert [c.cell_id for c in changes.regressions] == [cell_id(r["2.3.*"]), cell_id(r["3.3.*"])]
    regression = changes.regressions[0]
    assert (regression.before, regression.after) == ("compatible", "incompatible")
    assert regression.checks == ("per-request (session-at-setup)",)
    assert [(v.package, v.before, v.after) for v in regression.versions] == [
        ("flask", "2.3.2", "2.3.3")
    ]
    assert [c.cell_id for c in changes.fixes] == [cell_id(r["3.0.*"])]
    assert [(c.cell_id, c.after) for c in changes.other] == [(cell_id(r["3.1.*"]), "error")]
    assert [c.cell_id for c in changes.new] == [cell_id(r["3.4.*"])]
    assert [c.cell_id for c in changes.gone] == [cell_id(r["3.2.*"])]
    assert previous_kept(after, before)


def previous_kept(after: Grid, before: Grid) -> bool:
    grid = with_changes(after, before)
    return grid.changes is not None and grid.changes.previous_generated_at == NOW


def test_diff_of_identical_grids_is_empty() -> None:
    grid = merged(collected(result(requested())))
    assert diff(grid, grid).empty
    assert with_changes(grid, None).changes is None


def test_an_unreadable_result_is_never_a_regression() -> None:
    req = requested()
    before = merged(collected(result(req)))
    after = merged(broken(cell_id(req)), previous=before)
    changes = diff(before, after)
    assert changes.regressions == ()
    assert [c.after for c in changes.other] == [f"error ({UNREADABLE})"]


# -- speed -----------------------------------------------------------------------------------------


def test_merging_two_hundred_cells_round_trips() -> None:
    # Speed is the benchmark's business (machines here are shared and noisy); this checks that
    # a grid of this size merges, validates and reads back whole.
    checks = tuple(outcome(c, pattern=p) for p in PATTERN_IDS for c in CHECK_IDS)
    items = [
        collected(result(requested(flask=f"3.{i}.*", admin=f"2.{j}.*"), checks=checks))
        for i in range(20)
        for j in range(10)
    ]
    grid = merged(*items)
    text = render_json(grid)  # includes the schema validation
    assert grid_from_json(json.loads(text)) == grid
    assert len(grid.cells) == 200


def test_a_series_sorts_after_its_releases_and_before_the_next_ones() -> None:
    specs = [
        "latest",
        "2.3.0",
        "2.2.*",
        "2.2.1",
        "weird",
        "2.1.*",
        "2.2.0",
        "2.1.0",
        "2.3.0rc1",
        "2.*",
        "3.0.dev0",
        "1.6.*",
    ]
    expected = [
        "1.6.*",
        "2.1.0",
        "2.1.*",
        "2.2.0",
        "2.2.1",
        "2.2.*",
        "2.3.0rc1",
        "2.3.0",
        "2.*",
        "3.0.dev0",
        "latest",
        "weird",
    ]
    assert sorted(specs, key=spec_sort_key) == expected
    # No two specs tie, so the order never depends on the order the cells came in.
    assert len({spec_sort_key(spec) for spec in specs}) == len(specs)


def test_grid_json_is_written_as_json_dumps_writes_it(tmp_path: Path) -> None:
    # Encoded in pieces to spare memory, the file must still read as it always did.
    grid = read_grid(PROJECT_ROOT / "reports" / "grid.json")
    expected = json.dumps(grid_to_json(grid), indent=1, ensure_ascii=False) + "\n"
    assert render_json(grid) == expected
    write_grid(tmp_path / "grid.json", grid)
    assert (tmp_path / "grid.json").read_text(encoding="utf-8") == expected
