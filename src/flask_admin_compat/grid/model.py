"""The merged grid: its model, the merge of cell results into it, its JSON form, and the diff.

Collecting (reading the cell folders) is the only step here that touches the disk; merging,
laying out, diffing and the JSON conversion are pure functions over the frozen dataclasses
below, so the renderers and the advice read one typed :class:`Grid` and nothing else.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from packaging.version import InvalidVersion, Version

from flask_admin_compat.checks.ids import ANY_PATTERN, Outcome
from flask_admin_compat.grid.cause import Cause, cause_from_json, cause_to_json
from flask_admin_compat.jsonio import (
    FileProblem,
    read_document,
    schema_problem,
    write_text_atomic,
)
from flask_admin_compat.results.model import (
    VERDICTS,
    CellResult,
    CheckOutcome,
    PythonInfo,
    UpstreamResult,
    Verdict,
    check_rank,
    first_line,
    upstream_from_json,
    upstream_to_json,
)

# 1.1 added the optional surface evidence of each check (as result schema 1.2); 1.2 the
# causes (optional: a 1.1 grid reads, and the merge finds its causes again).
GRID_SCHEMA_VERSION = "1.2"
GRID_FILE = "grid.json"
GRID_SCHEMA = "grid-v1"
#: What a cell whose result file could not be read is called wherever it is shown.
UNREADABLE = "unreadable result"
FLAKY = "flaky"
DEPRECATED = "deprecated"  # the recommended pattern works, and Flask-Admin says it will not

PYTHON_AXIS = "python"
#: Where the tables put these axes; every other axis present gets a table of its own per value.
ROW_AXES: tuple[str, ...] = ("flask-admin",)
COLUMN_AXES: tuple[str, ...] = ("flask", "sqlalchemy")

_FAILING: frozenset[Outcome] = frozenset({"failed", "error"})


class GridError(FileProblem):
    """A grid file that cannot be read or does not match the grid schema."""


@dataclass(frozen=True)
class LogRef:
    """Where a cell's log is, and what a reader can follow or see of it."""

    path: str  # relative to the grid's folder, with forward slashes
    exists: bool  # whether the file was there when the grid was merged
    url: str | None = None  # what a link points at: the local path, a CI page, or nothing
    # Its last lines (where pytest's summary or the resolver's refusal stands), shown where
    # there is nothing to link to; the first lines are only the harness's own commands.
    excerpt: tuple[str, ...] = ()


@dataclass(frozen=True)
class GridCell:
    """One cell as the grid shows it: its result, where it came from, and how to see its log.

    It holds the :class:`CellResult` whole instead of copying it field by field. A cell whose
    result file could not be read holds a stand-in the merge made (verdict ``error``, the
    reader's message as its reason), with ``unreadable`` saying so.
    """

    result: CellResult
    result_path: str
    log: LogRef | None = None
    unreadable: str | None = None  # the reader's message when the result file was unusable
    # Releases the result installed that the index no longer lists (yanked or removed since),
    # "flask-admin 2.2.1": found at the merge, against the run's look at the index.
    withdrawn: tuple[str, ...] = ()

    @property
    def cell_id(self) -> str:
        return self.result.cell_id

    @property
    def requested(self) -> Mapping[str, str]:
        return self.result.requested

    @property
    def verdict(self) -> Verdict:
        return self.result.verdict

    @property
    def reason(self) -> str:
        return self.result.reason

    @property
    def installed(self) -> Mapping[str, str]:
        return self.result.installed

    @property
    def python_version(self) -> str | None:
        return self.result.python.version

    @property
    def recommended_pattern(self) -> str | None:
        return self.result.recommended_pattern

    @property
    def flags(self) -> tuple[str, ...]:
        return self.result.flags

    @property
    def checks(self) -> tuple[CheckOutcome, ...]:
        return self.result.checks

    @property
    def durations(self) -> Mapping[str, float]:
        return self.result.durations

    @property
    def started_at(self) -> str | None:
        return self.result.started_at or None  # a stand-in has none

    @property
    def finished_at(self) -> str | None:
        return self.result.finished_at or None

    @property
    def harness_version(self) -> str | None:
        return self.result.harness_version or None

    @property
    def fingerprint(self) -> str | None:
        return self.result.fingerprint or None

    @property
    def upstream(self) -> UpstreamResult | None:
        """Flask-Admin's own tests: beside the verdict, never in it."""
        return self.result.upstream

    @property
    def flaky(self) -> bool:
        return FLAKY in self.flags

    @property
    def deprecation(self) -> str | None:
        """Flask-Admin's DeprecationWarning for the recommended pattern, where it gave one."""
        return self.result.deprecation if DEPRECATED in self.flags else None

    @property
    def label(self) -> str:
        """The short verdict a person reads: ``error (unreadable result)`` for a lost file."""
        return f"error ({UNREADABLE})" if self.unreadable is not None else self.verdict

    @property
    def failed_checks(self) -> tuple[CheckOutcome, ...]:
        return tuple(c for c in self.checks if c.outcome in _FAILING)

    @property
    def first_line(self) -> str:
        """The first line of why, for tables and summaries that have room for one line."""
        return first_line(self.reason)


#: What a failed check's label says when it failed on every surface it exercised.
EVERY_SURFACE = "every surface"


@dataclass(frozen=True)
class FailedCheck:
    """One check that failed in a cell, with every pattern it failed under and the first why.

    ``surfaces`` are the admin surfaces it found at fault (list, ajax lookup, ...), in the
    order the suite exercised them, or ``every surface``; empty for a check that names none.
    """

    check: str
    patterns: tuple[str, ...]
    message: str  # the first line of the first message any of them gave
    surfaces: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """``per-request (ajax lookup) with db-at-setup``: how every report names it."""
        if not self.surfaces:
            return check_label(self.check, self.patterns)
        named = [p for p in dict.fromkeys(self.patterns) if p != ANY_PATTERN]
        label = f"{self.check} ({', '.join(self.surfaces)})"
        return f"{label} with {', '.join(named)}" if named else label


def group_failures(outcomes: Iterable[CheckOutcome]) -> tuple[FailedCheck, ...]:
    """Failed outcomes grouped by check, in the suite's check order."""
    grouped: dict[str, list[CheckOutcome]] = {}
    for outcome in outcomes:
        grouped.setdefault(outcome.check, []).append(outcome)
    return tuple(
        FailedCheck(
            check,
            tuple(o.pattern for o in group),
            next((first_line(o.message) for o in group if o.message.strip()), ""),
            _at_fault(group),
        )
        for check, group in sorted(grouped.items(), key=lambda kv: check_rank(kv[0]))
    )


def _at_fault(group: Sequence[CheckOutcome]) -> tuple[str, ...]:
    """The surfaces one check found at fault over its patterns, in the suite's order."""
    found = dict.fromkeys(name for o in group for name in o.failed_surfaces)
    order = list(dict.fromkeys(name for o in group for name in o.surfaces))
    ranked = sorted(found, key=lambda n: order.index(n) if n in order else len(order))
    if len(order) > 3 and set(order) <= set(ranked):
        return (EVERY_SURFACE,)
    return tuple(ranked)


@dataclass(frozen=True)
class VersionChange:
    package: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class CellChange:
    """One cell whose verdict changed, with what broke (or healed) and which versions moved."""

    cell_id: str
    before: str | None  # the verdict label, None for a new cell
    after: str | None  # None for a cell that is gone
    checks: tuple[str, ...] = ()  # "check (pattern)": passing before and failing now, or back
    versions: tuple[VersionChange, ...] = ()


@dataclass(frozen=True)
class Changes:
    """What differs from the previous grid, sorted into what a reader acts on."""

    previous_generated_at: str
    regressions: tuple[CellChange, ...] = ()
    fixes: tuple[CellChange, ...] = ()
    other: tuple[CellChange, ...] = ()  # to or from error or excluded: not a verdict on the stack
    new: tuple[CellChange, ...] = ()
    gone: tuple[CellChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.regressions or self.fixes or self.other or self.new or self.gone)


@dataclass(frozen=True)
class Grid:
    """Every cell of one merge, with when and by what it was made."""

    generated_at: str
    harness_version: str
    cells: tuple[GridCell, ...]
    link_base: str | None = None
    changes: Changes | None = None
    #: The failing evidence of every cell grouped into causes (``grid/causes.py``), most
    #: cells first; empty until the merge finds them.
    causes: tuple[Cause, ...] = ()

    @property
    def axes(self) -> tuple[str, ...]:
        return axis_order(self.cells)

    @property
    def counts(self) -> dict[str, int]:
        """Cells per verdict (every verdict, zeros too) and how many are flaky."""
        counted = Counter(c.verdict for c in self.cells)
        counts: dict[str, int] = {v: counted.get(v, 0) for v in VERDICTS}
        counts[FLAKY] = sum(1 for c in self.cells if c.flaky)
        return counts

    @property
    def run_started_at(self) -> str | None:
        return min((c.started_at for c in self.cells if c.started_at), default=None)

    @property
    def run_finished_at(self) -> str | None:
        return max((c.finished_at for c in self.cells if c.finished_at), default=None)

    def cell(self, cell_id: str) -> GridCell | None:
        return next((c for c in self.cells if c.cell_id == cell_id), None)

    def causes_of(self, cell_id: str) -> tuple[Cause, ...]:
        """The causes a cell's failed checks belong to, most cells first."""
        return tuple(c for c in self.causes if cell_id in c.cells)


def axis_order(cells: Iterable[GridCell]) -> tuple[str, ...]:
    """Every axis present, Python first, then in the order the results name them."""
    names: dict[str, None] = {}
    for cell in cells:
        names.update(dict.fromkeys(cell.requested))
    ordered = sorted(names, key=lambda axis: axis != PYTHON_AXIS)
    return tuple(ordered)


#: Where a spec sorts: its kind (version, latest, unparsable), its version, series after.
SpecKey = tuple[int, Version | str, int]


def spec_sort_key(spec: str) -> SpecKey:
    """Versions in release order, ``latest`` after them, anything unparsable last.

    A series sorts after every release in it, where its newest release is: ``2.2.0``,
    ``2.2.1``, ``2.2.*``, ``2.3.0``. (Sorting ``2.2.*`` as ``2.2`` made it equal to ``2.2.0``,
    so the two rows came in whatever order the cells did.)
    """
    if spec == "latest":
        return (1, "", 0)
    try:
        if spec.endswith(".*"):
            release = Version(spec.removesuffix(".*")).release
            # The first version past the series, and the series just before it.
            past = ".".join(map(str, (*release[:-1], release[-1] + 1)))
            return (0, Version(f"{past}.dev0"), -1)
        return (0, Version(spec), 0)
    except InvalidVersion:
        return (2, spec, 0)


def validate_grid(data: object) -> None:
    """Raise :class:`GridError` naming the first field that breaks the grid schema."""
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, str) and version.split(".")[0] != GRID_SCHEMA_VERSION.split(".")[0]:
        # Said first and plainly: another major version is not a broken file but a foreign one.
        raise GridError(f"schema_version {version!r}: this harness reads grid schema 1.x")
    problem = schema_problem(data, GRID_SCHEMA)
    if problem is not None:
        where = "/".join(str(p) for p in problem.path) or "(top level)"
        raise GridError(f"{where}: {problem.message}")


def grid_to_json(grid: Grid) -> dict[str, Any]:
    counts = grid.counts
    return {
        "schema_version": GRID_SCHEMA_VERSION,
        "generated_at": grid.generated_at,
        "harness_version": grid.harness_version,
        "run": {"started_at": grid.run_started_at, "finished_at": grid.run_finished_at},
        "link_base": grid.link_base,
        "axes": list(grid.axes),
        "counts": {**counts, "total": len(grid.cells)},
        "cells": [_cell_to_json(c) for c in grid.cells],
        "changes": _changes_to_json(grid.changes) if grid.changes is not None else None,
        "causes": [cause_to_json(c) for c in grid.causes],
    }


def render_json(grid: Grid) -> str:
    """The grid as ``grid.json`` text, validated against the schema before it is returned."""
    return "".join(json_chunks(grid))


def json_chunks(grid: Grid) -> Iterator[str]:
    """``grid.json``'s text in pieces, validated before the first: for writing as it comes.

    With an indent, json's encoder is the pure-Python one, and joining its pieces into one
    string was the orchestrator's peak (40.7 MB above the rest for the 389 cells of the
    default matrix, to 14 MB of text); written as they come, they cost almost nothing.
    """
    data = grid_to_json(grid)
    validate_grid(data)
    yield from json.JSONEncoder(indent=1, ensure_ascii=False).iterencode(data)
    yield "\n"


def _cell_to_json(cell: GridCell) -> dict[str, Any]:
    return {
        "cell_id": cell.cell_id,
        "requested": dict(cell.requested),
        "installed": dict(sorted(cell.installed.items())),
        "python_version": cell.python_version,
        "verdict": cell.verdict,
        "label": cell.label,
        "reason": cell.reason,
        "recommended_pattern": cell.recommended_pattern,
        "flags": list(cell.flags),
        **({"deprecation": cell.deprecation} if cell.deprecation else {}),
        "checks": [c.to_json() for c in cell.checks],
        "durations": dict(cell.durations),
        "started_at": cell.started_at,
        "finished_at": cell.finished_at,
        "harness_version": cell.harness_version,
        "fingerprint": cell.fingerprint,
        "result": cell.result_path,
        "unreadable": cell.unreadable,
        "log": None
        if cell.log is None
        else {
            "path": cell.log.path,
            "exists": cell.log.exists,
            "url": cell.log.url,
            "excerpt": list(cell.log.excerpt),
        },
        "upstream": upstream_to_json(cell.upstream) if cell.upstream is not None else None,
        **({"withdrawn": list(cell.withdrawn)} if cell.withdrawn else {}),
    }


def _changes_to_json(changes: Changes) -> dict[str, Any]:
    def items(group: tuple[CellChange, ...]) -> list[dict[str, Any]]:
        return [
            {
                "cell_id": c.cell_id,
                "before": c.before,
                "after": c.after,
                "checks": list(c.checks),
                "versions": [
                    {"package": v.package, "before": v.before, "after": v.after} for v in c.versions
                ],
            }
            for c in group
        ]

    return {
        "previous_generated_at": changes.previous_generated_at,
        "regressions": items(changes.regressions),
        "fixes": items(changes.fixes),
        "other": items(changes.other),
        "new": items(changes.new),
        "gone": items(changes.gone),
    }


def grid_from_json(data: object) -> Grid:
    """Build a :class:`Grid` from parsed ``grid.json``; a schema mismatch is a GridError."""
    validate_grid(data)
    assert isinstance(data, dict)  # the schema says so
    changes = data.get("changes")
    return Grid(
        generated_at=data["generated_at"],
        harness_version=data["harness_version"],
        cells=tuple(_cell_from_json(c) for c in data["cells"]),
        link_base=data.get("link_base"),
        changes=_changes_from_json(changes) if changes is not None else None,
        # Absent from grids merged before causes were found (schema 1.1 and earlier).
        causes=tuple(cause_from_json(c) for c in data.get("causes", ())),
    )


def _cell_from_json(data: dict[str, Any]) -> GridCell:
    log = data.get("log")
    requested = dict(data["requested"])
    result = CellResult(
        cell_id=data["cell_id"],
        requested=requested,
        python=PythonInfo(requested.get(PYTHON_AXIS, ""), data.get("python_version")),
        log=None,
        verdict=data["verdict"],
        reason=data["reason"],
        started_at=data.get("started_at") or "",
        finished_at=data.get("finished_at") or "",
        fingerprint=data.get("fingerprint") or "",
        harness_version=data.get("harness_version") or "",
        installed=dict(data["installed"]),
        recommended_pattern=data.get("recommended_pattern"),
        flags=tuple(data["flags"]),
        checks=tuple(CheckOutcome.from_json(c) for c in data["checks"]),
        durations=dict(data["durations"]),
        # Absent from grids merged before Flask-Admin's own tests could run.
        upstream=upstream_from_json(data["upstream"]) if data.get("upstream") else None,
        deprecation=data.get("deprecation"),
    )
    return GridCell(
        result,
        result_path=data["result"],
        log=None
        if log is None
        else LogRef(log["path"], log["exists"], log.get("url"), tuple(log.get("excerpt", ()))),
        unreadable=data.get("unreadable"),
        withdrawn=tuple(data.get("withdrawn", ())),
    )


def _changes_from_json(data: dict[str, Any]) -> Changes:
    def items(group: list[dict[str, Any]]) -> tuple[CellChange, ...]:
        return tuple(
            CellChange(
                c["cell_id"],
                c["before"],
                c["after"],
                tuple(c["checks"]),
                tuple(VersionChange(v["package"], v["before"], v["after"]) for v in c["versions"]),
            )
            for c in group
        )

    return Changes(
        data["previous_generated_at"],
        items(data["regressions"]),
        items(data["fixes"]),
        items(data["other"]),
        items(data["new"]),
        items(data["gone"]),
    )


def write_grid(path: Path, grid: Grid) -> None:
    """Validate and atomically write ``grid.json``."""
    write_text_atomic(path, json_chunks(grid))


def read_grid(path: Path) -> Grid:
    """Read and validate a ``grid.json``; every failure is a :class:`GridError`."""
    return read_document(path, grid_from_json, error=GridError)


def safe_link(url: str | None) -> str | None:
    """The URL when following it can only open a page: http(s) or a relative path.

    Folder names and link bases end up in ``href``; a ``javascript:`` or ``data:`` one must
    never become a link.
    """
    if not url or any(ch in url for ch in "\r\n\t"):
        return None
    scheme = urlsplit(url).scheme.lower()
    return url if scheme in ("", "http", "https") else None


def check_label(check: str, patterns: Iterable[str]) -> str:
    """``per-request (session-at-setup, db-at-setup)``; the stack-wide pattern ``*`` is unnamed."""
    named = [p for p in dict.fromkeys(patterns) if p != ANY_PATTERN]
    return f"{check} ({', '.join(named)})" if named else check


def carried_results(grid_file: Path) -> dict[str, CellResult]:
    """Each cell's result in the grid being replaced; none when it is missing or unusable.

    A run keeps these for the cells it does not reach (and orders its pool by their
    durations); the merge names an unusable grid itself, at the end.
    """
    if not grid_file.is_file():
        return {}
    try:
        grid = read_grid(grid_file)
    except GridError:
        return {}
    return {c.cell_id: c.result for c in grid.cells if c.unreadable is None}
