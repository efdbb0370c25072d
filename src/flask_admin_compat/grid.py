"""The merged grid: its model, the merge of cell results into it, its JSON form, and the diff.

Collecting (reading the cell folders) is the only step here that touches the disk; merging,
laying out, diffing and the JSON conversion are pure functions over the frozen dataclasses
below, so the renderers and the advice read one typed :class:`Grid` and nothing else.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from packaging.version import InvalidVersion, Version

from flask_admin_compat.checks import (
    ANY_PATTERN,
    CHECK_IDS,
    PATTERN_IDS,
    STARTUP_CHECK,
    CheckOutcome,
    Outcome,
)
from flask_admin_compat.results import (
    LOG_FILE,
    RESULT_FILE,
    VERDICTS,
    CellResult,
    ResultError,
    Verdict,
    read_json_file,
    read_result,
    write_text_atomic,
)
from flask_admin_compat.upstream import UpstreamResult, upstream_from_json, upstream_to_json

GRID_SCHEMA_VERSION = "1.0"
GRID_FILE = "grid.json"
#: What a cell whose result file could not be read is called wherever it is shown.
UNREADABLE = "unreadable result"
FLAKY = "flaky"
#: Enough of a log to recognise a failure where there is no log to link to.
LOG_EXCERPT_LINES = 5
LOG_EXCERPT_CHARS = 200
_LOG_EXCERPT_BYTES = 64 * 1024

PYTHON_AXIS = "python"
#: Where the tables put these axes; every other axis present gets a table of its own per value.
ROW_AXES: tuple[str, ...] = ("flask-admin",)
COLUMN_AXES: tuple[str, ...] = ("flask", "sqlalchemy")

#: Verdicts ordered by how well a stack works, for telling regressions from fixes; error and
#: excluded say nothing about compatibility, so a change to or from them is neither.
_RANK: Mapping[str, int] = {"compatible": 2, "workaround": 1, "incompatible": 0, "uninstallable": 0}
_FAILING: frozenset[Outcome] = frozenset({"failed", "error"})


class GridError(ValueError):
    """A grid file that cannot be read or does not match the grid schema."""


# -- model -------------------------------------------------------------------------------------


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
    """One cell as the grid shows it: its result, or why its result could not be read."""

    cell_id: str
    requested: Mapping[str, str]
    verdict: Verdict
    reason: str
    result_path: str
    installed: Mapping[str, str] = field(default_factory=dict)
    python_version: str | None = None
    recommended_pattern: str | None = None
    flags: tuple[str, ...] = ()
    checks: tuple[CheckOutcome, ...] = ()
    durations: Mapping[str, float] = field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None
    harness_version: str | None = None
    fingerprint: str | None = None
    log: LogRef | None = None
    unreadable: str | None = None  # the reader's message when the result file was unusable
    upstream: UpstreamResult | None = (
        None  # Flask-Admin's own tests: beside the verdict, never in it
    )

    @property
    def flaky(self) -> bool:
        return FLAKY in self.flags

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


# -- collect (the one step that reads the disk) ------------------------------------------------


@dataclass(frozen=True)
class Collected:
    """One cell folder as found on disk: its result, or the reader's message about it."""

    folder: str
    result_path: str  # relative to the grid's folder
    result: CellResult | None
    problem: str | None = None
    log_path: str | None = None  # relative to the grid's folder
    log_exists: bool = False
    log_excerpt: tuple[str, ...] = ()


def collect(cells_dir: Path, *, grid_dir: Path) -> tuple[Collected, ...]:
    """Read every cell folder under ``cells_dir``; a broken result is a value, not a raise.

    A folder without a ``result.json`` counts too: a cell that died before writing its result
    must show in the grid, not vanish from it.
    """
    folders = sorted(p for p in cells_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    return tuple(_collect_one(folder, grid_dir=grid_dir) for folder in folders)


def _collect_one(folder: Path, *, grid_dir: Path) -> Collected:
    result_file = folder / RESULT_FILE
    result: CellResult | None
    try:
        result = read_result(result_file)
        problem = None
    except ResultError as exc:
        # The reader names the file; the grid names it already, relative to itself.
        result, problem = None, str(exc).removeprefix(f"{result_file}: ")
    log_name = result.log if result is not None else LOG_FILE
    log_file = folder / log_name if log_name else None
    log_exists = log_file is not None and log_file.is_file()
    return Collected(
        folder=folder.name,
        result_path=_relative(result_file, grid_dir),
        result=result,
        problem=problem,
        log_path=_relative(log_file, grid_dir) if log_file is not None else None,
        log_exists=log_exists,
        log_excerpt=read_log_excerpt(log_file) if log_file is not None and log_exists else (),
    )


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def read_log_excerpt(path: Path) -> tuple[str, ...]:
    """The last non-blank lines of a log, each cut short: logs can be huge or binary."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - _LOG_EXCERPT_BYTES))
            raw = handle.read(_LOG_EXCERPT_BYTES)
    except OSError:
        return ()
    lines = [line.rstrip() for line in raw.decode("utf-8", errors="replace").splitlines()]
    kept = [_cut(line, LOG_EXCERPT_CHARS) for line in lines if line.strip()]
    return tuple(kept[-LOG_EXCERPT_LINES:])


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- merge ---------------------------------------------------------------------------------------


def merge(
    collected: Iterable[Collected],
    *,
    generated_at: str,
    harness_version: str,
    link_base: str | None = None,
    previous: Grid | None = None,
    link_local_logs: bool = True,
) -> Grid:
    """Merge collected cells into a grid; ``previous`` only helps place unreadable cells.

    ``link_local_logs=False`` is for a grid published without its logs (the one committed to
    the repository): cells show their log's last lines instead of a link that would break.

    Merging is order-independent, so merging CI shards gives the grid of one full run. Two
    results claiming the same cell id keep the one that finished last (a re-run).
    """
    items = list(collected)
    links = _LogLinks(link_base, link_local_logs)
    readable = [_from_result(c, links) for c in items if c.result is not None]
    by_id: dict[str, GridCell] = {}
    for cell in readable:
        kept = by_id.get(cell.cell_id)
        if kept is None or (cell.finished_at or "") > (kept.finished_at or ""):
            by_id[cell.cell_id] = cell
    placed = tuple(by_id.values())
    for item in items:
        if item.result is None and item.folder not in by_id:
            by_id[item.folder] = _unreadable(item, links, placed, previous)
    cells = tuple(sorted(by_id.values(), key=lambda c: c.cell_id))
    return Grid(generated_at, harness_version, cells, link_base=link_base)


def merge_problems(collected: Iterable[Collected]) -> list[str]:
    """What a person running the merge must hear about: unreadable results and duplicates."""
    problems: list[str] = []
    owners: dict[str, str] = {}
    for item in collected:
        if item.result is None:
            problems.append(f"cannot use {item.result_path}: {item.problem}")
            continue
        cell_id = item.result.cell_id
        if cell_id != item.folder:
            problems.append(f"{item.result_path} is for cell {cell_id}, not {item.folder}")
        if cell_id in owners:
            problems.append(
                f"{item.result_path} and {owners[cell_id]} are both cell {cell_id}; "
                "the grid keeps the one that finished last"
            )
        owners.setdefault(cell_id, item.result_path)
    return problems


@dataclass(frozen=True)
class _LogLinks:
    base: str | None  # a CI page or URL template, or None for the local files
    local: bool  # link the local files (a local grid) or show their last lines only


def _from_result(item: Collected, links: _LogLinks) -> GridCell:
    result = item.result
    assert result is not None  # only called for readable results
    return GridCell(
        cell_id=result.cell_id,
        requested=dict(result.requested),
        verdict=result.verdict,
        reason=result.reason,
        result_path=item.result_path,
        installed=dict(result.installed),
        python_version=result.python.version,
        recommended_pattern=result.recommended_pattern,
        flags=result.flags,
        checks=result.checks,
        durations=dict(result.durations),
        started_at=result.started_at,
        finished_at=result.finished_at,
        harness_version=result.harness_version,
        fingerprint=result.fingerprint,
        log=_log_ref(item, result.cell_id, links),
        upstream=result.upstream,
    )


def _unreadable(
    item: Collected, links: _LogLinks, placed: Sequence[GridCell], previous: Grid | None
) -> GridCell:
    return GridCell(
        cell_id=item.folder,
        requested=infer_requested(item.folder, placed, previous),
        verdict="error",
        reason=f"{UNREADABLE}: {item.problem}",
        result_path=item.result_path,
        log=_log_ref(item, item.folder, links),
        unreadable=item.problem or UNREADABLE,
    )


def _log_ref(item: Collected, cell_id: str, links: _LogLinks) -> LogRef | None:
    if item.log_path is None:
        return None
    if links.base is not None:
        url = safe_link(log_url(links.base, cell_id=cell_id, log=item.log_path))
    else:
        url = safe_link(item.log_path) if item.log_exists and links.local else None
    return LogRef(item.log_path, item.log_exists, url, item.log_excerpt)


def log_url(link_base: str, *, cell_id: str, log: str) -> str:
    """Fill ``{cell_id}`` and ``{log}`` into a link base; one without them is used as it is.

    CI cannot link into an uploaded artifact, so there a plain URL (the run's artifact page)
    serves every cell; a server that publishes the logs gets a template instead.
    """
    return link_base.replace("{cell_id}", cell_id).replace("{log}", log)


def infer_requested(
    cell_id: str, placed: Sequence[GridCell], previous: Grid | None = None
) -> dict[str, str]:
    """Guess an unreadable cell's axis values so that it shows where a person looks for it.

    The previous grid knows the cell by id. Failing that, each dash-separated part of the id
    is matched to the axis value that exactly the same readable cells share (``flask31`` to
    ``flask = 3.1.*``); where several values fit, the one whose digits end the part wins.
    Any part that cannot be matched, or two parts claiming one axis, leave the cell unplaced
    (``{}``) rather than placed wrongly.
    """
    if previous is not None:
        known = previous.cell(cell_id)
        if known is not None and known.requested:
            return dict(known.requested)
    holders: dict[str, set[int]] = {}
    having: dict[tuple[str, str], set[int]] = {}
    for index, cell in enumerate(placed):
        for token in cell.cell_id.split("-"):
            holders.setdefault(token, set()).add(index)
        for pair in cell.requested.items():
            having.setdefault(pair, set()).add(index)
    requested: dict[str, str] = {}
    for token in cell_id.split("-"):
        owners = holders.get(token)
        pairs = [pair for pair, cells in having.items() if cells == owners]
        spelt = [(a, v) for a, v in pairs if token.endswith(_fragment(v))]
        pairs = spelt or pairs
        if not pairs:
            return {}
        for axis, spec in pairs:
            if requested.setdefault(axis, spec) != spec:
                return {}
    return requested


def _fragment(spec: str) -> str:
    # How a spec is usually spelt inside an id: "3.1.*" as "31", "latest" as itself.
    return "".join(ch for ch in spec.removesuffix(".*") if ch.isalnum())


# -- layout (shared by the renderers) ----------------------------------------------------------


def axis_order(cells: Iterable[GridCell]) -> tuple[str, ...]:
    """Every axis present, Python first, then in the order the results name them."""
    names: dict[str, None] = {}
    for cell in cells:
        names.update(dict.fromkeys(cell.requested))
    ordered = sorted(names, key=lambda axis: axis != PYTHON_AXIS)
    return tuple(ordered)


def spec_sort_key(spec: str) -> tuple[int, Version | str]:
    """Versions in release order, ``latest`` after them, anything unparsable last."""
    if spec == "latest":
        return (1, "")
    try:
        return (0, Version(spec.removesuffix(".*")))
    except InvalidVersion:
        return (2, spec)


@dataclass(frozen=True)
class Table:
    """One table of the grid: the axis values it shares, its rows, columns and cells."""

    shared: tuple[tuple[str, str], ...]  # (axis, spec) every cell of the table has
    row_axes: tuple[str, ...]
    column_axes: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    columns: tuple[tuple[str, ...], ...]
    cells: Mapping[tuple[tuple[str, ...], tuple[str, ...]], tuple[GridCell, ...]]

    def at(self, row: tuple[str, ...], column: tuple[str, ...]) -> tuple[GridCell, ...]:
        return self.cells.get((row, column), ())


def layout(cells: Sequence[GridCell]) -> tuple[Table, ...]:
    """Arrange cells into tables: one per value of every axis that is not a row or a column.

    With today's axes that is one table per Python and backend version, Flask-Admin down the
    side and Flask x SQLAlchemy across; a new axis (``wtforms``, ``database``) adds tables
    rather than being dropped. Cells with no axis values at all (unreadable and unplaceable)
    form one last table with no axes, which renderers show as a list.
    """
    order = axis_order(cells)
    groups: dict[tuple[tuple[str, str], ...], list[GridCell]] = {}
    for cell in cells:
        shared = tuple(
            (axis, cell.requested[axis])
            for axis in order
            if axis in cell.requested and axis not in ROW_AXES and axis not in COLUMN_AXES
        )
        groups.setdefault(shared, []).append(cell)
    tables = [_table(shared, members) for shared, members in groups.items()]
    tables.sort(key=lambda t: _table_key(t, order))
    return tuple(tables)


def _table(shared: tuple[tuple[str, str], ...], members: list[GridCell]) -> Table:
    row_axes = tuple(a for a in ROW_AXES if any(a in c.requested for c in members))
    column_axes = tuple(a for a in COLUMN_AXES if any(a in c.requested for c in members))
    placed: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[GridCell, ...]] = {}
    for cell in members:
        row = tuple(cell.requested.get(a, "?") for a in row_axes)
        column = tuple(cell.requested.get(a, "?") for a in column_axes)
        placed[(row, column)] = (*placed.get((row, column), ()), cell)
    rows = sorted({row for row, _ in placed}, key=_specs_key)
    columns = sorted({column for _, column in placed}, key=_specs_key)
    return Table(shared, row_axes, column_axes, tuple(rows), tuple(columns), placed)


def _specs_key(specs: tuple[str, ...]) -> tuple[tuple[int, Version | str], ...]:
    return tuple(spec_sort_key(s) for s in specs)


def _table_key(table: Table, order: tuple[str, ...]) -> tuple[Any, ...]:
    # Unplaced cells last; otherwise by axis (Python first) and then by version.
    return (
        not table.shared,
        tuple((order.index(axis), spec_sort_key(spec)) for axis, spec in table.shared),
    )


def safe_link(url: str | None) -> str | None:
    """The URL when following it can only open a page: http(s) or a relative path.

    Folder names and link bases end up in ``href``; a ``javascript:`` or ``data:`` one must
    never become a link.
    """
    if not url or any(ch in url for ch in "\r\n\t"):
        return None
    scheme = urlsplit(url).scheme.lower()
    return url if scheme in ("", "http", "https") else None


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


#: What the upstream badge means, for both renderers' legends.
UPSTREAM_MEANING = (
    "Flask-Admin's own SQLAlchemy tests (flask_admin/tests/sqla, shipped in its wheel) run in "
    "the same stack: how many passed and failed, or n/a where they cannot run there (the details "
    "say why). A second opinion beside the verdict, never part of it: upstream's fixtures hold "
    "one app context around each whole test, so they cannot see per-request scoping bugs."
)


def upstream_short(upstream: UpstreamResult) -> str:
    """What fits beside a verdict: ``194 passed``, ``42 passed, 18 failed``, ``n/a``, ``error``."""
    if upstream.status != "ran":
        return upstream.status
    counts = upstream.counts
    parts = [f"{counts.passed} passed"]
    if counts.failed:
        parts.append(f"{counts.failed} failed")
    if counts.errors:
        parts.append(f"{counts.errors} error" + ("s" if counts.errors != 1 else ""))
    return ", ".join(parts)


def upstream_failing(cell: GridCell) -> bool:
    """Whether Flask-Admin's own tests ran here and some failed or errored."""
    up = cell.upstream
    return up is not None and up.status == "ran" and bool(up.counts.failed or up.counts.errors)


def upstream_tally(cells: Iterable[GridCell]) -> str:
    """``ran in 3 (1 with failures), n/a in 2``; empty when no cell ran them."""
    with_upstream = [c for c in cells if c.upstream is not None]
    if not with_upstream:
        return ""
    statuses = Counter(c.upstream.status for c in with_upstream if c.upstream is not None)
    failing = sum(1 for c in with_upstream if upstream_failing(c))
    parts = []
    if statuses["ran"]:
        parts.append(
            f"ran in {statuses['ran']}" + (f" ({failing} with failures)" if failing else "")
        )
    parts += [f"{s} in {statuses[s]}" for s in ("n/a", "error") if statuses[s]]
    return ", ".join(parts)


def check_label(check: str, patterns: Iterable[str]) -> str:
    """``per-request (session-at-setup, db-at-setup)``; the stack-wide pattern ``*`` is unnamed."""
    named = [p for p in dict.fromkeys(patterns) if p != ANY_PATTERN]
    return f"{check} ({', '.join(named)})" if named else check


def failed_by_check(cell: GridCell) -> list[tuple[str, tuple[str, ...], str]]:
    """Failed checks grouped by check id: (check, patterns it failed under, first message)."""
    grouped: dict[str, list[CheckOutcome]] = {}
    for outcome in cell.failed_checks:
        grouped.setdefault(outcome.check, []).append(outcome)
    return [
        (
            check,
            tuple(o.pattern for o in outcomes),
            next((first_line(o.message) for o in outcomes if o.message.strip()), ""),
        )
        for check, outcomes in sorted(grouped.items(), key=lambda kv: _check_rank(kv[0]))
    ]


def pattern_order(cells: Iterable[GridCell]) -> tuple[str, ...]:
    """Every pattern that ran, the stack-wide ``*`` first, then the suite's own order."""
    seen = {c.pattern for cell in cells for c in cell.checks}
    known = [p for p in (ANY_PATTERN, *PATTERN_IDS) if p in seen]
    return (*known, *sorted(seen - set(known)))


def check_order(cells: Iterable[GridCell]) -> tuple[str, ...]:
    """Every check that ran: the stack-wide startup first, then the suite's order, then others."""
    seen = {c.check for cell in cells for c in cell.checks}
    return tuple(sorted(seen, key=_check_rank))


_CHECK_RANKS: Mapping[str, int] = {c: i for i, c in enumerate((STARTUP_CHECK, *CHECK_IDS))}


def _check_rank(check: str) -> tuple[int, str]:
    return (_CHECK_RANKS.get(check, len(_CHECK_RANKS)), check)


# -- diff ----------------------------------------------------------------------------------------


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
    return tuple(
        check_label(check, patterns) for check, patterns, _ in broken_checks(before, after)
    )


def broken_checks(before: GridCell, after: GridCell) -> list[tuple[str, tuple[str, ...], str]]:
    """Checks that passed in ``before`` and fail in ``after``: (check, patterns, first message)."""
    passed = {c.key for c in before.checks if c.outcome == "passed"}
    broke: dict[str, list[CheckOutcome]] = {}
    for outcome in after.failed_checks:
        if outcome.key in passed:
            broke.setdefault(outcome.check, []).append(outcome)
    return [
        (
            check,
            tuple(o.pattern for o in outcomes),
            next((first_line(o.message) for o in outcomes if o.message.strip()), ""),
        )
        for check, outcomes in sorted(broke.items(), key=lambda kv: _check_rank(kv[0]))
    ]


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


# -- JSON ----------------------------------------------------------------------------------------


@cache
def grid_schema() -> dict[str, Any]:
    text = resources.files("flask_admin_compat").joinpath("schema/grid-v1.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


@cache
def _validator() -> jsonschema.Draft202012Validator:
    # One validator for every call: building it checks the schema itself, which costs more
    # than validating a grid of a few hundred cells.
    return jsonschema.Draft202012Validator(grid_schema())


def validate_grid(data: object) -> None:
    """Raise :class:`GridError` naming the first field that breaks the grid schema."""
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, str) and version.split(".")[0] != GRID_SCHEMA_VERSION.split(".")[0]:
        # Said first and plainly: another major version is not a broken file but a foreign one.
        raise GridError(f"schema_version {version!r}: this harness reads grid schema 1.x")
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise GridError(f"{where}: {error.message}")


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
    }


def render_json(grid: Grid) -> str:
    """The grid as ``grid.json`` text, validated against the schema before it is returned."""
    data = grid_to_json(grid)
    validate_grid(data)
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


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
    )


def _cell_from_json(data: dict[str, Any]) -> GridCell:
    log = data.get("log")
    return GridCell(
        cell_id=data["cell_id"],
        requested=dict(data["requested"]),
        verdict=data["verdict"],
        reason=data["reason"],
        result_path=data["result"],
        installed=dict(data["installed"]),
        python_version=data.get("python_version"),
        recommended_pattern=data.get("recommended_pattern"),
        flags=tuple(data["flags"]),
        checks=tuple(CheckOutcome.from_json(c) for c in data["checks"]),
        durations=dict(data["durations"]),
        started_at=data.get("started_at"),
        finished_at=data.get("finished_at"),
        harness_version=data.get("harness_version"),
        fingerprint=data.get("fingerprint"),
        log=None
        if log is None
        else LogRef(log["path"], log["exists"], log.get("url"), tuple(log.get("excerpt", ()))),
        unreadable=data.get("unreadable"),
        # Absent from grids merged before Flask-Admin's own tests could run.
        upstream=upstream_from_json(data["upstream"]) if data.get("upstream") else None,
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
    write_text_atomic(path, render_json(grid))


def read_grid(path: Path) -> Grid:
    """Read and validate a ``grid.json``; every failure is a :class:`GridError`."""
    data = read_json_file(path, error=GridError)
    try:
        return grid_from_json(data)
    except GridError as exc:
        raise GridError(f"{path}: {exc}") from None
