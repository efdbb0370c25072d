"""The committed release lists behind ``each`` specs, and the offline listing built on them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.version import Version

from flask_admin_compat.jsonio import write_text_atomic
from flask_admin_compat.matrix.cells import Cell, expand, needs_index, wants_prereleases
from flask_admin_compat.matrix.index import IndexSnapshot
from flask_admin_compat.matrix.matrix import Matrix, MatrixError

SERIES_CACHE = "series-cache.json"


def series_cache_for(matrix: Matrix) -> Path:
    """The committed release-list cache belongs beside the matrix file it serves."""
    return matrix.path.resolve().parent / SERIES_CACHE


@dataclass(frozen=True)
class SeriesCache:
    """Release lists for ``each`` axes, committed so that listing stays offline."""

    fetched_at: datetime
    releases: dict[str, list[Version]]

    def age_days(self, now: datetime) -> float:
        return (now - self.fetched_at).total_seconds() / 86400


def read_series_cache(path: Path) -> SeriesCache | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SeriesCache(
            datetime.fromisoformat(data["fetched_at"]),
            {name: [Version(v) for v in versions] for name, versions in data["releases"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_series_cache(path: Path, matrix: Matrix, snapshot: IndexSnapshot) -> bool:
    """Refresh the committed cache from a fresh snapshot; True when its content changed."""
    packages = needs_index(matrix)
    if not packages:
        return False
    # Pre-releases only where an axis asks for them: each new beta would otherwise change
    # the committed file for nothing. Yanked releases are not in the snapshot at all.
    pre = set(wants_prereleases(matrix))
    releases = {
        p: [str(v) for v in snapshot.versions(p) if p in pre or not v.is_prerelease]
        for p in packages
    }
    previous = read_series_cache(path)
    if (
        previous is not None
        and {k: [str(v) for v in vs] for k, vs in previous.releases.items()} == releases
    ):
        return False
    payload = {
        "fetched_at": snapshot.fetched_at.isoformat(timespec="seconds"),
        "releases": releases,
    }
    write_text_atomic(path, json.dumps(payload, indent=1) + "\n")
    return True


def list_cells(matrix: Matrix, *, series_cache: Path) -> tuple[list[Cell], list[str]]:
    """Every cell, offline; the notes say when a cached release list was used and how old."""
    packages = needs_index(matrix)
    if not packages:
        return expand(matrix), []
    cache = read_series_cache(series_cache)
    if cache is None or not set(packages) <= set(cache.releases):
        raise MatrixError(
            matrix.path,
            packages[0],
            "each",
            f"no cached release list in {series_cache.name}; run `nox -s matrix` once online",
        )
    age = cache.age_days(datetime.now(UTC))
    notes = [
        f"{series_cache.name}: minor series as of {cache.fetched_at:%Y-%m-%d} ({age:.0f} days old)"
    ]
    return expand(matrix, releases=cache.releases), notes
