"""Collect cell folders from disk and merge their results into a :class:`Grid`.

Collecting is the only step that touches the disk; merging is a pure function of what was
collected, so merging CI shards gives the grid of one full run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from flask_admin_compat.grid.model import PYTHON_AXIS, UNREADABLE, Grid, GridCell, LogRef, safe_link
from flask_admin_compat.results.model import (
    LOG_FILE,
    RESULT_FILE,
    CellResult,
    PythonInfo,
    ResultError,
    read_result,
)

#: Enough of a log to recognise a failure where there is no log to link to.
LOG_EXCERPT_LINES = 5


LOG_EXCERPT_CHARS = 200


_LOG_EXCERPT_BYTES = 64 * 1024


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
    # What grid.json keeps of it: the log is the cell's LogRef, the interpreter its version.
    kept = replace(
        result, python=PythonInfo(result.python.requested, result.python.version), log=None
    )
    return GridCell(kept, item.result_path, log=_log_ref(item, result.cell_id, links))


def _unreadable(
    item: Collected, links: _LogLinks, placed: Sequence[GridCell], previous: Grid | None
) -> GridCell:
    requested = infer_requested(item.folder, placed, previous)
    stand_in = CellResult(
        cell_id=item.folder,
        requested=requested,
        python=PythonInfo(requested.get(PYTHON_AXIS, "")),
        verdict="error",
        reason=f"{UNREADABLE}: {item.problem}",
        started_at="",
        finished_at="",
        fingerprint="",
        harness_version="",
    )
    return GridCell(
        stand_in,
        item.result_path,
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
