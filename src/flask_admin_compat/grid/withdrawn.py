"""Releases a grid cell installed that the index no longer lists: yanked or removed since.

A cell's result stands for the run that made it; the release it installed may be yanked
later (the issue's 2.2.1). The grid says so beside the cell, from the run's own look at the
index, so that nobody reads a verdict about a release that can no longer be installed as a
verdict about one that can.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from packaging.version import InvalidVersion, Version

from flask_admin_compat.grid.model import Grid, GridCell

#: The grid's word for such a cell.
WITHDRAWN = "yanked"


def flag_withdrawn(grid: Grid, listed: Mapping[str, Collection[str]]) -> Grid:
    """The grid with each cell's releases that ``listed`` (package to versions) lacks."""
    return replace(grid, cells=tuple(_flagged(cell, listed) for cell in grid.cells))


def _flagged(cell: GridCell, listed: Mapping[str, Collection[str]]) -> GridCell:
    gone = tuple(
        f"{name} {version}"
        for name, version in sorted(cell.installed.items())
        if name in listed and not _listed(version, listed[name])
    )
    return replace(cell, withdrawn=gone) if gone != cell.withdrawn else cell


def _listed(version: str, versions: Collection[str]) -> bool:
    try:
        wanted = Version(version)
        return any(Version(v) == wanted for v in versions)
    except InvalidVersion:
        return version in versions
