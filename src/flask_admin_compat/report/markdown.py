"""``grid.md``: the grid as GitHub shows it, a pure function of the :class:`Grid`.

Every text that came from a run (reasons, messages, versions, log lines, even folder names)
goes through :func:`md_text` or a code fence sized to its content, so a message can neither
break a table nor smuggle in HTML, links or mentions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flask_admin_compat.grid.model import (
    FLAKY,
    PYTHON_AXIS,
    CellChange,
    Changes,
    Grid,
    GridCell,
    safe_link,
)
from flask_admin_compat.report.view import (
    UPSTREAM_MEANING,
    Table,
    failed_by_check,
    failed_surfaces_by_check,
    layout,
    surface_label,
    upstream_short,
    upstream_tally,
)
from flask_admin_compat.results.model import VERDICTS, first_line

ICONS: Mapping[str, str] = {
    "compatible": "✅",
    "workaround": "🔧",
    "incompatible": "❌",
    "uninstallable": "📦",
    "error": "⚠️",
    "excluded": "\N{HEAVY MINUS SIGN}",
    FLAKY: "🎲",
}
#: Flask-Admin's own tests, beside the verdict (never one of the verdicts above).
UPSTREAM_ICON = "🧪"
#: Failing upstream tests named in a cell's details; the rest are in grid.json and grid.html.
_UPSTREAM_FAILURES = 5
_MESSAGE_CHARS = 200
MEANINGS: Mapping[str, str] = {
    "compatible": "the registration pattern Flask-Admin documents gets a properly scoped "
    "session per request",
    "workaround": "the documented pattern does not, another one does (named in the details)",
    "incompatible": "no registration pattern the suite knows gets a properly scoped session",
    "uninstallable": "these versions cannot be installed together (the resolver's message is kept)",
    "error": "the harness failed, so nothing is known about this stack; never read it as "
    "incompatible",
    "excluded": "left out by a matrix rule, whose reason is given",
    FLAKY: "a check gave different outcomes when re-run; it counts as failed",
}
AXIS_NAMES: Mapping[str, str] = {
    "python": "Python",
    "flask": "Flask",
    "flask-admin": "Flask-Admin",
    "sqlalchemy": "SQLAlchemy",
    "flask-sqlalchemy": "Flask-SQLAlchemy",
    "flask-sqlalchemy-lite": "Flask-SQLAlchemy-Lite",
    "wtforms": "WTForms",
    "database": "Database",
}
_DETAIL_LINES = 8

# Characters that mean something to GitHub's Markdown, or to the HTML it lets through, given
# as numeric references, which GitHub shows as the plain character and never interprets.
# Dashes, dots and brackets are left alone: run text never starts a line here, where they count.
_SPECIAL = re.compile(r"[&<>\"'\\`*_\[\]|~#@]")


def md_text(text: str) -> str:
    """Run-made text as inert inline Markdown on one line (safe inside a table cell)."""
    one_line = " ".join(text.split())
    return _SPECIAL.sub(lambda m: f"&#{ord(m.group())};", one_line)


def md_code(text: str) -> str:
    """Run-made text as an inline code span that no backtick in it can close."""
    one_line = " ".join(text.split()).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", one_line)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if one_line.startswith("`") or one_line.endswith("`") else ""
    return f"{fence}{pad}{one_line}{pad}{fence}"


def md_code_block(text: str) -> str:
    """A fenced block longer than any run of backticks in ``text``, so it cannot be closed."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def axis_name(axis: str) -> str:
    return AXIS_NAMES.get(axis, axis)


def render_markdown(grid: Grid) -> str:
    """The whole ``grid.md``: summary, changes, legend, tables, then the non-compatible cells."""
    parts = [
        "# Flask-Admin session-scoping compatibility",
        _provenance(grid),
        _summary(grid),
    ]
    if grid.changes is not None:
        parts.append(_changes(grid.changes))
    parts.append(_legend(upstream=any(c.upstream is not None for c in grid.cells)))
    tables = layout(grid.cells)
    parts.extend(_table(t) for t in tables if t.shared or t.row_axes or t.column_axes)
    unplaced = [c for t in tables if not (t.shared or t.row_axes or t.column_axes) for c in _all(t)]
    if unplaced:
        parts.append(_unplaced(unplaced))
    parts.append(_details(grid.cells))
    return "\n\n".join(p for p in parts if p) + "\n"


def _provenance(grid: Grid) -> str:
    run = ""
    if grid.run_started_at and grid.run_finished_at:
        run = (
            f" from cells run between {md_text(grid.run_started_at)} and "
            f"{md_text(grid.run_finished_at)}"
        )
    return (
        f"Merged {md_text(grid.generated_at)} by flask-admin-compat "
        f"{md_text(grid.harness_version)}{run}. "
        "The same data, for tools, is in `grid.json`; `grid.html` has filters and per-check "
        "details."
    )


def _summary(grid: Grid) -> str:
    counts = grid.counts
    shown = [f"{ICONS[v]} {counts[v]} {v}" for v in VERDICTS if counts[v]]
    if counts[FLAKY]:
        shown.append(f"{ICONS[FLAKY]} {counts[FLAKY]} {FLAKY}")
    total = len(grid.cells)
    noun = "cell" if total == 1 else "cells"
    line = f"**{total} {noun}:** " + (" · ".join(shown) if shown else "none yet")
    tally = upstream_tally(grid.cells)
    if tally:
        line += f"\n\n{UPSTREAM_ICON} Flask-Admin's own tests: {md_text(tally)}."
    return line


def _legend(*, upstream: bool = False) -> str:
    rows = [f"| {ICONS[key]} | {key} | {MEANINGS[key]} |" for key in (*VERDICTS, FLAKY)]
    if upstream:
        rows.append(f"| {UPSTREAM_ICON} | upstream | {UPSTREAM_MEANING} |")
    return "\n".join(
        [
            "## Legend",
            "",
            "| | Verdict | Means |",
            "| --- | --- | --- |",
            *rows,
            "",
            (
                "Each cell links to its log; where the log is not published, the details below "
                "show its last lines. Versions are the matrix's specs (`3.1.*` is the newest 3.1 "
                "release that installed); `grid.json` has the exact versions installed."
            ),
        ]
    )


def _changes(changes: Changes) -> str:
    lines = [f"## Changes since the grid of {md_text(changes.previous_generated_at)}"]
    if changes.empty:
        return lines[0] + "\n\nNo cell changed its verdict; no cell is new or gone."
    groups: tuple[tuple[str, str, tuple[CellChange, ...]], ...] = (
        ("Regressions", "broke", changes.regressions),
        ("Fixes", "now passing", changes.fixes),
        (
            "Other verdict changes (to or from error or excluded: not evidence either way)",
            "broke",
            changes.other,
        ),
        ("New cells", "", changes.new),
        ("Cells gone", "", changes.gone),
    )
    for title, verb, items in groups:
        if items:
            lines += ["", f"### {title} ({len(items)})", ""]
            lines += [_change_line(c, verb) for c in items]
    return "\n".join(lines)


def _change_line(change: CellChange, verb: str) -> str:
    before = f"{_icon(change.before)} {md_text(change.before)}" if change.before else "new"
    after = f"{_icon(change.after)} {md_text(change.after)}" if change.after else "gone"
    line = f"- {md_code(change.cell_id)}: {before} → {after}"
    if change.checks:
        line += f"; {verb}: " + ", ".join(md_text(c) for c in change.checks)
    moved = [
        f"{md_text(axis_name(v.package))} {md_text(v.before or 'none')} → "
        f"{md_text(v.after or 'none')}"
        for v in change.versions[:4]
    ]
    if moved:
        more = len(change.versions) - len(moved)
        line += "; changed: " + ", ".join(moved) + (f" and {more} more" if more > 0 else "")
    return line


def _icon(label: str | None) -> str:
    if label is None:
        return ""
    return ICONS.get(label.split(" ")[0], "")


def _all(table: Table) -> list[GridCell]:
    return [cell for cells in table.cells.values() for cell in cells]


def _table(table: Table) -> str:
    title = " · ".join(f"{axis_name(a)} {md_text(s)}" for a, s in table.shared) or "All cells"
    corner = " · ".join(axis_name(a) for a in table.row_axes) or " "
    across = " \N{MULTIPLICATION SIGN} ".join(axis_name(a) for a in table.column_axes)
    header = [corner, *(_column_header(table, c) for c in table.columns)]
    lines = [
        f"## {title}",
        "",
        f"Rows: {corner}; columns: {across}." if across else f"Rows: {corner}.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
    ]
    for row in table.rows:
        label = " · ".join(f"**{md_text(spec)}**" for spec in row) if row else "—"
        cells = [_cell(table.at(row, column)) for column in table.columns]
        lines.append("| " + " | ".join([label, *cells]) + " |")
    return "\n".join(lines)


def _column_header(table: Table, column: tuple[str, ...]) -> str:
    return (
        "<br>".join(
            f"{axis_name(a)} {md_text(s)}" for a, s in zip(table.column_axes, column, strict=True)
        )
        or "verdict"
    )


def _cell(cells: tuple[GridCell, ...]) -> str:
    if not cells:
        return "·"
    return "<br>".join(cell_markdown(c) for c in cells)


def cell_markdown(cell: GridCell) -> str:
    """Icon and short verdict, linked to the log where it is published.

    Where Flask-Admin's own tests ran, their counts follow on a line of their own.
    """
    text = f"{ICONS[cell.verdict]} {md_text(cell.label)}"
    if cell.flaky:
        text += f" {ICONS[FLAKY]} {FLAKY}"
    badge = f"<br>{UPSTREAM_ICON} {md_text(upstream_short(cell.upstream))}" if cell.upstream else ""
    url = safe_link(cell.log.url) if cell.log is not None else None
    if url:
        return f"[{text}]({_url(url)}){badge}"
    # Without a log to link, the end of the log goes in the cell's details below the tables:
    # in the table it would bury the verdicts.
    return text + badge


def _url(url: str) -> str:
    # Angle brackets let a link target hold spaces and parentheses; the characters that could
    # end it early are percent-encoded.
    return "<" + url.replace("<", "%3C").replace(">", "%3E").replace("\n", "") + ">"


def _unplaced(cells: Iterable[GridCell]) -> str:
    lines = [
        "## Cells that could not be placed",
        "",
        "Their result could not be read and their id names versions no other cell has.",
        "",
    ]
    lines += [f"- {md_code(c.cell_id)}: {cell_markdown(c)}" for c in cells]
    return "\n".join(lines)


def _details(cells: Iterable[GridCell]) -> str:
    cells = list(cells)
    troubled = [c for c in cells if c.verdict not in ("compatible", "excluded") or c.flaky]
    excluded = [c for c in cells if c.verdict == "excluded" and not c.flaky]
    if not troubled and not excluded:
        return ""
    parts = ["## Details of every cell that is not plainly compatible"]
    parts += [_detail(c) for c in troubled]
    if excluded:
        parts.append(_excluded(excluded))
    return "\n\n".join(parts)


def _excluded(cells: list[GridCell]) -> str:
    """Excluded cells grouped by their rule: one reason, many cells, said once."""
    by_reason: dict[str, list[str]] = {}
    for cell in cells:
        by_reason.setdefault(first_line(cell.reason), []).append(md_code(cell.cell_id))
    lines = [f"### {ICONS['excluded']} Excluded by the matrix ({len(cells)})", ""]
    lines += [
        f"- {md_text(reason) or 'no reason given'}: {', '.join(ids)}"
        for reason, ids in by_reason.items()
    ]
    return "\n".join(lines)


def _detail(cell: GridCell) -> str:
    lines = [
        f'<a id="{md_text(cell.cell_id)}"></a>',
        f"### {ICONS[cell.verdict]} {md_code(cell.cell_id)}: {md_text(cell.label)}"
        + (f" {ICONS[FLAKY]} {FLAKY}" if cell.flaky else ""),
        "",
    ]
    versions = _versions(cell)
    if versions:
        lines += [versions, ""]
    if cell.verdict == "workaround" and cell.recommended_pattern:
        lines += [f"Works when registered with **{md_text(cell.recommended_pattern)}**.", ""]
    why = first_line(cell.reason)
    if why:
        lines += [f"Why: {md_text(why)}", ""]
    failed = failed_by_check(cell)
    if failed:
        at_fault = failed_surfaces_by_check(cell)
        lines.append("Failed checks:")
        lines += [
            f"- {md_text(surface_label(check, patterns, at_fault.get(check, ())))}"
            + (f": {md_text(msg)}" if msg else "")
            for check, patterns, msg in failed
        ]
        lines.append("")
    if cell.upstream is not None:
        lines += [*_upstream_lines(cell), ""]
    url = safe_link(cell.log.url) if cell.log is not None else None
    if url:
        lines.append(f"[Log]({_url(url)})")
    elif cell.log is not None and cell.log.excerpt:
        lines += ["End of the log:", "", md_code_block("\n".join(cell.log.excerpt))]
    return "\n".join(lines).rstrip()


def _upstream_lines(cell: GridCell) -> list[str]:
    up = cell.upstream
    assert up is not None
    lines = [f"{UPSTREAM_ICON} Flask-Admin's own tests: {md_text(up.status)}, {md_text(up.reason)}"]
    for failure in up.failures[:_UPSTREAM_FAILURES]:
        message = first_line(failure.message)
        message = message if len(message) <= _MESSAGE_CHARS else message[: _MESSAGE_CHARS - 1] + "…"
        lines.append(f"- {md_code(failure.nodeid)}: {md_text(message)}")
    more = up.counts.failed + up.counts.errors - min(len(up.failures), _UPSTREAM_FAILURES)
    if up.status == "ran" and more > 0:
        lines.append(f"- and {more} more (grid.html and grid.json list them)")
    return lines


def _versions(cell: GridCell) -> str:
    shown: list[str] = []
    for axis, spec in cell.requested.items():
        actual = cell.python_version if axis == PYTHON_AXIS else cell.installed.get(axis)
        text = f"{axis_name(axis)} {md_text(actual or spec)}"
        if (
            actual
            and spec not in (actual, "latest")
            and not actual.startswith(spec.removesuffix("*"))
        ):
            text += f" (asked {md_text(spec)})"
        shown.append(text)
    return " · ".join(shown)
