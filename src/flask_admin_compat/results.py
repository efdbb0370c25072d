"""The per-cell result model, its JSON form, and the one place that reads and writes it.

Every writer and reader goes through :func:`write_result` and :func:`read_result`, which
validate against ``schema/result-v1.schema.json``, so a file on disk is either a valid result
or a reported error, never something half-understood.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from flask_admin_compat.checks import CheckOutcome
from flask_admin_compat.upstream import UpstreamResult, upstream_from_json, upstream_to_json

# 1.1 added the optional `upstream` object (Flask-Admin's own tests); 1.0 files still read.
SCHEMA_VERSION = "1.1"
RESULT_FILE = "result.json"
JUNIT_FILE = "junit.xml"
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
    requested: dict[str, str]
    python: PythonInfo
    verdict: Verdict
    reason: str
    started_at: str
    finished_at: str
    fingerprint: str
    harness_version: str
    suite: str = "scoping"
    installed: dict[str, str] = field(default_factory=dict)
    recommended_pattern: str | None = None
    flags: tuple[str, ...] = ()
    checks: tuple[CheckOutcome, ...] = ()
    durations: dict[str, float] = field(default_factory=dict)
    log: str | None = None
    upstream: UpstreamResult | None = None  # Flask-Admin's own tests; never part of the verdict


class ResultError(ValueError):
    """A result file that cannot be read or does not match the schema."""


@cache
def result_schema() -> dict[str, Any]:
    text = resources.files("flask_admin_compat").joinpath("schema/result-v1.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


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
    )


@cache
def _validator() -> Any:
    # Imported here so that listing cells (nox -l) needs nothing beyond packaging. Built once:
    # jsonschema.validate() checks the schema itself on every call, 8 ms a result.
    import jsonschema

    return jsonschema.Draft202012Validator(result_schema())


def validate(data: object) -> None:
    """Raise :class:`ResultError` naming the first field that breaks the schema."""
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ResultError(f"{where}: {error.message}")


def write_result(cell_dir: Path, result: CellResult) -> Path:
    """Validate and atomically write ``result.json`` into ``cell_dir``."""
    data = to_json_dict(result)
    validate(data)
    path = cell_dir / RESULT_FILE
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
    return path


def read_result(path: Path) -> CellResult:
    """Read and validate one ``result.json``; every failure is a :class:`ResultError`."""
    data = read_json_file(path, error=ResultError)
    try:
        return from_json_dict(data)
    except ResultError as exc:
        raise ResultError(f"{path}: {exc}") from None


def read_json_file(path: Path, *, error: type[ValueError]) -> Any:
    """A JSON file's content; a file that cannot be read or parsed raises ``error`` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid JSON: {exc}") from None


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder and rename it into place.

    A reader (or a crash) never sees half a file: either the old content or the new.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes the file private (0600); reports are for anyone who may read the folder.
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
