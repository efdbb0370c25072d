"""What both renderers show: tables laid out from the grid, labels, orderings, upstream words.

Markdown and HTML differ only in how they write these; the choices live here once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from flask_admin_compat.grid.diff import check_label
from flask_admin_compat.grid.model import COLUMN_AXES, ROW_AXES, GridCell, axis_order, spec_sort_key
from flask_admin_compat.results.model import (
    ANY_PATTERN,
    PATTERN_IDS,
    CheckOutcome,
    UpstreamResult,
    check_rank,
    first_line,
)


@dataclass(frozen=True)
class Table:
    """One table of the grid: the axis values it shares, its rows, columns and cells."""

    shared: tuple[tuple[str, str], ...]  # (axis, spec) every cell of the table has
    row_axes: tuple[str, ...]
    column_axes: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    columns: tuple[tuple[str, ...], ...]
    cells: Mapping[tuple[tuple[str, ...], tuple[str, ...]], tuple[GridCell, ...]]

    def at(self, row: tuple[str, ...], column: tuple[str, ...]) -> tuple[GridCell, ...]:
        return self.cells.get((row, column), ())


def layout(cells: Sequence[GridCell]) -> tuple[Table, ...]:
    """Arrange cells into tables: one per value of every axis that is not a row or a column.

    With today's axes that is one table per Python and backend version, Flask-Admin down the
    side and Flask x SQLAlchemy across; a new axis (``wtforms``, ``database``) adds tables
    rather than being dropped. Cells with no axis values at all (unreadable and unplaceable)
    form one last table with no axes, which renderers show as a list.
    """
    order = axis_order(cells)
    groups: dict[tuple[tuple[str, str], ...], list[GridCell]] = {}
    for cell in cells:
        shared = tuple(
            (axis, cell.requested[axis])
            for axis in order
            if axis in cell.requested and axis not in ROW_AXES and axis not in COLUMN_AXES
        )
        groups.setdefault(shared, []).append(cell)
    tables = [_table(shared, members) for shared, members in groups.items()]
    tables.sort(key=lambda t: _table_key(t, order))
    return tuple(tables)


def _table(shared: tuple[tuple[str, str], ...], members: list[GridCell]) -> Table:
    row_axes = tuple(a for a in ROW_AXES if any(a in c.requested for c in members))
    column_axes = tuple(a for a in COLUMN_AXES if any(a in c.requested for c in members))
    placed: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[GridCell, ...]] = {}
    for cell in members:
        row = tuple(cell.requested.get(a, "?") for a in row_axes)
        column = tuple(cell.requested.get(a, "?") for a in column_axes)
        placed[(row, column)] = (*placed.get((row, column), ()), cell)
    rows = sorted({row for row, _ in placed}, key=_specs_key)
    columns = sorted({column for _, column in placed}, key=_specs_key)
    return Table(shared, row_axes, column_axes, tuple(rows), tuple(columns), placed)


def _specs_key(specs: tuple[str, ...]) -> tuple[tuple[int, Version | str], ...]:
    return tuple(spec_sort_key(s) for s in specs)


def _table_key(table: Table, order: tuple[str, ...]) -> tuple[Any, ...]:
    # Unplaced cells last; otherwise by axis (Python first) and then by version.
    return (
        not table.shared,
        tuple((order.index(axis), spec_sort_key(spec)) for axis, spec in table.shared),
    )


#: What the upstream badge means, for both renderers' legends.
UPSTREAM_MEANING = (
    "Flask-Admin's own SQLAlchemy tests (flask_admin/tests/sqla, shipped in its wheel) run in "
    "the same stack: how many passed and failed, or n/a where they cannot run there (the details "
    "say why). A second opinion beside the verdict, never part of it: upstream's fixtures hold "
    "one app context around each whole test, so they cannot see per-request scoping bugs."
)


def upstream_short(upstream: UpstreamResult) -> str:
    """What fits beside a verdict: ``194 passed``, ``42 passed, 18 failed``, ``n/a``, ``error``."""
    if upstream.status != "ran":
        return upstream.status
    counts = upstream.counts
    parts = [f"{counts.passed} passed"]
    if counts.failed:
        parts.append(f"{counts.failed} failed")
    if counts.errors:
        parts.append(f"{counts.errors} error" + ("s" if counts.errors != 1 else ""))
    return ", ".join(parts)


def upstream_failing(cell: GridCell) -> bool:
    """Whether Flask-Admin's own tests ran here and some failed or errored."""
    up = cell.upstream
    return up is not None and up.status == "ran" and bool(up.counts.failed or up.counts.errors)


def upstream_tally(cells: Iterable[GridCell]) -> str:
    """``ran in 3 (1 with failures), n/a in 2``; empty when no cell ran them."""
    with_upstream = [c for c in cells if c.upstream is not None]
    if not with_upstream:
        return ""
    statuses = Counter(c.upstream.status for c in with_upstream if c.upstream is not None)
    failing = sum(1 for c in with_upstream if upstream_failing(c))
    parts = []
    if statuses["ran"]:
        parts.append(
            f"ran in {statuses['ran']}" + (f" ({failing} with failures)" if failing else "")
        )
    parts += [f"{s} in {statuses[s]}" for s in ("n/a", "error") if statuses[s]]
    return ", ".join(parts)


def failed_by_check(cell: GridCell) -> list[tuple[str, tuple[str, ...], str]]:
    """Failed checks grouped by check id: (check, patterns it failed under, first message)."""
    grouped: dict[str, list[CheckOutcome]] = {}
    for outcome in cell.failed_checks:
        grouped.setdefault(outcome.check, []).append(outcome)
    return [
        (
            check,
            tuple(o.pattern for o in outcomes),
            next((first_line(o.message) for o in outcomes if o.message.strip()), ""),
        )
        for check, outcomes in sorted(grouped.items(), key=lambda kv: check_rank(kv[0]))
    ]


#: Shown instead of the list when a check failed on every surface it exercised.
EVERY_SURFACE = "every surface"


def failed_surfaces_by_check(cell: GridCell) -> dict[str, tuple[str, ...]]:
    """The surfaces each failed check found at fault, over every pattern it failed under.

    In the order the suite exercised them; ``every surface`` when that is all of them.
    """
    found: dict[str, dict[str, None]] = {}
    exercised: dict[str, dict[str, None]] = {}
    for outcome in cell.failed_checks:
        found.setdefault(outcome.check, {}).update(dict.fromkeys(outcome.failed_surfaces))
        exercised.setdefault(outcome.check, {}).update(dict.fromkeys(outcome.surfaces))
    labels: dict[str, tuple[str, ...]] = {}
    for check, names in found.items():
        order = list(exercised[check])
        ranked = sorted(names, key=lambda n: order.index(n) if n in order else len(order))
        if len(order) > 3 and set(order) <= set(ranked):
            labels[check] = (EVERY_SURFACE,)
        elif ranked:
            labels[check] = tuple(ranked)
    return labels


def surface_label(check: str, patterns: Iterable[str], surfaces: Sequence[str]) -> str:
    """``per-request (ajax lookup) with db-at-setup``; without surfaces, as ``check_label``."""
    if not surfaces:
        return check_label(check, patterns)
    named = [p for p in dict.fromkeys(patterns) if p != ANY_PATTERN]
    label = f"{check} ({', '.join(surfaces)})"
    return f"{label} with {', '.join(named)}" if named else label


def cell_surfaces(cell: GridCell) -> tuple[tuple[str, ...], dict[str, str]]:
    """Every surface the cell's checks exercised, and those its Flask-Admin lacks (why)."""
    exercised = dict.fromkeys(name for c in cell.checks for name in c.surfaces)
    missing: dict[str, str] = {}
    for outcome in cell.checks:
        for name, why in outcome.surfaces_na.items():
            missing.setdefault(name, why)
    return tuple(exercised), missing


def pattern_order(cells: Iterable[GridCell]) -> tuple[str, ...]:
    """Every pattern that ran, the stack-wide ``*`` first, then the suite's own order."""
    seen = {c.pattern for cell in cells for c in cell.checks}
    known = [p for p in (ANY_PATTERN, *PATTERN_IDS) if p in seen]
    return (*known, *sorted(seen - set(known)))


def check_order(cells: Iterable[GridCell]) -> tuple[str, ...]:
    """Every check that ran: the stack-wide startup first, then the suite's order, then others."""
    seen = {c.check for cell in cells for c in cell.checks}
    return tuple(sorted(seen, key=check_rank))
