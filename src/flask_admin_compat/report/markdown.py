"""``grid.md``: the grid as GitHub shows it, a pure function of the :class:`Grid`.

Every text that came from a run (reasons, messages, versions, log lines, even folder names)
goes through :func:`md_text` or a code fence sized to its content, so a message can neither
break a table nor smuggle in HTML, links or mentions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from flask_admin_compat.grid.cause import Cause
from flask_admin_compat.grid.model import (
    DEPRECATED,
    FLAKY,
    CellChange,
    Changes,
    FailedCheck,
    Grid,
    GridCell,
    safe_link,
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
from flask_admin_compat.report.view import (
    UPSTREAM_MEANING,
    Table,
    failed_by_check,
    layout,
    table_title,
    upstream_short,
    upstream_tally,
)
from flask_admin_compat.results.model import VERDICTS, first_line
from flask_admin_compat.results.release_flags import PRE_RELEASE, RELEASE_FLAGS, UNRELEASED

ICONS: Mapping[str, str] = {
    "compatible": "✅",
    "workaround": "🔧",
    "incompatible": "❌",
    "uninstallable": "📦",
    "error": "⚠️",
    "excluded": "\N{HEAVY MINUS SIGN}",
    FLAKY: "🎲",
    DEPRECATED: "⏳",
    PRE_RELEASE: "🅿️",
    UNRELEASED: "🚧",
}
#: Flask-Admin's own tests, beside the verdict (never one of the verdicts above).
UPSTREAM_ICON = "🧪"
#: Beside a cell that installed a release the index no longer lists.
WITHDRAWN_ICON = "🚫"
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
    DEPRECATED: "the pattern that works makes Flask-Admin warn it is deprecated (its words in "
    "the details): it may stop working in a coming release",
    PRE_RELEASE: "a package of the cell installed a pre-release: never offered as the stack to use",
    UNRELEASED: "the cell installed an unreleased build (a path or a git ref in matrix.toml): "
    "never offered as the stack to use",
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

# grid.md must stay under 500 KB, past which GitHub stops rendering it. The detail lines share
# _DETAILS_BYTES and the changes lines _CHANGES_BYTES, each line at most its cap, so that a big
# or hostile grid shortens its lines rather than grow the file; the tables (some 70 KB for 450
# cells) and the rest take what is left. Bytes of Markdown as written, escapes included.
_DETAILS_BYTES = 285_000
_CHANGES_BYTES = 60_000
# What to use and the causes open the page: a row or a cause each, within these.
_CHOICES_BYTES = 12_000
_CHOICE_BYTES = 700
_CAUSES_BYTES = 25_000
_LINE_BYTES = 900
_CHANGE_BYTES = 500
_LINE_LEAST = 200  # for grids far past the default matrix's size: they may pass 500 KB
_LABEL_BYTES = 200  # a check, its patterns and (soon) the surfaces it failed on
_WHY_BYTES = 110
_WHY_LEAST = 24  # below this a why says nothing: the labels are shown alone
_REASON_BYTES = 300
_SEP = " · "

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


#: One escape or one plain character of md_text's output, so a cut never splits an escape.
_PIECE = re.compile(r"&#\d+;|.", flags=re.DOTALL)


def md_size(text: str) -> int:
    """Bytes of ``text`` in the UTF-8 file: what GitHub's size limit counts."""
    return len(text.encode())


def md_cut(text: str, limit: int) -> str:
    """:func:`md_text`, cut to at most ``limit`` bytes of UTF-8 (an ellipsis marks a cut)."""
    escaped = md_text(text)
    if md_size(escaped) <= limit:
        return escaped
    kept: list[str] = []
    room = limit - md_size("…")
    for piece in _PIECE.findall(escaped):
        room -= md_size(piece)
        if room < 0:
            break
        kept.append(piece)
    return "".join(kept).rstrip() + "…"


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
        _what_to_use(grid),
        _causes(grid),
    ]
    if grid.changes is not None:
        parts.append(_changes(grid.changes))
    parts.append(_legend(upstream=any(c.upstream is not None for c in grid.cells)))
    tables = layout(grid.cells)
    parts.extend(_table(t) for t in tables if t.shared or t.row_axes or t.column_axes)
    unplaced = [c for t in tables if not (t.shared or t.row_axes or t.column_axes) for c in _all(t)]
    if unplaced:
        parts.append(_unplaced(unplaced))
    parts.append(_details(grid.cells, grid))
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


def _what_to_use(grid: Grid) -> str:
    """For each install set and Flask-Admin series, the best stack the grid measured.

    Each row in at most its share of ``_CHOICES_BYTES``: a grid with hundreds of install sets
    and series shortens its rows rather than grow past GitHub's limit.
    """
    choices = what_to_use(grid)
    if not choices:
        return ""
    named = numbers(grid)
    lines = [
        "## What to use",
        "",
        (
            "Computed from the cells below: for each backend (or install set) and Flask-Admin "
            "series, the newest stack whose documented registration passes every check; else "
            "the newest workaround, with its pattern; else what stands in the way."
        ),
        "",
        "| Backend | Flask-Admin | Verdict | Use |",
        "| --- | --- | --- | --- |",
    ]
    cap = line_budget(_CHOICES_BYTES, len(choices), _CHOICE_BYTES)
    for choice in choices:
        head = (
            f"| {md_cut(choice.install_set, cap // 5)} | {md_cut(choice.series, cap // 10)} | "
            f"{ICONS.get(choice.verdict, '')} {md_cut(choice.verdict, cap // 10)} | "
        )
        notes = [choice_words(choice)]
        if choice.cell_id:
            notes.append(f"({choice.cell_id})")
        if choice.deprecation:
            notes.append(f"{ICONS[DEPRECATED]} {DEPRECATED}: {choice.deprecation}")
        links = _cause_links(tuple(c for c in grid.causes if c.id in choice.causes[:3]), named)
        room = cap - md_size(head) - md_size(links) - 4
        share = max(_WHY_LEAST, room // len(notes))
        words = " ".join(md_cut(note, share) for note in notes)
        lines.append(head + words + (f": {links}" if links else "") + " |")
    return "\n".join(lines)


def _causes(grid: Grid) -> str:
    """Every cause: what fails, where, in which versions, since when, and how to reproduce it.

    In at most ``_CAUSES_BYTES``: the causes that do not fit are counted (grid.json and
    grid.html list every one), so that a grid of many unrelated failures cannot grow past
    GitHub's limit.
    """
    if not grid.causes:
        return ""
    lines = ["## Causes", "", md_text(headline(grid)) + ", most cells first.", ""]
    used = md_size("\n".join(lines))
    for number, cause in enumerate(grid.causes, start=1):
        block = _cause_block(number, cause)
        if used + md_size(block) > _CAUSES_BYTES:
            rest = len(grid.causes) - number + 1
            lines.append(f"And {rest} more causes: `grid.json` and `grid.html` list every one.")
            break
        lines.append(block)
        used += md_size(block) + 1
    return "\n".join(lines).rstrip()


def _shortened(text: str, limit: int) -> str:
    """Plain text cut to ``limit`` characters, for a code span (which escapes nothing)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _cause_block(number: int, cause: Cause) -> str:
    """One cause's heading and facts, each fact cut to its cap."""
    lines = [
        (
            f'### <a id="{md_text(anchor(cause))}"></a>{number}. '
            f"{md_code(_shortened(cause.signature, _LABEL_BYTES))}"
        ),
        "",
    ]
    for fact in facts(cause):
        text = md_cut(fact.text, _REASON_BYTES)
        shown = f"[{text}]({_url(fact.link)})" if fact.link else text
        lines.append(f"- **{md_text(fact.label)}:** {shown}")
    lines.append(
        f"- **Reproduce:** {md_code(reproduce_command(cause))} "
        f"(pins {md_code(cause.example)}, pattern {md_text(cause.example_pattern)})"
    )
    lines.append("")
    return "\n".join(lines)


def _cause_links(causes: Sequence[Cause], named: Mapping[str, int]) -> str:
    """``causes 3, 7``, each number linked to its cause's section."""
    if not causes:
        return ""
    links = ", ".join(f"[{named.get(c.id, '?')}](#{md_text(anchor(c))})" for c in causes)
    return ("cause " if len(causes) == 1 else "causes ") + links


def _legend(*, upstream: bool = False) -> str:
    rows = [f"| {ICONS[key]} | {key} | {MEANINGS[key]} |" for key in (*VERDICTS, FLAKY, DEPRECATED)]
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
                "Each cell links to its log where the log is published; `grid.html` shows "
                "every log's last lines. Versions are the matrix's specs (`3.1.*` is the newest "
                "3.1 release that installed); `grid.json` has the exact versions installed."
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
    budget = line_budget(_CHANGES_BYTES, sum(len(items) for _, _, items in groups), _CHANGE_BYTES)
    for title, verb, items in groups:
        if items:
            lines += ["", f"### {title} ({len(items)})", ""]
            lines += [_change_line(c, verb, budget=budget) for c in items]
    return "\n".join(lines)


def _change_line(change: CellChange, verb: str, *, budget: int = _CHANGE_BYTES) -> str:
    before = f"{_icon(change.before)} {md_text(change.before)}" if change.before else "new"
    after = f"{_icon(change.after)} {md_text(change.after)}" if change.after else "gone"
    line = f"- {md_code(change.cell_id)}: {before} → {after}"
    moved = [
        f"{md_text(axis_name(v.package))} {md_text(v.before or 'none')} → "
        f"{md_text(v.after or 'none')}"
        for v in change.versions[:4]
    ]
    changed = ""
    if moved:
        more = len(change.versions) - len(moved)
        changed = "; changed: " + ", ".join(moved) + (f" and {more} more" if more > 0 else "")
    if change.checks:
        # A release that breaks every check of every pattern must not make a page of one line.
        lead = f"; {verb}: "
        room = budget - md_size(line + lead + changed)
        checks = [md_cut(c, _LABEL_BYTES) for c in change.checks]
        line += lead + fit(checks, room, noun="check", sep=", ")
    return line + changed


def _icon(label: str | None) -> str:
    if label is None:
        return ""
    return ICONS.get(label.split(" ")[0], "")


def _all(table: Table) -> list[GridCell]:
    return [cell for cells in table.cells.values() for cell in cells]


def _table(table: Table) -> str:
    title = table_title(table, name=axis_name, escape=md_text) or "All cells"
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


def release_marks(cell: GridCell) -> str:
    """`` 🚧 unreleased``, `` 🅿️ pre-release``: what no user installs from the index as it is."""
    return "".join(f" {ICONS[flag]} {flag}" for flag in RELEASE_FLAGS if flag in cell.flags)


def cell_markdown(cell: GridCell) -> str:
    """Icon and short verdict, linked to the log where it is published.

    Where Flask-Admin's own tests ran, their counts follow on a line of their own.
    """
    text = f"{ICONS[cell.verdict]} {md_text(cell.label)}"
    if cell.flaky:
        text += f" {ICONS[FLAKY]} {FLAKY}"
    if cell.deprecation:
        text += f" {ICONS[DEPRECATED]} {DEPRECATED}"
    text += release_marks(cell)
    if cell.withdrawn:
        text += f" {WITHDRAWN_ICON} {WITHDRAWN}"
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


def line_budget(total: int, lines: int, cap: int) -> int:
    """Bytes one of ``lines`` lines may take so that all of them fit ``total``."""
    return max(_LINE_LEAST, min(cap, total // max(1, lines)))


def _details(cells: Iterable[GridCell], grid: Grid | None = None) -> str:
    cells = list(cells)
    troubled = [
        c for c in cells if c.verdict not in ("compatible", "excluded") or c.flaky or c.withdrawn
    ]
    excluded = [c for c in cells if c.verdict == "excluded" and not c.flaky]
    if not troubled and not excluded:
        return ""
    parts = [
        "## Details of every cell that is not plainly compatible",
        (
            "One line a cell: its verdict, and each failed check with the first line of why, "
            "cut short. Every message in full, the log's last lines and Flask-Admin's own "
            "failing tests are in `grid.html` and `grid.json`."
        ),
    ]
    changed = release_changes(cells)
    budget = line_budget(_DETAILS_BYTES, len(troubled), _LINE_BYTES)
    if troubled:
        named = numbers(grid) if grid is not None else {}
        parts.append(
            "\n".join(
                detail_line(
                    c,
                    changed.get(c.cell_id),
                    budget=budget,
                    causes=_cause_links(grid.causes_of(c.cell_id), named) if grid else "",
                )
                for c in troubled
            )
        )
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


def detail_line(
    cell: GridCell,
    changed: ReleaseChange | None = None,
    *,
    budget: int = _LINE_BYTES,
    causes: str = "",
) -> str:
    """One list item for a cell that is not plainly compatible, in about ``budget`` bytes.

    Its id (also an anchor), verdict and flags, the pattern that works and Flask-Admin's
    deprecation words, the release where its answer changed, then every failed check's label
    with the first line of its why, the whys cut shorter the more checks failed; where no check
    failed, the first line of the cell's reason (a resolver's message, the harness's error).
    Labels that do not fit are counted, never dropped silently.
    """
    line = f'- <a id="{md_text(cell.cell_id)}"></a>{ICONS[cell.verdict]} {md_code(cell.cell_id)} '
    line += md_text(cell.label) + (f" {ICONS[FLAKY]} {FLAKY}" if cell.flaky else "")
    line += release_marks(cell)
    url = safe_link(cell.log.url) if cell.log is not None else None
    if url:
        line += f"; [log]({_url(url)})"
    if causes:
        line += f"; {causes}"
    failed = failed_by_check(cell)
    # (words around it, run text), in the order they are worth room; "{}" is where it goes.
    texts: list[tuple[str, str]] = []
    if cell.verdict == "workaround" and cell.recommended_pattern:
        texts.append(("works with **{}**", cell.recommended_pattern))
    if cell.deprecation:
        # Beside the working pattern: a workaround Flask-Admin will remove is no lasting answer.
        texts.append((f"{ICONS[DEPRECATED]} {DEPRECATED}: {{}}", cell.deprecation))
    if cell.withdrawn:
        texts.append(
            (f"{WITHDRAWN_ICON} {WITHDRAWN} since it ran: {{}}", ", ".join(cell.withdrawn))
        )
    if changed is not None:
        texts.append(("{}", changed.words()))
    if not failed and cell.first_line:
        texts.append(("{}", cell.first_line))
    for words, text in texts:
        # Each note gets its cap, or an even share of what is left beside the failed checks.
        share = (budget - md_size(line)) // (len(texts) + (2 if failed else 0))
        share -= md_size(words) + 2
        line += "; " + words.format(md_cut(text, min(_REASON_BYTES, share)) if share > 0 else "…")
    return line + _failed_checks(failed, budget - md_size(line))


def _failed_checks(failed: tuple[FailedCheck, ...], room: int) -> str:
    """``; failed: label: why · label: why`` in at most ``room`` bytes."""
    if not failed:
        return ""
    lead, colon = "; failed: ", ": "
    labels = [md_cut(check.label, _LABEL_BYTES) for check in failed]
    fixed = md_size(lead) + sum(map(md_size, labels)) + md_size(_SEP) * (len(labels) - 1)
    # Every label first: the whys share what room is left, each at most _WHY_BYTES.
    why_room = min(_WHY_BYTES, (room - fixed) // len(labels) - md_size(colon))
    items = [
        f"{label}{colon}{md_cut(check.message, why_room)}"
        if check.message and why_room >= _WHY_LEAST
        else label
        for label, check in zip(labels, failed, strict=True)
    ]
    return lead + fit(items, room - md_size(lead), noun="failed check")


def fit(items: Sequence[str], room: int, *, noun: str, sep: str = _SEP) -> str:
    """``items`` joined, as many as fit in ``room`` bytes, then ``and 3 more {noun}s``."""
    text = ""
    for shown, item in enumerate(items):
        tail = item if shown == 0 else sep + item
        after = len(items) - shown - 1
        reserve = md_size(f"{sep}and {after} more {noun}s") if after else 0
        if md_size(text + tail) + reserve > room:
            rest = len(items) - shown
            more = f"and {rest} more {noun}" + ("s" if rest > 1 else "")
            return text + sep + more if shown else more
        text += tail
    return text
