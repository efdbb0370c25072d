"""Typed builders of the harness's model, for every test that needs one: one place, no copies.

Each takes only what a test cares about and fills the rest with plain, valid values, so that a
test reads as the one thing it varies. Also the paths tests share (never ``from conftest``).
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from packaging.version import Version

from flask_admin_compat.checks.ids import Outcome
from flask_admin_compat.grid.model import Changes, Grid, GridCell, LogRef
from flask_admin_compat.matrix.index import IndexSnapshot, Release
from flask_admin_compat.results.model import (
    CellResult,
    CheckOutcome,
    PythonInfo,
    UpstreamResult,
    Verdict,
)

PROJECT_ROOT = Path(__file__).parents[2]
RESOURCES = Path(__file__).parent / "resources"

GENERATED_AT = "2025-06-01T12:00:00+00:00"
HARNESS_VERSION = "0.1.0"


def make_outcome(
    check: str,
    outcome: Outcome = "passed",
    *,
    pattern: str = "db-at-setup",
    message: str = "",
    duration_s: float = 0.1,
    attempts: tuple[Outcome, ...] | None = None,
    nodeid: str = "",
    surfaces: tuple[str, ...] = (),
    failed_surfaces: tuple[str, ...] = (),
    surfaces_na: Mapping[str, str] | None = None,
) -> CheckOutcome:
    """One pattern x check outcome; its attempts default to the one outcome."""
    return CheckOutcome(
        pattern,
        check,
        outcome,
        message,
        duration_s,
        attempts or (outcome,),
        nodeid,
        surfaces=surfaces,
        failed_surfaces=failed_surfaces,
        surfaces_na=dict(surfaces_na or {}),
    )


def make_result(
    cell_id: str = "py312-flask31-admin22-sqla20-fsa31",
    *,
    requested: Mapping[str, str] | None = None,
    verdict: Verdict = "compatible",
    reason: str = "the documented pattern (db-at-setup) passes every check",
    python: PythonInfo | None = None,
    installed: Mapping[str, str] | None = None,
    checks: tuple[CheckOutcome, ...] = (),
    recommended_pattern: str | None = None,
    flags: tuple[str, ...] = (),
    durations: Mapping[str, float] | None = None,
    started_at: str = "2026-11-25T06:00:00+00:00",
    finished_at: str = "2026-11-25T06:00:09+00:00",
    fingerprint: str = "abc",
    harness_version: str = HARNESS_VERSION,
    log: str | None = "log.txt",
    upstream: UpstreamResult | None = None,
) -> CellResult:
    """A valid cell result; every field a test does not name has a plain default."""
    requested = dict(requested or {"python": "3.12", "flask": "3.1.*"})
    return CellResult(
        cell_id=cell_id,
        requested=requested,
        python=python or PythonInfo(requested.get("python", "3.12")),
        verdict=verdict,
        reason=reason,
        started_at=started_at,
        finished_at=finished_at,
        fingerprint=fingerprint,
        harness_version=harness_version,
        installed=dict(installed or {}),
        recommended_pattern=recommended_pattern,
        flags=flags,
        checks=checks,
        durations=dict(durations or {}),
        log=log,
        upstream=upstream,
    )


def make_grid_cell(
    cell_id: str,
    requested: Mapping[str, str],
    verdict: Verdict = "compatible",
    *,
    reason: str = "",
    result_path: str = "r",
    log: LogRef | None = None,
    unreadable: str | None = None,
    python_version: str | None = None,
    installed: Mapping[str, str] | None = None,
    checks: tuple[CheckOutcome, ...] = (),
    recommended_pattern: str | None = None,
    flags: tuple[str, ...] = (),
    durations: Mapping[str, float] | None = None,
    started_at: str | None = None,
    finished_at: str | None = None,
    harness_version: str | None = None,
    fingerprint: str | None = None,
    upstream: UpstreamResult | None = None,
) -> GridCell:
    """A grid cell as the merge makes it: a result, where it was found, and its log."""
    result = CellResult(
        cell_id=cell_id,
        requested=dict(requested),
        python=PythonInfo(requested.get("python", ""), python_version),
        verdict=verdict,
        reason=reason,
        started_at=started_at or "",
        finished_at=finished_at or "",
        fingerprint=fingerprint or "",
        harness_version=harness_version or "",
        installed=dict(installed or {}),
        recommended_pattern=recommended_pattern,
        flags=flags,
        checks=checks,
        durations=dict(durations or {}),
        upstream=upstream,
    )
    return GridCell(result, result_path, log=log, unreadable=unreadable)


def make_grid(*cells: GridCell, changes: Changes | None = None) -> Grid:
    """A grid of these cells, as merged at one fixed moment."""
    return Grid(GENERATED_AT, HARNESS_VERSION, cells, changes=changes)


def make_snapshot(**packages: list[str]) -> IndexSnapshot:
    """The index's release lists, by package (``flask_admin=[...]`` for flask-admin)."""
    return IndexSnapshot(
        "http://index",
        datetime(2026, 1, 1, tzinfo=UTC),
        {
            name.replace("_", "-"): tuple(Release(Version(v), None) for v in versions)
            for name, versions in packages.items()
        },
    )


#: A matrix of four cells for the runs on release: Flask 3.0.* and 3.1.* x Flask-Admin 2.1.0
#: (an exact pin, which no new release touches) and 2.2.*.
RELEASE_MATRIX = """
[axes]
python = ["3.12"]
flask = ["3.0.*", "3.1.*"]
flask-admin = ["2.1.0", "2.2.*"]
sqlalchemy = ["2.0.*"]

[backends]
flask-sqlalchemy = ["3.1.*"]
"""
UPLOADED = "2026-01-01T00:00:00+00:00"


def index_releases() -> dict[str, list[tuple[str, str]]]:
    """What a local index lists for RELEASE_MATRIX's packages, before any new release."""
    return {
        "flask": [("3.0.3", UPLOADED), ("3.1.2", UPLOADED)],
        "flask-admin": [("2.1.0", UPLOADED), ("2.2.1", UPLOADED)],
        "sqlalchemy": [("2.0.40", UPLOADED)],
        "flask-sqlalchemy": [("3.1.1", UPLOADED)],
    }


# -- unreleased builds: a real Flask-Admin wheel, re-packed (and patched) as a maintainer would

#: A scoping fault baked into Flask-Admin 2.2.1 (``flask_admin/contrib/sqla/_compat.py``): every
#: view keeps the first Session it resolves, for good, on every surface that queries through
#: ``_get_deprecated_session``: list, details, create, edit, delete, export.
KEEPS_FIRST_SESSION = """

_first_session_of = {}
_resolve_session = _get_deprecated_session


def _get_deprecated_session(session):  # the fault: the first Session resolved, kept for good
    if session is None:
        return None
    if id(session) not in _first_session_of:
        resolved = _resolve_session(session)
        if isinstance(resolved, sqlalchemy.orm.scoping.scoped_session):
            resolved = resolved()
        _first_session_of[id(session)] = resolved
    return _first_session_of[id(session)]
"""
FAULTY_MODULE = "flask_admin/contrib/sqla/_compat.py"


def repack_wheel(
    source: Path, folder: Path, *, patches: Mapping[str, Callable[[str], str]] | None = None
) -> Path:
    """``source`` re-zipped into ``folder`` under its own name, files patched, RECORD rewritten.

    The result is a valid wheel with the same name and version as the release, and different
    bytes where a patch changed a file: what a maintainer's local build of a fix looks like.
    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    patches = dict(patches or {})
    records: list[str] = []
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        names = old.namelist()
        (record,) = [n for n in names if n.endswith(".dist-info/RECORD")]
        for name in names:
            if name == record:
                continue
            data = old.read(name)
            if name in patches:
                data = patches.pop(name)(data.decode("utf-8")).encode("utf-8")
            new.writestr(name, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(f"{name},sha256={digest.decode()},{len(data)}")
        new.writestr(record, "\n".join([*records, f"{record},,"]) + "\n")
    assert not patches, f"not in the wheel: {sorted(patches)}"
    return target


#: A one-cell matrix of Flask-Admin 2.2 over Flask-SQLAlchemy, for the e2e tests' projects.
STAND_IN_MATRIX = """
[settings]
timeout = 600
[axes]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.*"]
sqlalchemy = ["2.0.*"]
[backends]
flask-sqlalchemy = ["3.1.*"]
"""
#: A stand-in for the scoping suite: every check passes once ``STARTUP`` (the startup check's
#: body, indented four spaces) has run.
_STAND_IN_SUITE = """
import os, time
import pytest
CHECKS = ["construct", "per-request", "teardown", "isolation-after-error", "concurrency", "fresh-reads", "crud"]
PATTERNS = ["session-at-setup", "db-at-setup", "in-app-context", "lazy-proxy"]

def test_stack_starts(record_property):
    record_property("check", "startup"); record_property("pattern", "*")
STARTUP

@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("check", CHECKS)
def test_check(check, pattern, record_property):
    record_property("check", check); record_property("pattern", pattern)
"""


def stand_in_project(folder: Path, *, startup: str, matrix: str = STAND_IN_MATRIX) -> Path:
    """A project in ``folder`` whose tests/scoping is the stand-in suite, and its matrix.toml.

    The stand-in reports through the engine's records plugin, as the scoping suite does.
    """
    suite = folder / "tests" / "scoping"
    suite.mkdir(parents=True)
    ini = f"[pytest]\npythonpath = {PROJECT_ROOT / 'src'}\naddopts = -p flask_admin_compat.checks.records\n"
    (suite / "pytest.ini").write_text(ini, encoding="utf-8")
    body = _STAND_IN_SUITE.replace("STARTUP", startup)
    (suite / "test_stand_in.py").write_text(body, encoding="utf-8")
    (folder / "matrix.toml").write_text(matrix, encoding="utf-8")
    return folder
