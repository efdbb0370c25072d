"""What both renderers show: tables laid out from the grid, labels, orderings, upstream words.

Markdown and HTML differ only in how they write these; the choices live here once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_admin_compat.checks.ids import ANY_PATTERN, PATTERN_IDS
from flask_admin_compat.grid.model import (
    COLUMN_AXES,
    ROW_AXES,
    FailedCheck,
    GridCell,
    SpecKey,
    axis_order,
    group_failures,
    spec_sort_key,
)
from flask_admin_compat.matrix.cells import prefix
from flask_admin_compat.matrix.matrix import BACKENDS
from flask_admin_compat.matrix.specs import SpecError, parse_spec
from flask_admin_compat.results.model import (
    UpstreamResult,
    check_rank,
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
    #: Shared axes an install set puts beside the backend under test (not tested themselves).
    beside: tuple[str, ...] = ()

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


def beside(cell: GridCell) -> tuple[str, ...]:
    """The axes a cell's install set puts beside the backend under test; none for most cells.

    A lite cell with Flask-SQLAlchemy installed beside it requests both backends' packages, so
    its axes alone cannot say which one the suite tests. Its id does: matrix/cells.py joins what
    an install set adds to the backend's own part (``-lite02fsa31``), never a part of its own.
    Where the id says nothing (a cell named otherwise), the order of its axes does: a cell
    requests its backend before what the set puts beside it.
    """
    fragments = {axis: _id_fragment(axis, spec) for axis, spec in cell.requested.items()}
    parts = cell.cell_id.split("-")
    backends = [a for a in cell.requested if a in BACKENDS]
    for backend in backends:
        own = fragments[backend]
        joined = next((p for p in parts if own and p.startswith(own) and p != own), None)
        if joined is not None:
            rest = joined[len(own) :]
            return tuple(a for a, f in fragments.items() if a != backend and f and f in rest)
    if any(fragments[b] and fragments[b] in parts for b in backends):
        return ()  # the id names each backend as a part of its own: nothing is beside
    return tuple(backends[1:])


def _id_fragment(axis: str, spec: str) -> str:
    try:
        return prefix(axis) + parse_spec(spec).id_fragment
    except SpecError:  # a spec no matrix could hold: it names no part of an id
        return ""


def table_title(table: Table, *, name: Callable[[str], str], escape: Callable[[str], str]) -> str:
    """``Python 3.12 · Database sqlite · Flask-SQLAlchemy 3.1.*``, in the renderer's escaping.

    An install set's table names the backend under test and what is installed beside it:
    ``Flask-SQLAlchemy-Lite 0.2.* under test, with Flask-SQLAlchemy 3.1.* installed beside``.
    """

    def words(axis: str, spec: str) -> str:
        return f"{escape(name(axis))} {escape(spec)}"

    extra = [words(a, s) for a, s in table.shared if a in table.beside]
    shown = []
    for axis, spec in table.shared:
        if axis in table.beside:
            continue
        text = words(axis, spec)
        if extra and axis in BACKENDS:
            text += f" under test, with {', '.join(extra)} installed beside"
        shown.append(text)
    return " · ".join(shown)


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
    extra = {axis for cell in members for axis in beside(cell)}
    set_aside = tuple(a for a, _ in shared if a in extra)
    return Table(shared, row_axes, column_axes, tuple(rows), tuple(columns), placed, set_aside)


def _specs_key(specs: tuple[str, ...]) -> tuple[SpecKey, ...]:
    return tuple(spec_sort_key(s) for s in specs)


def _table_key(table: Table, order: tuple[str, ...]) -> tuple[Any, ...]:
    # Unplaced cells last; otherwise by axis (Python first) and then by version. What an install
    # set puts beside its backend sorts last, so that its table follows the backend's own.
    def key(pairs: Iterable[tuple[str, str]]) -> tuple[Any, ...]:
        return tuple((order.index(axis), spec_sort_key(spec)) for axis, spec in pairs)

    return (
        not table.shared,
        key((a, s) for a, s in table.shared if a not in table.beside),
        key((a, s) for a, s in table.shared if a in table.beside),
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


def failed_by_check(cell: GridCell) -> tuple[FailedCheck, ...]:
    """The cell's failed checks grouped by check id, in the suite's order."""
    return group_failures(cell.failed_checks)


#: Shown instead of the list when a check failed on every surface it exercised.
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
