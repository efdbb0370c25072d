"""From matrix.toml to the cells to run: expansion, index checks, fingerprints, freshness.

Listing (``nox -l``) uses :func:`list_cells`, which never touches the network; running uses
:func:`plan_run`, which asks the index once per package and decides which cells are stale.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.version import Version

from flask_admin_compat.cells import Cell, expand, needs_index, select
from flask_admin_compat.freshness import fingerprint, text_hash, tree_hash
from flask_admin_compat.index import IndexSnapshot
from flask_admin_compat.matrix import (
    PYTHON,
    SCOPING,
    SUITES,
    UPSTREAM,
    EachMinor,
    Matrix,
    MatrixError,
)
from flask_admin_compat.results import (
    RESULT_FILE,
    CellResult,
    ResultError,
    read_result,
    write_text_atomic,
)
from flask_admin_compat.runner import SUITE_REQUIREMENTS
from flask_admin_compat.specs import VersionSpec

SERIES_CACHE = "series-cache.json"


def series_cache_for(matrix: Matrix) -> Path:
    """The committed release-list cache belongs beside the matrix file it serves."""
    return matrix.path.resolve().parent / SERIES_CACHE


@dataclass(frozen=True)
class SeriesCache:
    """Release lists for ``each = "minor"`` axes, committed so that listing stays offline."""

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
    releases = {p: [str(v) for v in snapshot.versions(p) if not v.is_prerelease] for p in packages}
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
            "each = minor",
            f"no cached release list in {series_cache.name}; run `nox -s matrix` once online",
        )
    age = cache.age_days(datetime.now(UTC))
    notes = [
        f"{series_cache.name}: minor series as of {cache.fetched_at:%Y-%m-%d} ({age:.0f} days old)"
    ]
    return expand(matrix, releases=cache.releases), notes


def check_against_index(
    matrix: Matrix, snapshot: IndexSnapshot, *, exclude_newer: datetime | None
) -> list[str]:
    """Specs that name no release on the index, one line each naming file, key and value."""
    problems = []
    for name, values in (*matrix.axes, *matrix.backends):
        if name == PYTHON:
            continue
        versions = snapshot.versions(name, exclude_newer=exclude_newer)
        if not versions:
            problems.append(f"{matrix.path}: axes.{name}: no release of {name} on the index")
            continue
        for i, value in enumerate(values):
            if isinstance(value, VersionSpec) and not any(value.admits(v) for v in versions):
                problems.append(
                    f"{matrix.path}: {name}[{i}] = {value.text!r}: no such release on the index"
                )
            elif isinstance(value, EachMinor) and not any(v >= value.floor for v in versions):
                problems.append(f"{matrix.path}: {name}[{i}]: no release since {value.floor}")
    for include in matrix.includes:
        for name, spec in include.values:
            versions = snapshot.versions(name, exclude_newer=exclude_newer)
            if name != PYTHON and not any(spec.admits(v) for v in versions):
                problems.append(
                    f"{matrix.path}: include[{include.index}].{name} = {spec.text!r}: "
                    "no such release on the index"
                )
    return problems


def fingerprints(
    cells: Sequence[Cell],
    *,
    snapshot: IndexSnapshot,
    suite: str,
    suite_dir: Path,
    exclude_newer: datetime | None,
    pytest_args: Sequence[str],
) -> dict[str, str]:
    """Each cell's freshness key; the index digest covers only that cell's own packages."""
    suite_hash = tree_hash(suite_dir)
    return {
        cell.id: _cell_fingerprint(
            cell,
            snapshot=snapshot,
            suite=suite,
            suite_hash=suite_hash,
            exclude_newer=exclude_newer,
            pytest_args=pytest_args,
        )
        for cell in cells
    }


def _cell_fingerprint(
    cell: Cell,
    *,
    snapshot: IndexSnapshot,
    suite: str,
    suite_hash: str,
    exclude_newer: datetime | None,
    pytest_args: Sequence[str],
) -> str:
    """One cell's freshness key; the index digest covers only the cell's own packages."""
    return fingerprint(
        cell_id=cell.id,
        requirements=(*cell.requirements, *SUITE_REQUIREMENTS),
        python=cell.python.text,
        suite=suite,
        suite_hash=suite_hash,
        index_digest=snapshot.digest([n for n, _ in cell.packages], exclude_newer=exclude_newer),
        exclude_newer=exclude_newer.isoformat() if exclude_newer else None,
        pytest_args=pytest_args,
    )


def upstream_fingerprints(
    cells: Sequence[Cell],
    *,
    snapshot: IndexSnapshot,
    deps_text: str,
    exclude_newer: datetime | None,
    postgres: bool,
) -> dict[str, str]:
    """Each cell's freshness key for Flask-Admin's own tests, apart from the scoping suite's.

    Its "suite" is the dependency data (the tests themselves ship inside the Flask-Admin that
    the cell's pins choose, which the index digest covers). Releases of the test dependencies
    are not tracked: a new arrow or sqlalchemy-utils alone does not make a result stale.
    Whether PostgreSQL tests run is part of the key; the server's address is not.
    """
    deps_hash = text_hash(deps_text)
    return {
        cell.id: _cell_fingerprint(
            cell,
            snapshot=snapshot,
            suite=UPSTREAM,
            suite_hash=deps_hash,
            exclude_newer=exclude_newer,
            pytest_args=("postgres",) if postgres else (),
        )
        for cell in cells
    }


def suites_to_run(
    previous: CellResult | None, *, expected: Mapping[str, str], excluded: bool
) -> tuple[str, ...]:
    """The requested suites (``expected``: suite to fingerprint) whose earlier outcome is stale.

    Freshness is per suite, so a cell whose scoping result stands and that is now asked for
    upstream too runs upstream alone, and the other way round. A cell with no usable verdict
    (never run, or excluded then and not now, or the reverse) runs the scoping suite as well,
    whatever was asked: a result is a verdict first.
    """
    usable = previous is not None and (previous.verdict == "excluded") == excluded
    if previous is None or not usable:
        stale = set(expected) | {SCOPING}
    else:
        stale = {s for s, key in expected.items() if not _stands(previous, s, key)}
    return tuple(s for s in SUITES if s in stale)


def _stands(previous: CellResult, suite: str, key: str) -> bool:
    if suite == SCOPING:
        return previous.fingerprint == key and previous.verdict != "error"
    if previous.verdict == "excluded":  # nothing of upstream's runs in an excluded cell
        return True
    upstream = previous.upstream
    return upstream is not None and upstream.fingerprint == key and upstream.status != "error"


def stale_suites(cell_dir: Path, expected: Mapping[str, str], *, excluded: bool) -> tuple[str, ...]:
    """:func:`suites_to_run` against the result on disk (none when it is missing or unreadable)."""
    try:
        previous: CellResult | None = read_result(cell_dir / RESULT_FILE)
    except ResultError:
        previous = None
    return suites_to_run(previous, expected=expected, excluded=excluded)


def choose(cells: Sequence[Cell], *, keyword: str | None, names: Sequence[str] = ()) -> list[Cell]:
    """Cells picked by ``-k`` and by exact ids, in matrix order."""
    picked = select(cells, keyword=keyword)
    if names:
        wanted = set(names)
        unknown = wanted - {c.id for c in cells}
        if unknown:
            raise MatrixError("matrix.toml", "cell", min(unknown), "no such cell in the matrix")
        picked = [c for c in picked if c.id in wanted]
    return picked
