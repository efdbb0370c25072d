"""What changed between neighbouring releases of one package, read from the grid's own cells.

Where the matrix gives every release of a series a cell of its own (``each = "patch"``), two
cells that differ only in that package's exact release are neighbours; when their verdict or a
check differs, the later one is where it changed: ``first bad: flask-admin 2.2.1 (after
2.2.0)``, the same answer ``bisect`` gives, with no cell run again.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from flask_admin_compat.grid.model import GridCell
from flask_admin_compat.matrix.specs import SpecError, parse_spec
from flask_admin_compat.results.compare import differences, signature

FLASK_ADMIN = "flask-admin"
#: Verdicts ordered from best to worst, for telling a regression from a fix.
_RANK = {"compatible": 0, "workaround": 1, "incompatible": 2}
_SHOWN = 3


@dataclass(frozen=True)
class ReleaseChange:
    """The verdict or checks of ``cell`` differ from those at the release before it."""

    package: str
    version: Version
    previous: Version
    previous_cell: str
    changes: tuple[str, ...]
    worse: bool

    def words(self) -> str:
        lead = "first bad" if self.worse else "changed"
        shown = "; ".join(self.changes[:_SHOWN])
        more = len(self.changes) - _SHOWN
        return f"{lead}: {self.package} {self.version} (after {self.previous}): {shown}" + (
            f"; and {more} more" if more > 0 else ""
        )


def release_changes(
    cells: Iterable[GridCell], *, package: str = FLASK_ADMIN
) -> Mapping[str, ReleaseChange]:
    """Cell id to what changed at its release of ``package``, for cells pinning it exactly."""
    groups: dict[tuple[tuple[str, str], ...], list[tuple[Version, GridCell]]] = {}
    for cell in cells:
        version = exact_version(cell.requested.get(package))
        if version is None or cell.unreadable or cell.verdict in ("error", "excluded"):
            continue  # nothing measured: neither a change nor a baseline
        rest = tuple(sorted((a, s) for a, s in cell.requested.items() if a != package))
        groups.setdefault(rest, []).append((version, cell))
    found: dict[str, ReleaseChange] = {}
    for members in groups.values():
        members.sort(key=lambda item: item[0])
        for (before_v, before), (after_v, after) in itertools.pairwise(members):
            if signature(before.result) == signature(after.result):
                continue
            found[after.cell_id] = ReleaseChange(
                package,
                after_v,
                before_v,
                before.cell_id,
                differences(before.result, after.result),
                _worse(before, after),
            )
    return found


def exact_version(spec: str | None) -> Version | None:
    """The release an exact spec names (``2.2.1``); None for a series, ``latest`` or junk."""
    if spec is None:
        return None
    try:
        parsed = parse_spec(spec)
        return Version(parsed.text) if parsed.kind == "exact" else None
    except (SpecError, InvalidVersion):
        return None


def _worse(before: GridCell, after: GridCell) -> bool:
    rank_before, rank_after = _RANK.get(before.verdict), _RANK.get(after.verdict)
    if rank_before is not None and rank_after is not None and rank_after != rank_before:
        return rank_after > rank_before
    passed = {(c.pattern, c.check) for c in before.checks if c.outcome == "passed"}
    return any(
        (c.pattern, c.check) in passed and c.outcome in ("failed", "error") for c in after.checks
    ) or (rank_after is None and rank_before is not None)
