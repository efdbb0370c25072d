"""The per-cell result model, its JSON form, and the one place that reads and writes it.

Every writer and reader goes through :func:`write_result` and :func:`read_result`, which
validate against ``schema/result-v1.schema.json``, so a file on disk is either a valid result
or a reported error, never something half-understood.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from flask_admin_compat.checks import ids
from flask_admin_compat.checks.ids import CHECK_IDS, Outcome
from flask_admin_compat.jsonio import (
    FileProblem,
    read_document,
    schema_problem,
    write_text_atomic,
)

# 1.1 added the optional `upstream` object (Flask-Admin's own tests); 1.2 the optional surface
# evidence of each check (`surfaces`, `failed_surfaces`, `surfaces_na`); 1.3 the optional
# `builds` (unreleased builds installed). Older files still read.
SCHEMA_VERSION = "1.3"
RESULT_FILE = "result.json"
RESULT_SCHEMA = "result-v1"
JUNIT_FILE = "junit.xml"
#: The suite's records, one JSON line per check as it started and ended (crash-safe).
RECORDS_FILE = "records.jsonl"
LOG_FILE = "log.txt"

Verdict = Literal["compatible", "workaround", "incompatible", "uninstallable", "error", "excluded"]
VERDICTS: tuple[Verdict, ...] = (
    "compatible",
    "workaround",
    "incompatible",
    "uninstallable",
    "error",
    "excluded",
)


@dataclass(frozen=True)
class PythonInfo:
    requested: str
    version: str | None = None
    executable: str | None = None


@dataclass(frozen=True)
class CellResult:
    """Everything one cell ran, installed and concluded."""

    cell_id: str
    requested: Mapping[str, str]
    python: PythonInfo
    verdict: Verdict
    reason: str
    started_at: str
    finished_at: str
    fingerprint: str
    harness_version: str
    suite: str = "scoping"
    installed: Mapping[str, str] = field(default_factory=dict)
    recommended_pattern: str | None = None
    flags: tuple[str, ...] = ()
    checks: tuple[CheckOutcome, ...] = ()
    durations: Mapping[str, float] = field(default_factory=dict)
    log: str | None = None
    upstream: UpstreamResult | None = None  # Flask-Admin's own tests; never part of the verdict
    # With the flag "deprecated": the DeprecationWarning Flask-Admin gave while the recommended
    # pattern was built or served, e.g. "... will be removed in version 3.0".
    deprecation: str | None = None
    # Package to the unreleased build installed for it (label, path + sha256, or git + commit).
    builds: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


class ResultError(FileProblem):
    """A result file that cannot be read or does not match the schema."""


def to_json_dict(result: CellResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "harness_version": result.harness_version,
        "cell_id": result.cell_id,
        "suite": result.suite,
        "requested": dict(result.requested),
        "python": {
            "requested": result.python.requested,
            "version": result.python.version,
            "executable": result.python.executable,
        },
        "installed": dict(sorted(result.installed.items())),
        "verdict": result.verdict,
        "reason": result.reason,
        "recommended_pattern": result.recommended_pattern,
        "flags": list(result.flags),
        "checks": [c.to_json() for c in result.checks],
        "durations": dict(result.durations),
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "fingerprint": result.fingerprint,
        "log": result.log,
    }
    if result.upstream is not None:  # absent, not null, where it never ran: as 1.0 wrote it
        data["upstream"] = upstream_to_json(result.upstream)
    if result.deprecation is not None:  # absent where there is none, as earlier files are
        data["deprecation"] = result.deprecation
    if result.builds:
        data["builds"] = {name: dict(record) for name, record in result.builds.items()}
    return data


def from_json_dict(data: dict[str, Any]) -> CellResult:
    validate(data)
    return CellResult(
        cell_id=data["cell_id"],
        requested=dict(data["requested"]),
        python=PythonInfo(**data["python"]),
        verdict=data["verdict"],
        reason=data["reason"],
        started_at=data["started_at"],
        finished_at=data["finished_at"],
        fingerprint=data["fingerprint"],
        harness_version=data["harness_version"],
        suite=data["suite"],
        installed=dict(data["installed"]),
        recommended_pattern=data.get("recommended_pattern"),
        flags=tuple(data["flags"]),
        checks=tuple(CheckOutcome.from_json(c) for c in data["checks"]),
        durations=dict(data["durations"]),
        log=data.get("log"),
        upstream=upstream_from_json(data["upstream"]) if "upstream" in data else None,
        deprecation=data.get("deprecation"),
        builds={name: dict(record) for name, record in data.get("builds", {}).items()},
    )


def validate(data: object) -> None:
    """Raise :class:`ResultError` naming the first field that breaks the schema."""
    problem = schema_problem(data, RESULT_SCHEMA)
    if problem is not None:
        where = "/".join(str(p) for p in problem.path) or "(top level)"
        raise ResultError(f"{where}: {problem.message}")


def write_result(cell_dir: Path, result: CellResult) -> Path:
    """Validate and atomically write ``result.json`` into ``cell_dir``."""
    data = to_json_dict(result)
    validate(data)
    path = cell_dir / RESULT_FILE
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def read_result(path: Path) -> CellResult:
    """Read and validate one ``result.json``; every failure is a :class:`ResultError`."""
    return read_document(path, from_json_dict, error=ResultError)


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


# Check, pattern and outcome words are the engine's (one list, spelled once), re-exported
# here for the harness's own modules.
STARTUP_CHECK = ids.STARTUP


@dataclass(frozen=True)
class CheckOutcome:
    """One pattern x check outcome; ``attempts`` keeps every run's outcome, first to last.

    ``surfaces`` are the admin surfaces the check exercised (list, ajax lookup, export, ...),
    ``failed_surfaces`` those it found at fault, and ``surfaces_na`` the surfaces the installed
    Flask-Admin does not offer, with the reason; all empty for a check that reports none.
    """

    pattern: str
    check: str
    outcome: Outcome
    message: str = ""
    duration_s: float = 0.0
    attempts: tuple[Outcome, ...] = field(default=())
    nodeid: str = ""
    surfaces: tuple[str, ...] = ()
    failed_surfaces: tuple[str, ...] = ()
    surfaces_na: Mapping[str, str] = field(default_factory=dict)

    @property
    def flaky(self) -> bool:
        """True when a re-run gave a different outcome than the first run."""
        return len(set(self.attempts)) > 1

    @property
    def key(self) -> tuple[str, str]:
        return (self.pattern, self.check)

    def to_json(self) -> dict[str, Any]:
        """The form result.json and grid.json both keep an outcome in."""
        data: dict[str, Any] = {
            "pattern": self.pattern,
            "check": self.check,
            "outcome": self.outcome,
            "message": self.message,
            "attempts": list(self.attempts),
            "duration_s": self.duration_s,
            "nodeid": self.nodeid,
        }
        # Absent, not empty, for a check that reports no surfaces: as 1.1 wrote it.
        if self.surfaces or self.failed_surfaces or self.surfaces_na:
            data["surfaces"] = list(self.surfaces)
            data["failed_surfaces"] = list(self.failed_surfaces)
            data["surfaces_na"] = dict(self.surfaces_na)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckOutcome:
        return cls(
            pattern=data["pattern"],
            check=data["check"],
            outcome=data["outcome"],
            message=data["message"],
            duration_s=data["duration_s"],
            attempts=tuple(data["attempts"]),
            nodeid=data.get("nodeid", ""),
            surfaces=tuple(data.get("surfaces", ())),
            failed_surfaces=tuple(data.get("failed_surfaces", ())),
            surfaces_na=dict(data.get("surfaces_na", {})),
        )

    def then(self, again: CheckOutcome) -> CheckOutcome:
        """This outcome followed by a re-run of the same check: one outcome, both attempts.

        A check that fails and then passes is flaky: both outcomes are kept, and it still
        counts as failed, so that a flaky cell is never shown as plainly compatible. The
        surfaces are every attempt's; the failed ones, those of any attempt that failed.
        """
        attempts = (*self.attempts, *again.attempts)
        effective: Outcome = "failed" if len(set(attempts)) > 1 else self.outcome
        return replace(
            self,
            outcome=effective,
            message=self.message or again.message,
            duration_s=self.duration_s + again.duration_s,
            attempts=attempts,
            surfaces=tuple(dict.fromkeys((*self.surfaces, *again.surfaces))),
            failed_surfaces=tuple(dict.fromkeys((*self.failed_surfaces, *again.failed_surfaces))),
            surfaces_na=dict(self.surfaces_na) or dict(again.surfaces_na),
        )


UpstreamStatus = Literal["ran", "n/a", "error"]


FailureOutcome = Literal["failed", "error"]


@dataclass(frozen=True)
class UpstreamCounts:
    """Tests by outcome; ``skipped`` leaves out expected failures, which ``xfailed`` counts."""

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.errors + self.skipped + self.xfailed

    def summary(self) -> str:
        """``194 passed, 2 failed, 1 skipped`` (zeros left out, as pytest says it)."""
        parts = [
            (self.passed, "passed"),
            (self.failed, "failed"),
            (self.errors, "errors" if self.errors != 1 else "error"),
            (self.skipped, "skipped"),
            (self.xfailed, "xfailed"),
        ]
        return ", ".join(f"{n} {word}" for n, word in parts if n) or "no tests"


@dataclass(frozen=True)
class UpstreamFailure:
    """One failed or erroring test (or a module that could not be collected), first lines only."""

    nodeid: str
    outcome: FailureOutcome
    message: str


@dataclass(frozen=True)
class UpstreamReport:
    """What pytest's JUnit XML says about one run of the suite."""

    counts: UpstreamCounts
    failures: tuple[UpstreamFailure, ...]
    uncollected: tuple[str, ...]  # test modules that failed to import


@dataclass(frozen=True)
class UpstreamResult:
    """The upstream suite's outcome in one cell, beside (never inside) the cell's verdict."""

    status: UpstreamStatus
    reason: str
    fingerprint: str
    counts: UpstreamCounts = field(default_factory=UpstreamCounts)
    failures: tuple[UpstreamFailure, ...] = ()
    flask_admin: str | None = None
    series: str | None = None
    added: dict[str, str] = field(default_factory=dict)
    selection: tuple[str, ...] = ()
    durations: dict[str, float] = field(default_factory=dict)
    log: str | None = None
    junit: str | None = None


def upstream_to_json(result: UpstreamResult) -> dict[str, Any]:
    counts = result.counts
    return {
        "status": result.status,
        "reason": result.reason,
        "flask_admin": result.flask_admin,
        "series": result.series,
        "counts": {
            "passed": counts.passed,
            "failed": counts.failed,
            "errors": counts.errors,
            "skipped": counts.skipped,
            "xfailed": counts.xfailed,
        },
        "failures": [
            {"nodeid": f.nodeid, "outcome": f.outcome, "message": f.message}
            for f in result.failures
        ],
        "added": dict(sorted(result.added.items())),
        "selection": list(result.selection),
        "durations": dict(result.durations),
        "fingerprint": result.fingerprint,
        "log": result.log,
        "junit": result.junit,
    }


def upstream_from_json(data: Mapping[str, Any]) -> UpstreamResult:
    """The inverse of :func:`upstream_to_json`, for data the result schema has validated."""
    return UpstreamResult(
        status=data["status"],
        reason=data["reason"],
        fingerprint=data["fingerprint"],
        counts=UpstreamCounts(**data["counts"]),
        failures=tuple(
            UpstreamFailure(f["nodeid"], f["outcome"], f["message"]) for f in data["failures"]
        ),
        flask_admin=data.get("flask_admin"),
        series=data.get("series"),
        added=dict(data.get("added", {})),
        selection=tuple(data.get("selection", [])),
        durations=dict(data.get("durations", {})),
        log=data.get("log"),
        junit=data.get("junit"),
    )


_CHECK_RANKS: Mapping[str, int] = {c: i for i, c in enumerate((STARTUP_CHECK, *CHECK_IDS))}


def check_rank(check: str) -> tuple[int, str]:
    return (_CHECK_RANKS.get(check, len(_CHECK_RANKS)), check)
