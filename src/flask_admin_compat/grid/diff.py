"""What changed between two grids: regressions, fixes, other changes, new and gone cells."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from flask_admin_compat.grid.model import (
    PYTHON_AXIS,
    CellChange,
    Changes,
    FailedCheck,
    Grid,
    GridCell,
    VersionChange,
    group_failures,
)

#: Verdicts ordered by how well a stack works, for telling regressions from fixes; error and
#: excluded say nothing about compatibility, so a change to or from them is neither.
_RANK: Mapping[str, int] = {"compatible": 2, "workaround": 1, "incompatible": 0, "uninstallable": 0}


def diff(previous: Grid, current: Grid) -> Changes:
    """Compare two grids cell by cell: regressions, fixes, other changes, new and gone cells.

    A regression is a cell whose verdict got worse among compatible > workaround >
    incompatible/uninstallable: the stack stopped working, or its workaround did. A change to or
    from ``error`` or ``excluded`` is listed apart, because it says nothing about the stack.
    """
    before = {c.cell_id: c for c in previous.cells}
    after = {c.cell_id: c for c in current.cells}
    regressions: list[CellChange] = []
    fixes: list[CellChange] = []
    other: list[CellChange] = []
    for cell_id in sorted(before.keys() & after.keys()):
        old, new = before[cell_id], after[cell_id]
        if old.label == new.label:
            continue
        old_rank, new_rank = _RANK.get(old.label), _RANK.get(new.label)
        if old_rank is not None and new_rank is not None and new_rank < old_rank:
            regressions.append(_change(old, new, broken=True))
        elif old_rank is not None and new_rank is not None and new_rank > old_rank:
            fixes.append(_change(old, new, broken=False))
        else:
            other.append(_change(old, new, broken=True))
    new_cells = tuple(
        CellChange(i, None, after[i].label) for i in sorted(after.keys() - before.keys())
    )
    gone = tuple(CellChange(i, before[i].label, None) for i in sorted(before.keys() - after.keys()))
    return Changes(
        previous.generated_at, tuple(regressions), tuple(fixes), tuple(other), new_cells, gone
    )


def _change(old: GridCell, new: GridCell, *, broken: bool) -> CellChange:
    worse, better = (old, new) if broken else (new, old)
    return CellChange(
        old.cell_id,
        old.label,
        new.label,
        checks=newly_failing(worse, better),
        versions=version_changes(old, new),
    )


def newly_failing(before: GridCell, after: GridCell) -> tuple[str, ...]:
    """Checks that passed in ``before`` and fail in ``after``, as ``check (patterns)``."""
    return tuple(failed.label for failed in broken_checks(before, after))


def broken_checks(before: GridCell, after: GridCell) -> tuple[FailedCheck, ...]:
    """Checks that passed in ``before`` and fail in ``after``, grouped by check."""
    passed = {c.key for c in before.checks if c.outcome == "passed"}
    return group_failures(o for o in after.failed_checks if o.key in passed)


def version_changes(old: GridCell, new: GridCell) -> tuple[VersionChange, ...]:
    """Installed versions that differ: Python and the axis packages first, then the rest."""
    changes: list[VersionChange] = []
    if old.python_version != new.python_version and old.python_version and new.python_version:
        changes.append(VersionChange(PYTHON_AXIS, old.python_version, new.python_version))
    axes = [a for a in (*new.requested, *old.requested) if a != PYTHON_AXIS]
    names = list(dict.fromkeys((*axes, *sorted(old.installed.keys() | new.installed.keys()))))
    for name in names:
        was, now = old.installed.get(name), new.installed.get(name)
        if was != now and (old.installed and new.installed):
            changes.append(VersionChange(name, was, now))
    return tuple(changes)


def with_changes(grid: Grid, previous: Grid | None) -> Grid:
    return replace(grid, changes=diff(previous, grid) if previous is not None else None)
