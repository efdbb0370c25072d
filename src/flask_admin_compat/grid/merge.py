"""Collect cell folders from disk and merge their results into a :class:`Grid`.

Collecting is the only step that touches the disk; merging is a pure function of what was
collected, so merging CI shards gives the grid of one full run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from flask_admin_compat.grid.artifacts import (
    MAX_MESSAGE_CHARS,
    capped,
    cell_log,
    folder_refusal,
    open_no_link,
)
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
    log_problem: str | None = None  # the log the result names, refused (a link, outside)
    cut: int = 0  # messages of the result cut to what the grid takes


#: What a cell shows when its folder is a file: nothing in it can be its result.
NOT_A_FOLDER = "not a folder: a file stands where the cell's folder should be"


def collect(cells_dir: Path, *, grid_dir: Path) -> tuple[Collected, ...]:
    """Read every cell folder under ``cells_dir``; a broken result is a value, not a raise.

    A folder without a ``result.json`` counts too: a cell that died before writing its result
    must show in the grid, not vanish from it; so does a file where a folder should be.
    """
    entries = sorted(p for p in cells_dir.iterdir() if not p.name.startswith("."))
    return tuple(_collect_one(entry, grid_dir=grid_dir) for entry in entries)


def _collect_one(folder: Path, *, grid_dir: Path) -> Collected:
    result_file = folder / RESULT_FILE
    refused = folder_refusal(folder, result_file)
    if refused is not None:
        return Collected(folder.name, _relative(result_file, grid_dir), None, refused)
    if not _is_dir(folder):
        return Collected(folder.name, _relative(folder, grid_dir), None, NOT_A_FOLDER)
    result: CellResult | None
    cut = 0
    try:
        result, cut = capped(read_result(result_file))
        problem = None
    except ResultError as exc:
        # The reader names the file; the grid names it already, relative to itself.
        result, problem = None, str(exc).removeprefix(f"{result_file}: ")
    log_name = result.log if result is not None else LOG_FILE
    log_file, log_problem = cell_log(folder, log_name) if log_name else (None, None)
    log_exists = log_file is not None and _is_file(log_file)
    return Collected(
        folder=folder.name,
        result_path=_relative(result_file, grid_dir),
        result=result,
        problem=problem,
        log_path=_relative(log_file, grid_dir) if log_file is not None else None,
        log_exists=log_exists,
        log_excerpt=read_log_excerpt(log_file) if log_file is not None and log_exists else (),
        log_problem=log_problem,
        cut=cut,
    )


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # e.g. a folder above it that may not be searched: not usable either way
        return False


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def read_log_excerpt(path: Path) -> tuple[str, ...]:
    """The last non-blank lines of a log, each cut short: logs can be huge or binary."""
    try:
        with os.fdopen(open_no_link(path), "rb") as handle:
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
    matrix_cells: Mapping[str, Mapping[str, str]] | None = None,
) -> Grid:
    """Merge collected cells into a grid.

    ``link_local_logs=False`` is for a grid published without its logs (the one committed to
    the repository): cells show their log's last lines instead of a link that would break.

    Each cell gets its newest readable result, wherever it was found: a result in another
    cell's folder still counts for its own cell, and the folder it sat in shows as that
    folder's cell with an unreadable result (its own result is not there). Merging is
    order-independent, so merging CI shards gives the grid of one full run.

    Given ``matrix_cells`` (cell id to its requested specs, the whole current matrix), the
    grid is the matrix: one entry per cell that has a result, the cells a run did not reach
    carried from ``previous`` (the grid being replaced) as they were, with their own dates,
    and cells no longer in the matrix left out (the diff lists them as gone). Without it
    (merging shards, or folders alone), every cell found is shown and ``previous`` only helps
    place unreadable cells.
    """
    items = list(collected)
    links = _LogLinks(link_base, link_local_logs)
    readable: dict[str, GridCell] = {}
    for item in items:
        if item.result is not None:
            _keep_newest(readable, _from_result(item, links))
    unreadable = {item.folder: item for item in map(_as_folder, items) if item.result is None}
    carried = (
        {c.cell_id: c for c in previous.cells} if previous and matrix_cells is not None else {}
    )
    ids = sorted(matrix_cells if matrix_cells is not None else {*readable, *unreadable})
    placed = tuple(readable.values())
    cells: list[GridCell] = []
    for cell_id in ids:
        found = {cell_id: readable[cell_id]} if cell_id in readable else {}
        old = carried.get(cell_id)
        if old is not None and old.unreadable is None:
            _keep_newest(found, old)  # a result on disk wins a tie: it has its log
        if cell_id in found:
            cells.append(found[cell_id])
        elif cell_id in unreadable:
            requested = (matrix_cells or {}).get(cell_id)
            cells.append(_unreadable(unreadable[cell_id], links, placed, previous, requested))
        elif old is not None:  # unreadable then, and nothing new found: still shown as it was
            cells.append(old)
    return Grid(generated_at, harness_version, tuple(cells), link_base=link_base)


def _keep_newest(by_id: dict[str, GridCell], cell: GridCell) -> None:
    """Keep ``cell`` if it finished later than the one kept for its id (the first on a tie)."""
    kept = by_id.get(cell.cell_id)
    if kept is None or (cell.finished_at or "") > (kept.finished_at or ""):
        by_id[cell.cell_id] = cell


def _as_folder(item: Collected) -> Collected:
    """The folder's own cell: a folder holding another cell's result holds none of its own."""
    if item.result is None or item.result.cell_id == item.folder:
        return item
    return replace(item, result=None, problem=f"it holds the result of cell {item.result.cell_id}")


def left_out(
    collected: Iterable[Collected], grid: Grid, matrix_cells: Mapping[str, object]
) -> tuple[list[str], list[str]]:
    """Cell folders found that are no cell of the matrix, and matrix cells with no result."""
    shown = {c.cell_id for c in grid.cells}
    found = {i.folder for i in collected} | {i.result.cell_id for i in collected if i.result}
    return sorted(found - set(matrix_cells)), sorted(set(matrix_cells) - shown)


def merge_problems(collected: Iterable[Collected]) -> list[str]:
    """What a person running the merge must hear about: unreadable results and duplicates."""
    problems: list[str] = []
    owners: dict[str, str] = {}
    for item in collected:
        if item.log_problem is not None:
            problems.append(f"cell {item.folder}: {item.log_problem}")
        if item.result is None:
            problems.append(f"cannot use {item.result_path}: {item.problem}")
            continue

        cell_id = item.result.cell_id
        if cell_id != item.folder:
            problems.append(
                f"{item.result_path} is for cell {cell_id}, not {item.folder}: "
                f"it counts for {cell_id}, and {item.folder} has no result of its own"
            )
        if cell_id in owners:
            problems.append(
                f"{item.result_path} and {owners[cell_id]} are both cell {cell_id}; "
                "the grid keeps the one that finished last"
            )
        owners.setdefault(cell_id, item.result_path)
    return problems


def merge_notes(collected: Iterable[Collected]) -> list[str]:
    """What was cut on its way into the grid: said, but no problem with the reports."""
    return [
        f"{item.result_path}: {item.cut} message(s) longer than {MAX_MESSAGE_CHARS:,} "
        "characters, cut in the grid (whole in the result file and the log)"
        for item in collected
        if item.cut
    ]


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
    item: Collected,
    links: _LogLinks,
    placed: Sequence[GridCell],
    previous: Grid | None,
    known: Mapping[str, str] | None = None,
) -> GridCell:
    # The matrix knows the cell's specs; failing that, they are guessed from its id.
    requested = dict(known) if known is not None else infer_requested(item.folder, placed, previous)
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
