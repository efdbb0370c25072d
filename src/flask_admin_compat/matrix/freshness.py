"""When a cell's earlier result still stands: same specs, same suite, same index listing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from flask_admin_compat import __version__
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.index import IndexSnapshot
from flask_admin_compat.matrix.matrix import SCOPING, SUITE_REQUIREMENTS, SUITES, UPSTREAM
from flask_admin_compat.results.model import RESULT_FILE, CellResult, ResultError, read_result

_IGNORED_PARTS = frozenset({"__pycache__", ".pytest_cache"})


def tree_hash(*roots: Path) -> str:
    """A hash of every file under the ``roots`` (names and bytes), caches left out.

    A suite is its folder and the engine of checks it runs (``flask_admin_compat.checks``):
    a change to either makes its results stale.
    """
    digest = hashlib.sha256()
    for number, root in enumerate(roots):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            relative = path.relative_to(root)
            if _IGNORED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
                continue
            name = relative.as_posix() if number == 0 else f"{number}/{relative.as_posix()}"
            digest.update(name.encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def text_hash(text: str) -> str:
    """A hash of one file's text, for a suite defined by data rather than a folder of tests."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(
    *,
    cell_id: str,
    requirements: Sequence[str],
    python: str,
    suite: str,
    suite_hash: str,
    index_digest: str,
    exclude_newer: str | None,
    pytest_args: Sequence[str],
    timeout_s: float | None = None,
    harness_version: str = __version__,
) -> str:
    """The freshness key of one cell run: any change to an input makes a new key.

    The timeout counts (a verdict reached in 60 s says nothing of what 900 s would find),
    and so does the harness's own version (another harness judges otherwise).
    """
    payload = {
        "cell": cell_id,
        "requirements": list(requirements),
        "python": python,
        "suite": suite,
        "suite_hash": suite_hash,
        "index": index_digest,
        "exclude_newer": exclude_newer,
        "pytest_args": list(pytest_args),
        "timeout_s": timeout_s,
        "harness": harness_version,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def fingerprints(
    cells: Sequence[Cell],
    *,
    snapshot: IndexSnapshot,
    suite: str,
    suite_dir: Path,
    exclude_newer: datetime | None,
    pytest_args: Sequence[str],
    timeout_s: float | None = None,
    engine_dir: Path | None = None,
) -> dict[str, str]:
    """Each cell's freshness key; the index digest covers only that cell's own packages."""
    suite_hash = tree_hash(suite_dir, *([engine_dir] if engine_dir is not None else []))
    return {
        cell.id: _cell_fingerprint(
            cell,
            snapshot=snapshot,
            suite=suite,
            suite_hash=suite_hash,
            exclude_newer=exclude_newer,
            pytest_args=pytest_args,
            timeout_s=timeout_s,
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
    timeout_s: float | None,
) -> str:
    """One cell's freshness key; the index digest covers only the cell's own packages."""
    return fingerprint(
        cell_id=cell.id,
        requirements=(*cell.requirements, *SUITE_REQUIREMENTS),
        python=cell.python.text,
        suite=suite,
        suite_hash=suite_hash,
        # Only the releases each spec admits: a new 3.1.3 changes the 3.1.* cells, not the
        # 3.0.* ones; a build's own package is no index release, so none of them.
        index_digest=snapshot.admitted_digest(
            [(n, s) for n, s in cell.packages if s.build is None], exclude_newer=exclude_newer
        ),
        exclude_newer=exclude_newer.isoformat() if exclude_newer else None,
        pytest_args=pytest_args,
        timeout_s=timeout_s,
    )


def upstream_fingerprints(
    cells: Sequence[Cell],
    *,
    snapshot: IndexSnapshot,
    deps_text: str,
    exclude_newer: datetime | None,
    postgres: bool,
    timeout_s: float | None = None,
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
            timeout_s=timeout_s,
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
