"""``grid.html``: one self-contained page, a pure function of the :class:`Grid`.

No framework and nothing fetched: the style and a small script are inline, and the per-cell
details travel as JSON in a ``<script type="application/json">`` block that the script turns
into DOM nodes with ``textContent``. Every run-made text is escaped on the way in (``html.escape``
for markup, ``<`` ``>`` ``&`` as ``\\u`` escapes inside the JSON), so a message holding
``<script>`` shows as text. Without JavaScript the tables, legend and hover text still work.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from html import escape
from importlib import resources
from typing import Any

from flask_admin_compat.checks.ids import ANY_PATTERN
from flask_admin_compat.grid.cause import Cause
from flask_admin_compat.grid.model import (
    DEPRECATED,
    FLAKY,
    PYTHON_AXIS,
    CellChange,
    Changes,
    Grid,
    GridCell,
    safe_link,
    spec_sort_key,
)
from flask_admin_compat.grid.releases import ReleaseChange, release_changes
from flask_admin_compat.grid.withdrawn import WITHDRAWN
from flask_admin_compat.report.cause_words import (
    anchor,
    choice_words,
    facts,
    headline,
    numbers,
    reproduce_command,
)
from flask_admin_compat.report.choices import what_to_use
from flask_admin_compat.report.markdown import AXIS_NAMES, MEANINGS
from flask_admin_compat.report.view import (
    UPSTREAM_MEANING,
    Table,
    beside,
    cell_surfaces,
    check_order,
    failed_by_check,
    layout,
    pattern_order,
    table_title,
    upstream_failing,
    upstream_tally,
)
from flask_admin_compat.results.model import (
    VERDICTS,
    first_line,
)
from flask_admin_compat.results.release_flags import PRE_RELEASE, RELEASE_FLAGS, UNRELEASED

#: Symbols present in common system fonts (DejaVu), so the page reads the same without colour
#: and without an emoji font.
ICONS: Mapping[str, str] = {
    "compatible": "\N{CHECK MARK}",
    "workaround": "\N{CIRCLE WITH LEFT HALF BLACK}",
    "incompatible": "\N{BALLOT X}",
    "uninstallable": "\N{CIRCLED DIVISION SLASH}",
    "error": "\N{WARNING SIGN}",
    "excluded": "\N{WHITE CIRCLE}",
    FLAKY: "\N{ALMOST EQUAL TO}",
    PRE_RELEASE: "\N{GREEK SMALL LETTER BETA}",
    UNRELEASED: "\N{CONSTRUCTION SIGN}",
    DEPRECATED: "\N{HOURGLASS}",
}
#: Flask-Admin's own tests, beside the verdict: an alembic, which DejaVu Sans has too.
UPSTREAM_ICON = "\N{ALEMBIC}"
#: Beside a cell that installed a release the index no longer lists.
WITHDRAWN_ICON = "\N{NO ENTRY SIGN}"
#: Failures of Flask-Admin's own tests the details list per cell (the page's size grows with
#: them); every one is in grid.json and the cell's upstream-junit.xml.
_UPSTREAM_FAILURES = 30
OUTCOME_CODES: Mapping[str, str] = {"passed": "p", "failed": "f", "error": "e", "skipped": "s"}
_TITLE_CHECKS = 6
_CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
)


@cache
def _static(name: str) -> str:
    """A file from ``static/``, inlined into the page: grid.html must open with no network."""
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def render_html(grid: Grid) -> str:
    """The whole page: header and summary, legend, changes, filters, tables, detail dialog."""
    tables = layout(grid.cells)
    marks = _marks(grid.changes)
    body = [
        _header(grid),
        _what_to_use(grid),
        _causes(grid),
        _changes(grid.changes) if grid.changes is not None else "",
        _filters(grid),
        '<main id="grid">',
        *(_table(t, i, marks) for i, t in enumerate(tables)),
        "</main>",
        '<dialog id="detail" aria-label="Cell details"></dialog>',
        _footer(grid),
        f'<script type="application/json" id="grid-data">{_json_data(grid)}</script>',
        f"<script>{_static('grid.js')}</script>",
    ]
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            # Nothing on this page may load from elsewhere: it is read from CI artifacts and
            # disks, and its data came from runs.
            _CSP,
            "<title>Flask-Admin compatibility grid</title>",
            f"<style>{_static('grid.css')}</style>",
            "</head>",
            "<body>",
            *(part for part in body if part),
            "</body>",
            "</html>",
            "",
        ]
    )


def _header(grid: Grid) -> str:
    counts = grid.counts
    chips = [
        f'<li class="chip v-{v}"><span class="icon" aria-hidden="true">{ICONS[v]}</span>'
        f"<b>{counts[v]}</b> {v}</li>"
        for v in VERDICTS
        if counts[v]
    ]
    if counts[FLAKY]:
        chips.append(
            f'<li class="chip"><span class="icon" aria-hidden="true">{ICONS[FLAKY]}</span>'
            f"<b>{counts[FLAKY]}</b> {FLAKY}</li>"
        )
    run = ""
    if grid.run_started_at and grid.run_finished_at:
        run = f" · cells ran {_e(grid.run_started_at)} to {_e(grid.run_finished_at)}"
    legend = "".join(
        f'<div><dt><span class="chip v-{key}"><span class="icon" aria-hidden="true">'
        f"{ICONS[key]}</span>{key}</span></dt><dd>{_e(MEANINGS[key])}</dd></div>"
        for key in (*VERDICTS, FLAKY)
    )
    tally = upstream_tally(grid.cells)
    upstream = ""
    if tally:
        legend += (
            f'<div><dt><span class="chip"><span class="icon" aria-hidden="true">{UPSTREAM_ICON}'
            f"</span>upstream</span></dt><dd>{_e(UPSTREAM_MEANING)}</dd></div>"
        )
        upstream = f'<p class="meta">{UPSTREAM_ICON} Flask-Admin\'s own tests: {_e(tally)}</p>'
    total = len(grid.cells)
    return (
        "<header>"
        "<h1>Flask-Admin session-scoping compatibility</h1>"
        f'<p class="meta">Merged {_e(grid.generated_at)} by flask-admin-compat '
        f"{_e(grid.harness_version)}{run}</p>"
        f"<p><b>{total} cell{'' if total == 1 else 's'}</b></p>"
        f'<ul class="chips" aria-label="Cells per verdict">{"".join(chips)}</ul>'
        f"{upstream}"
        '<details class="legend-box" open><summary>Legend</summary>'
        f'<dl class="legend">{legend}</dl>'
        '<p class="meta">Hover a cell for its summary; click it for every check, the messages '
        "and its log. Versions are the matrix's specs; the details show what was installed.</p>"
        "</details>"
        "</header>"
    )


def _what_to_use(grid: Grid) -> str:
    """For each install set and Flask-Admin series, the best stack the grid measured."""
    choices = what_to_use(grid)
    if not choices:
        return ""
    named = numbers(grid)
    rows = []
    for choice in choices:
        use = _e(choice_words(choice))
        if choice.cell_id:
            use += f" <code>{_e(choice.cell_id)}</code>"
        if choice.deprecation:
            use += (
                f' <span class="flag" title="{_e(choice.deprecation)}">'
                f"{ICONS[DEPRECATED]} {DEPRECATED}</span>"
            )
        if choice.causes:
            use += ": " + _cause_links([c for c in grid.causes if c.id in choice.causes[:3]], named)
        rows.append(
            f"<tr><td>{_e(choice.install_set)}</td><td>{_e(choice.series)}</td>"
            f'<td><span class="badge v-{_e(choice.verdict)}">{ICONS.get(choice.verdict, "")} '
            f"{_e(choice.verdict)}</span></td><td>{use}</td></tr>"
        )
    return (
        '<section id="what-to-use"><h2>What to use</h2>'
        '<p class="meta">Computed from the cells below: for each backend (or install set) and '
        "Flask-Admin series, the newest stack whose documented registration passes every check; "
        "else the newest workaround, with its pattern; else what stands in the way.</p>"
        "<table><thead><tr><th>Backend</th><th>Flask-Admin</th><th>Verdict</th><th>Use</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _causes(grid: Grid) -> str:
    """Every cause, most cells first: what fails, where, which versions, how to reproduce."""
    if not grid.causes:
        return ""
    items = []
    for number, cause in enumerate(grid.causes, start=1):
        shown = [
            f"<dt>{_e(fact.label)}</dt><dd>"
            + (f'<a href="{_e(fact.link)}">{_e(fact.text)}</a>' if fact.link else _e(fact.text))
            + "</dd>"
            for fact in facts(cause)
        ]
        shown.append(
            f"<dt>Reproduce</dt><dd><code>{_e(reproduce_command(cause))}</code> "
            f"(pins <code>{_e(cause.example)}</code>, pattern {_e(cause.example_pattern)})</dd>"
        )
        items.append(
            f'<li id="{_e(anchor(cause))}"><h3>{number}. <code>{_e(cause.signature)}</code>'
            f'</h3><dl class="cause">{"".join(shown)}</dl></li>'
        )
    return (
        f'<section id="causes"><h2>Causes</h2><p>{_e(headline(grid))}, most cells first.</p>'
        f'<ol class="causes">{"".join(items)}</ol></section>'
    )


def _cause_links(causes: Iterable[Cause], named: Mapping[str, int]) -> str:
    links = [f'<a href="#{_e(anchor(c))}">{named.get(c.id, "?")}</a>' for c in causes]
    return ("cause " if len(links) == 1 else "causes ") + ", ".join(links)


def _changes(changes: Changes) -> str:
    title = f"<h2>Changes since the grid of {_e(changes.previous_generated_at)}</h2>"
    if changes.empty:
        return (
            f'<section class="block changes">{title}'
            "<p>No cell changed its verdict; no cell is new or gone.</p></section>"
        )
    groups = (
        ("regressions", "Regressions", "broke", changes.regressions),
        ("fixes", "Fixes", "now passing", changes.fixes),
        ("other", "Other verdict changes (to or from error or excluded)", "broke", changes.other),
        ("new", "New cells", "", changes.new),
        ("gone", "Cells gone", "", changes.gone),
    )
    parts = [f'<section class="block changes" id="changes">{title}']
    for key, heading, verb, items in groups:
        if not items:
            continue
        lines = "".join(f"<li>{_change_item(c, verb)}</li>" for c in items)
        parts.append(f'<div class="{key}"><h3>{heading} ({len(items)})</h3><ul>{lines}</ul></div>')
    parts.append("</section>")
    return "".join(parts)


def _change_item(change: CellChange, verb: str) -> str:
    before = _e(change.before) if change.before else "new"
    after = _e(change.after) if change.after else "gone"
    # Gone cells are not on the page; the others open their details like a grid cell does.
    name = f"<code>{_e(change.cell_id)}</code>"
    if change.after is not None:
        name = (
            f'<button type="button" class="open" data-open="{_e(change.cell_id)}">{name}</button>'
        )
    text = f"{name}: {before} → {after}"
    if change.checks:
        text += f"; {verb}: " + ", ".join(_e(c) for c in change.checks)
    if change.versions:
        moved = ", ".join(
            f"{_e(AXIS_NAMES.get(v.package, v.package))} {_e(v.before or 'none')} → "
            f"{_e(v.after or 'none')}"
            for v in change.versions[:4]
        )
        more = len(change.versions) - 4
        text += f"; changed: {moved}" + (f" and {more} more" if more > 0 else "")
    return text


def _marks(changes: Changes | None) -> dict[str, tuple[str, str]]:
    """Small markers on cells that changed: what a returning reader looks for first."""
    if changes is None:
        return {}
    marks: dict[str, tuple[str, str]] = {}
    for c in changes.new:
        marks[c.cell_id] = ("new", "new since the previous grid")
    for c in changes.fixes:
        marks[c.cell_id] = ("\N{BLACK UP-POINTING TRIANGLE}", f"fixed: was {c.before}")
    for c in changes.regressions:
        marks[c.cell_id] = ("\N{BLACK DOWN-POINTING TRIANGLE}", f"regressed: was {c.before}")
    return marks


def _filters(grid: Grid) -> str:
    selects = []
    for axis in grid.axes:
        values = sorted(
            {c.requested[axis] for c in grid.cells if axis in c.requested}, key=spec_sort_key
        )
        options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
        selects.append(
            f"<label>{_e(AXIS_NAMES.get(axis, axis))}"
            f'<select data-axis="{_e(axis)}"><option value="">any</option>{options}</select>'
            "</label>"
        )
    verdicts = "".join(f'<option value="{v}">{v}</option>' for v in VERDICTS)
    return (
        '<form id="filters" hidden aria-label="Filter the grid">'
        + "".join(selects)
        + '<label>Verdict<select id="f-verdict"><option value="">any</option>'
        '<option value="not-compatible">anything but compatible</option>'
        f'{verdicts}<option value="flaky">flaky</option>'
        + (
            '<option value="upstream-failing">Flask-Admin\'s own tests failing</option>'
            if any(c.upstream is not None for c in grid.cells)
            else ""
        )
        + "</select></label>"
        '<label>Cell id contains<input id="f-search" type="search" size="16" '
        'placeholder="e.g. admin22"></label>'
        '<button type="reset">Show all</button>'
        '<span id="shown" aria-live="polite"></span>'
        "</form>"
    )


def _table(table: Table, index: int, marks: Mapping[str, tuple[str, str]]) -> str:
    if not (table.shared or table.row_axes or table.column_axes):
        items = "".join(
            f"<li><code>{_e(c.cell_id)}</code>{_button(c, marks)}</li>"
            for cells in table.cells.values()
            for c in cells
        )
        return (
            '<section class="block" data-table><h2>Cells that could not be placed</h2>'
            "<p>Their result could not be read and their id names versions no other cell "
            f'has.</p><ul class="unplaced">{items}</ul></section>'
        )
    title = table_title(table, name=_axis, escape=_e) or "All cells"
    across = " \N{MULTIPLICATION SIGN} ".join(_e(_axis(a)) for a in table.column_axes)
    down = " · ".join(_e(_axis(a)) for a in table.row_axes)
    caption = f"Rows: {down or '—'}; columns: {across or '—'}"
    head = _column_headers(table)
    rows = []
    for row in table.rows:
        label = " · ".join(_e(s) for s in row) or "—"
        tds = []
        for col, column in enumerate(table.columns):
            cells = table.at(row, column)
            if cells:
                inner = "".join(_button(c, marks) for c in cells)
                tds.append(f'<td data-col="{col}">{inner}</td>')
            else:
                tds.append(f'<td class="none" data-col="{col}" title="not in the matrix">·</td>')
        rows.append(
            f'<tr><th scope="row">{_axis_prefix(table.row_axes)}{label}</th>{"".join(tds)}</tr>'
        )
    return (
        f'<section class="block" data-table id="t{index}"><h2>{title}</h2>'
        f'<p class="meta">{caption}</p><div class="table-wrap"><table class="grid">'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _axis(axis: str) -> str:
    return AXIS_NAMES.get(axis, axis)


def _axis_prefix(axes: tuple[str, ...]) -> str:
    return f"{_e(_axis(axes[0]))} " if len(axes) == 1 else ""


def _column_headers(table: Table) -> str:
    """One header row per column axis, each value spanning the columns under it."""
    if not table.column_axes:
        return '<tr><th></th><th data-cols="0">verdict</th></tr>'
    rows = []
    for level, axis in enumerate(table.column_axes):
        ths = [f'<th scope="col">{_e(_axis(axis))}</th>']
        runs: list[tuple[tuple[str, ...], list[int]]] = []
        for col, column in enumerate(table.columns):
            prefix = column[: level + 1]
            if runs and runs[-1][0] == prefix:
                runs[-1][1].append(col)
            else:
                runs.append((prefix, [col]))
        for prefix, cols in runs:
            ths.append(
                f'<th scope="col" colspan="{len(cols)}" data-cols="{" ".join(map(str, cols))}">'
                f"{_e(prefix[-1])}</th>"
            )
        rows.append(f"<tr>{''.join(ths)}</tr>")
    return "".join(rows)


def _button(cell: GridCell, marks: Mapping[str, tuple[str, str]]) -> str:
    # The verdict on the first line; what qualifies it (flaky, unreadable) on a small second
    # one, so that every column stays as narrow as its longest verdict word.
    notes = []
    if cell.unreadable:
        notes.append(_e(cell.label.partition(" ")[2].strip("()")))
    if cell.flaky:
        notes.append(f'<span title="{_e(MEANINGS[FLAKY])}">{ICONS[FLAKY]} {FLAKY}</span>')
    notes += [
        f'<span title="{_e(MEANINGS[flag])}">{ICONS[flag]} {flag}</span>'
        for flag in RELEASE_FLAGS
        if flag in cell.flags
    ]
    if cell.deprecation:
        notes.append(
            f'<span title="{_e(cell.deprecation)}">{ICONS[DEPRECATED]} {DEPRECATED}</span>'
        )
    if cell.withdrawn:
        gone = f"installed, since yanked or removed: {', '.join(cell.withdrawn)}"
        notes.append(f'<span title="{_e(gone)}">{WITHDRAWN_ICON} {WITHDRAWN}</span>')
    if cell.upstream is not None:
        failing = " up-failing" if upstream_failing(cell) else ""
        said = cell.upstream.reason
        if cell.upstream.status != "ran":  # a reason, not counts: say what it explains
            said = f"{cell.upstream.status}: {said}"
        notes.append(
            f'<span class="up{failing}" title="Flask-Admin&#x27;s own tests: {_e(said)}">'
            f"{UPSTREAM_ICON} {_e(_upstream_badge(cell))}</span>"
        )
    sub = f"<small>{' · '.join(notes)}</small>" if notes else ""
    mark = ""
    if cell.cell_id in marks:
        symbol, why = marks[cell.cell_id]
        mark = f'<span class="mark" title="{_e(why)}">{_e(symbol)}</span>'
    return (
        f'<button type="button" class="cell v-{cell.verdict}" data-cell="{_e(cell.cell_id)}" '
        f'data-verdict="{cell.verdict}" title="{_e(hover_text(cell))}">'
        f'<span class="icon" aria-hidden="true">{ICONS[cell.verdict]}</span>'
        f'<span class="word">{_e(cell.verdict)}{sub}</span>{mark}</button>'
    )


def _upstream_badge(cell: GridCell) -> str:
    """``194 ✓`` or ``42 ✓ 18 ✗``: as narrow as the verdict word above it (the title has words)."""
    up = cell.upstream
    assert up is not None
    if up.status != "ran":
        return up.status
    bad = up.counts.failed + up.counts.errors
    return f"{up.counts.passed} \N{CHECK MARK}" + (f" {bad} \N{BALLOT X}" if bad else "")


def hover_text(cell: GridCell) -> str:
    """What a cell says on hover, without JavaScript: verdict, why, and the failed checks."""
    lines = [f"{cell.cell_id}: {cell.label}" + (" (flaky)" if cell.flaky else "")]
    if cell.recommended_pattern and cell.verdict == "workaround":
        lines.append(f"works with: {cell.recommended_pattern}")
    if cell.deprecation:
        lines.append(f"deprecated: {cell.deprecation}")
    if cell.withdrawn:
        lines.append(f"{WITHDRAWN} since it ran: {', '.join(cell.withdrawn)}")
    if cell.reason:
        lines.append(first_line(cell.reason))
    failed = failed_by_check(cell)
    for check in failed[:_TITLE_CHECKS]:
        lines.append(f"✗ {check.label}" + (f": {check.message}" if check.message else ""))
    if len(failed) > _TITLE_CHECKS:
        lines.append(f"… and {len(failed) - _TITLE_CHECKS} more failed checks")
    if cell.upstream is not None:
        lines.append(f"Flask-Admin's own tests: {first_line(cell.upstream.reason)}")
    lines.append("Click for every check and the log.")
    return "\n".join(line[:300] for line in lines)


def _footer(grid: Grid) -> str:
    return (
        "<footer><noscript><p>Filters and the per-check details need JavaScript; hover a cell "
        "for its summary. Every detail is also in grid.json.</p></noscript>"
        f"<p>{len(grid.cells)} cells · grid.json holds the same data for tools.</p></footer>"
    )


# -- the data the script reads ------------------------------------------------------------------


def _json_data(grid: Grid) -> str:
    checks = check_order(grid.cells)
    patterns = pattern_order(grid.cells)
    changed = release_changes(grid.cells)
    data = {
        "checks": list(checks),
        "anyPattern": ANY_PATTERN,
        "icons": dict(ICONS),
        "upstreamIcon": UPSTREAM_ICON,
        "axisNames": dict(AXIS_NAMES),
        "cells": [_cell_data(c, checks, patterns, changed) for c in grid.cells],
        # Each cell's causes as [number, anchor, signature], by cell id: only cells with some.
        "causes": _causes_by_cell(grid),
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Inside <script>, only "</script" or "<!--" could end the block early; escaping every
    # <, > and & keeps the JSON identical and leaves nothing to interpret.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _causes_by_cell(grid: Grid) -> dict[str, list[list[Any]]]:
    found: dict[str, list[list[Any]]] = {}
    for number, cause in enumerate(grid.causes, start=1):
        for cell_id in cause.cells:
            found.setdefault(cell_id, []).append([number, anchor(cause), cause.signature])
    return found


def _cell_data(
    cell: GridCell,
    checks: tuple[str, ...],
    patterns: tuple[str, ...],
    changed: Mapping[str, ReleaseChange] | None = None,
) -> Any:
    outcomes: dict[tuple[str, str], str] = {
        (c.pattern, c.check): OUTCOME_CODES[c.outcome] for c in cell.checks
    }
    ran = [p for p in patterns if any(c.pattern == p for c in cell.checks)]
    grid_rows = [[p, "".join(outcomes.get((p, ch), ".") for ch in checks)] for p in ran]
    # The surfaces a check failed on ride last, and only where there are some.
    messages = [
        [c.pattern, c.check, c.outcome, list(c.attempts), c.message]
        + ([list(c.failed_surfaces)] if c.failed_surfaces else [])
        for c in _noteworthy(cell)
    ]
    exercised, missing = cell_surfaces(cell)
    installed = {
        axis: (cell.python_version if axis == PYTHON_AXIS else cell.installed.get(axis)) or ""
        for axis in cell.requested
    }
    return {
        "id": cell.cell_id,
        "verdict": cell.verdict,
        "label": cell.label,
        "flaky": cell.flaky,
        "reason": cell.reason,
        "pattern": cell.recommended_pattern if cell.verdict == "workaround" else None,
        "deprecation": cell.deprecation,
        "firstBad": changed[cell.cell_id].words() if changed and cell.cell_id in changed else None,
        "requested": dict(cell.requested),
        "installed": installed,
        "beside": list(beside(cell)),  # an install set's extra packages: not under test
        "o": grid_rows,
        "m": messages,
        "log": _log_data(cell),
        "durations": _durations(cell.durations),
        "result": cell.result_path,
        "up": _upstream_data(cell),
        "surfaces": {"exercised": list(exercised), "na": missing},
    }


def _upstream_data(cell: GridCell) -> dict[str, Any] | None:
    up = cell.upstream
    if up is None:
        return None
    shown = up.failures[:_UPSTREAM_FAILURES]
    note = []
    if up.flask_admin:
        note.append(f"Flask-Admin {up.flask_admin}'s tests")
    if up.added:
        note.append(
            "test dependencies beside the pins: "
            + ", ".join(f"{name} {version}" for name, version in up.added.items())
        )
    note += list(up.selection)
    return {
        "status": up.status,
        "reason": up.reason,
        "failing": upstream_failing(cell),
        "failures": [[f.nodeid, f.outcome, f.message] for f in shown],
        "more": max(0, up.counts.failed + up.counts.errors - len(shown))
        if up.status == "ran"
        else 0,
        "junit": up.junit,
        "note": "; ".join(note),
    }


def _log_data(cell: GridCell) -> dict[str, Any] | None:
    # The log's last lines only where there is no link: they are the biggest part of the page.
    if cell.log is None:
        return None
    url = safe_link(cell.log.url)
    if url:
        return {"path": cell.log.path, "url": url, "excerpt": []}
    return {"path": cell.log.path, "url": None, "excerpt": list(cell.log.excerpt)}


def _noteworthy(cell: GridCell) -> Iterable[Any]:
    """Checks worth a message line: not passed, or passed only on a re-run."""
    return [c for c in cell.checks if c.outcome != "passed" or c.flaky or c.message]


def _durations(durations: Mapping[str, float]) -> str:
    if not durations:
        return ""
    total = durations.get("total")
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in durations.items() if k != "total")
    head = f"Took {total:.1f} s" if total is not None else "Took"
    return f"{head} ({parts})" if parts else head
