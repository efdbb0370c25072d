"""grid.md: a pure function of the grid, readable on GitHub, inert whatever a run wrote."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest
from factories import make_grid_cell

from flask_admin_compat.grid.model import (
    CellChange,
    Changes,
    Grid,
    GridCell,
    LogRef,
    VersionChange,
    group_failures,
)
from flask_admin_compat.report.markdown import (
    md_code,
    md_code_block,
    md_cut,
    md_text,
    render_markdown,
)
from flask_admin_compat.results.model import CheckOutcome, Verdict

HOSTILE = "<script>alert('x')</script> | `tick` **bold** [link](javascript:x) @here #1 ~~s~~"


def req(
    flask: str,
    admin: str,
    sqla: str = "2.0.*",
    backend: str = "flask-sqlalchemy",
    version: str = "3.1.*",
) -> dict[str, str]:
    return {
        "python": "3.12",
        "flask": flask,
        "flask-admin": admin,
        "sqlalchemy": sqla,
        backend: version,
    }


def cell(
    cell_id: str,
    requested: dict[str, str],
    verdict: Verdict = "compatible",
    *,
    reason: str = "",
    checks: tuple[CheckOutcome, ...] = (),
    log: LogRef | None = None,
    **kwargs: Any,
) -> GridCell:
    return make_grid_cell(
        cell_id,
        requested,
        verdict,
        reason=reason,
        result_path=f"cells/{cell_id}/result.json",
        checks=checks,
        log=log,
        **kwargs,
    )


def failed(check: str, message: str, pattern: str = "session-at-setup") -> CheckOutcome:
    return CheckOutcome(pattern, check, "failed", message, 0.1, ("failed",))


def grid(*cells: GridCell, changes: Changes | None = None) -> Grid:
    return Grid("2025-06-01T12:00:00+00:00", "0.1.0", cells, changes=changes)


def linked(cell_id: str) -> LogRef:
    return LogRef(f"cells/{cell_id}/log.txt", True, f"cells/{cell_id}/log.txt", ("first",))


@pytest.fixture
def sample() -> Grid:
    return grid(
        cell("c1", req("3.0.*", "2.2.*"), log=linked("c1")),
        cell(
            "c2",
            req("3.1.*", "2.2.*"),
            "incompatible",
            reason="no pattern works\nmore",
            checks=(
                failed("per-request", "AssertionError: one session\ntrace"),
                failed("per-request", "again", pattern="db-at-setup"),
            ),
            log=linked("c2"),
        ),
        cell(
            "c3",
            req("3.1.*", "2.1.*"),
            "workaround",
            recommended_pattern="lazy-proxy",
            flags=("flaky",),
            log=LogRef("cells/c3/log.txt", False, None, ("$ uv pip", "ok")),
        ),
        cell(
            "c4",
            req("3.0.*", "2.1.*", backend="flask-sqlalchemy-lite", version="0.2.*"),
            "uninstallable",
            reason="Because flask-admin==2.1 depends on x\nand more",
        ),
        cell("lost", {}, "error", reason="unreadable result: not valid JSON", unreadable="bad"),
    )


def table_rows(text: str, title: str) -> list[str]:
    section = text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("|")]


def test_summary_counts_every_verdict(sample: Grid) -> None:
    text = render_markdown(sample)
    summary = next(line for line in text.splitlines() if line.startswith("**5 cells:**"))
    assert "✅ 1 compatible" in summary
    assert "🔧 1 workaround" in summary
    assert "❌ 1 incompatible" in summary
    assert "📦 1 uninstallable" in summary
    assert "⚠️ 1 error" in summary
    assert "🎲 1 flaky" in summary
    assert "excluded" not in summary  # zero counts are left out


def test_legend_names_every_verdict_in_words(sample: Grid) -> None:
    legend = render_markdown(sample).split("## Legend", 1)[1].split("\n## ", 1)[0]
    for word in (
        "compatible",
        "workaround",
        "incompatible",
        "uninstallable",
        "error",
        "excluded",
        "flaky",
    ):
        assert f"| {word} |" in legend


def test_one_table_per_python_and_backend_rows_admin_columns_flask_sqlalchemy(
    sample: Grid,
) -> None:
    text = render_markdown(sample)
    rows = table_rows(text, "Python 3.12 · Flask-SQLAlchemy 3.1.&#42;")
    header, _, *body = rows
    assert header.startswith("| Flask-Admin | Flask 3.0.&#42;<br>SQLAlchemy 2.0.&#42; |")
    assert "Flask 3.1.&#42;<br>SQLAlchemy 2.0.&#42;" in header
    assert [r.split("|")[1].strip() for r in body] == ["**2.1.&#42;**", "**2.2.&#42;**"]
    # Flask-Admin 2.1 with Flask 3.0 is not in this table: an empty position, not a cell.
    assert body[0].split("|")[2].strip() == "·"
    assert "## Python 3.12 · Flask-SQLAlchemy-Lite 0.2.&#42;" in text


def test_cells_link_to_their_log_and_the_log_end_stays_out(sample: Grid) -> None:
    text = render_markdown(sample)
    assert "[✅ compatible](<cells/c1/log.txt>)" in text
    assert "[❌ incompatible](<cells/c2/log.txt>)" in text
    # No log to link to: the table keeps to the verdict; the log's end is grid.html's to show.
    assert "| 🔧 workaround 🎲 flaky |" in text
    assert "$ uv pip" not in text


def test_unreadable_cell_is_shown_as_such(sample: Grid) -> None:
    text = render_markdown(sample)
    assert "## Cells that could not be placed" in text
    assert "`lost`: ⚠️ error (unreadable result)" in text


def detail_lines(text: str) -> dict[str, str]:
    """Cell id to its one line in the details section."""
    details = text.split("## Details", 1)[1]
    found = re.findall(r'^- <a id="([^"]+)"></a>(.*)$', details, flags=re.MULTILINE)
    return dict(found)


def test_one_line_per_non_compatible_cell(sample: Grid) -> None:
    text = render_markdown(sample)
    lines = detail_lines(text)
    assert list(lines) == ["c2", "c3", "c4", "lost"]  # c1 is plainly compatible
    details = text.split("## Details", 1)[1]
    assert "###" not in details  # no per-cell sections: one list item each
    c2 = lines["c2"]
    assert c2.startswith("❌ `c2` incompatible; [log](<cells/c2/log.txt>); failed: ")
    # The failed check's label (both patterns) and the first line of why, not the rest.
    assert "per-request (session-at-setup, db-at-setup): AssertionError: one session" in c2
    assert "trace" not in c2
    assert "works with **lazy-proxy**" in lines["c3"]
    assert "🎲 flaky" in lines["c3"]
    # No failed check: the first line of the cell's reason (the resolver's message).
    assert lines["c4"] == "📦 `c4` uninstallable; Because flask-admin==2.1 depends on x"
    assert "grid.html" in details.split("\n- ", 1)[0]  # says where the full evidence is


def test_a_line_names_every_failed_check_and_cuts_their_whys() -> None:
    checks = tuple(
        failed(check, f"{check} went wrong: " + "x" * 400, pattern=pattern)
        for check in (
            "construct",
            "per-request",
            "teardown",
            "isolation-after-error",
            "concurrency",
            "fresh-reads",
            "crud",
        )
        for pattern in ("session-at-setup", "db-at-setup", "in-app-context", "lazy-proxy")
    )
    text = render_markdown(grid(cell("c", req("3.1.*", "2.2.*"), "incompatible", checks=checks)))
    line = detail_lines(text)["c"]
    assert len(line.encode()) <= 900
    for check in ("construct", "per-request", "teardown", "isolation-after-error", "crud"):
        assert f"{check} (session-at-setup, db-at-setup, in-app-context, lazy-proxy): " in line
        assert f"{check} went wrong: xxx" in line
    assert line.count("…") == 7
    assert "x" * 400 not in line


def test_labels_that_cannot_fit_are_counted() -> None:
    checks = tuple(failed(f"check-{n}-" + "y" * 100, "why") for n in range(12))
    text = render_markdown(grid(cell("c", req("3.1.*", "2.2.*"), "incompatible", checks=checks)))
    line = detail_lines(text)["c"]
    assert len(line.encode()) <= 900
    shown = line.count("check-")
    assert 0 < shown < 12
    assert line.endswith(f" · and {12 - shown} more failed checks")


def test_md_cut_never_splits_an_escape() -> None:
    assert md_cut("short", 10) == "short"
    cut = md_cut("'" * 50, 21)  # each quote is five bytes escaped: &#39;
    assert cut == "&#39;" * 3 + "…"
    assert len(cut.encode()) <= 21
    assert len(md_cut("é" * 100, 11).encode()) <= 11  # bytes, not characters


def test_the_default_matrix_size_stays_under_githubs_limit() -> None:
    # 450 cells (the default matrix's ceiling), every one failing every check under every
    # pattern with long hostile messages, regressed since the last grid, logs linked: the
    # worst grid.md can be, still rendered by GitHub.
    checks = tuple(
        failed(check, f"{HOSTILE} " * 20, pattern=pattern)
        for check in (
            "startup",
            "construct",
            "per-request",
            "teardown",
            "isolation-after-error",
            "concurrency",
            "fresh-reads",
            "crud",
        )
        for pattern in ("session-at-setup", "db-at-setup", "in-app-context", "lazy-proxy")
    )
    cells = [
        cell(
            f"py31{n % 4}-flask3{n % 2}-admin2{n % 3}-sqla20-fsa31-{n}",
            {
                **req(f"3.{n % 2}.*", f"2.{n % 10}.*", version=f"3.{n // 10}.*"),
                "python": f"3.1{n % 4}",
            },
            "workaround",
            reason=HOSTILE * 30,
            checks=checks,
            recommended_pattern=HOSTILE,
            log=linked(f"py312-flask31-admin22-sqla20-fsa31-{n}"),
        )
        for n in range(450)
    ]
    regressions = tuple(
        CellChange(
            c.cell_id,
            "compatible",
            "workaround",
            tuple(o.label for o in group_failures(checks)) * 4,
            (VersionChange("flask", "3.1.0", "3.1.1"),),
        )
        for c in cells
    )
    text = render_markdown(grid(*cells, changes=Changes("then", regressions=regressions)))
    assert len(detail_lines(text)) == 450
    assert len(text.encode()) < 500_000
    assert "<script>" not in text


def test_excluded_cells_are_grouped_by_their_rule() -> None:
    rule = "Flask-SQLAlchemy 2.5 does not support Flask 3"
    text = render_markdown(
        grid(
            cell("x1", req("3.0.*", "2.2.*"), "excluded", reason=rule),
            cell("x2", req("3.1.*", "2.2.*"), "excluded", reason=rule),
            cell("x3", req("3.1.*", "2.1.*"), "excluded", reason="too old"),
        )
    )
    details = text.split("## Details", 1)[1]
    assert "### \N{HEAVY MINUS SIGN} Excluded by the matrix (3)" in details
    assert f"- {rule}: `x1`, `x2`" in details
    assert "- too old: `x3`" in details


def test_hostile_text_cannot_break_out() -> None:
    evil = cell(
        "evil",
        req(HOSTILE, "2.2.*"),
        "incompatible",
        reason=HOSTILE,
        checks=(failed("per-request", HOSTILE),),
        log=LogRef("cells/evil/log.txt", False, None, (HOSTILE, "```", "x")),
    )
    text = render_markdown(grid(evil))
    assert "```" not in text  # the log's end is grid.html's to show: no fence to break out of
    assert "<script>" not in text
    line = detail_lines(text)["evil"]
    assert "per-request (session-at-setup): &#60;script&#62;alert(&#39;x&#39;)" in line
    assert not re.search(r"&(?!#\d+;)", line)  # every & begins a whole escape: none was cut
    assert "@here" not in text  # no one gets pinged by a log line
    assert "](javascript" not in text
    assert "**bold**" not in text
    # Every row of the grid's table keeps its column count: no | from a run splits a cell.
    rows = table_rows(text, "Python 3.12 · Flask-SQLAlchemy 3.1.&#42;")
    assert len(rows) == 3
    assert len({row.count("|") for row in rows}) == 1


def test_md_helpers() -> None:
    assert md_text("a|b\nc") == "a&#124;b c"
    assert md_code("x`y|z") == "``x`y\\|z``"
    assert md_code("`a") == "`` `a ``"
    block = md_code_block("before\n```\nafter")
    assert block.startswith("````text\n")
    assert block.endswith("\n````")


def test_unsafe_log_urls_are_not_linked() -> None:
    sneaky = cell(
        "c", req("3.0.*", "2.2.*"), log=LogRef("x", True, "javascript:alert(1)", ("head",))
    )
    text = render_markdown(grid(sneaky))
    assert "javascript" not in text


def test_changes_section() -> None:
    changes = Changes(
        "2025-05-01T00:00:00+00:00",
        regressions=(
            CellChange(
                "c2",
                "compatible",
                "incompatible",
                ("per-request (session-at-setup)",),
                (VersionChange("flask", "3.1.0", "3.1.1"),),
            ),
        ),
        fixes=(CellChange("c1", "incompatible", "compatible", ("teardown",)),),
        new=(CellChange("c9", None, "compatible"),),
        gone=(CellChange("c0", "compatible", None),),
    )
    text = render_markdown(grid(cell("c1", req("3.0.*", "2.2.*")), changes=changes))
    section = text.split("## Changes since the grid of 2025-05-01T00:00:00+00:00", 1)[1]
    section = section.split("\n## ", 1)[0]
    assert "### Regressions (1)" in section
    assert (
        "- `c2`: ✅ compatible → ❌ incompatible; broke: per-request (session-at-setup); "
        "changed: Flask 3.1.0 → 3.1.1"
    ) in section
    assert "- `c1`: ❌ incompatible → ✅ compatible; now passing: teardown" in section
    assert "### New cells (1)" in section
    assert "- `c9`: new → ✅ compatible" in section
    assert "- `c0`: ✅ compatible → gone" in section


def test_no_changes_says_so() -> None:
    text = render_markdown(grid(cell("c1", req("3.0.*", "2.2.*")), changes=Changes("then")))
    assert "No cell changed its verdict" in text


def test_empty_grid_renders() -> None:
    text = render_markdown(grid())
    assert "**0 cells:** none yet" in text
    assert not re.search(r"## Python", text)


def test_a_deprecated_workaround_says_so_beside_its_pattern() -> None:
    base = cell(
        "w",
        req("3.1.*", "2.2.*"),
        "workaround",
        recommended_pattern="session-at-setup",
        flags=("deprecated",),
        checks=(failed("per-request", "one session for every request", pattern="db-at-setup"),),
    )
    warning = "Passing a scoped session is deprecated and will be removed in version 3.0"
    deprecated = replace(base, result=replace(base.result, deprecation=warning))
    line = detail_lines(render_markdown(grid(deprecated)))["w"]
    assert line.startswith(
        "🔧 `w` workaround; works with **session-at-setup**; ⏳ deprecated: Passing a scoped "
        "session is deprecated and will be removed in version 3.0; failed: per-request "
        "(db-at-setup): one session for every request"
    )


def test_pre_release_and_unreleased_cells_are_marked_as_such() -> None:
    text = render_markdown(
        grid(
            cell("a", req("3.1.*", "2.2.*")),
            cell("b", req("3.1.*", "fix2835"), "incompatible", flags=("unreleased",)),
            cell("c", req("3.1.*", "2.3.0rc1"), flags=("pre-release",)),
        )
    )
    assert "✅ compatible 🅿️ pre-release" in text
    assert "❌ incompatible 🚧 unreleased" in text
    # ... also in the details of a cell that is not plainly compatible.
    assert re.search(r"`b` incompatible 🚧 unreleased", text)
