"""Merge every cell's result into ``grid.json``, ``grid.md`` and ``grid.html``.

What ``flask-admin-compat merge`` (``nox -s report``, ``scripts/merge_grid.py``) and the end of
``nox -s matrix``. It reads, merges, compares with the previous grid, renders each format
through one :class:`Renderer` and writes every file atomically in :func:`write_outputs`.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TextIO

from flask_admin_compat import __version__, exitcodes
from flask_admin_compat.grid.causes import with_causes
from flask_admin_compat.grid.diff import with_changes
from flask_admin_compat.grid.known import KnownIssue, KnownIssuesError, load_known
from flask_admin_compat.grid.merge import (
    Collected,
    collect,
    left_out,
    merge,
    merge_notes,
    merge_problems,
)
from flask_admin_compat.grid.model import GRID_FILE, Grid, GridError, json_chunks, read_grid
from flask_admin_compat.grid.scrub import scrub_grid
from flask_admin_compat.grid.withdrawn import flag_withdrawn
from flask_admin_compat.jsonio import recover_set, write_texts_atomic
from flask_admin_compat.report.badges import BADGE_DIR, badge_texts
from flask_admin_compat.report.cause_words import headline
from flask_admin_compat.report.feed import FEED_FILE, previous_entries, render_feed
from flask_admin_compat.report.html import render_html
from flask_admin_compat.report.markdown import render_markdown
from flask_admin_compat.report.repro import REPRO_DIR, repro_texts
from flask_admin_compat.results.model import RESULT_FILE, VERDICTS, CellResult
from flask_admin_compat.run.exclusive import exclusive

#: The merge's own lock, in the reports folder it writes (kept out of git).
GRID_LOCK = ".merge.lock"


class Renderer(Protocol):
    """One output format: the whole file's text from the grid (or its pieces, in order)."""

    def __call__(self, grid: Grid, /) -> str | Iterator[str]: ...


#: File name to renderer; adding a format is one line here.
OUTPUTS: Mapping[str, Renderer] = {
    GRID_FILE: json_chunks,
    "grid.md": render_markdown,
    "grid.html": render_html,
}


@dataclass(frozen=True)
class MergeRequest:
    """How to merge: what to compare with and where links point (the ``merge`` options)."""

    previous: Path | None = None  # None: the grid.json being replaced
    compare: bool = True  # False: write no Changes section
    fail_on_regression: bool = False
    link_base: str | None = None
    link_local_logs: bool = True
    # The current matrix's cells (id to requested specs): the grid is exactly those, cells
    # not re-run carried from the grid being replaced. None: every cell folder found.
    matrix_cells: Mapping[str, Mapping[str, str]] | None = None
    # This run's results, for the cells whose result could not be written to their folder.
    this_run: tuple[CellResult, ...] = ()
    # The index's releases now, by package (a run's look at it): a cell that installed one
    # it no longer lists is flagged. None: not asked (a merge offline, as in CI).
    listed: Mapping[str, frozenset[str]] | None = None


def merge_folder(cells_dir: Path, out_dir: Path, request: MergeRequest | None = None) -> int:
    """Merge every cell folder under ``cells_dir`` into the grid files in ``out_dir``.

    One merge at a time per reports folder (``.merge.lock``, an OS lock: a second merge, or a
    run's, waits for it), so that two never mix their files; each first finishes what a
    merge killed midway left (:func:`recover_outputs`).
    """
    try:
        with _merging(out_dir):
            for line in _recover(out_dir):
                _say(line)
            return _merge_locked(cells_dir, out_dir, request or MergeRequest())
    except OSError as exc:
        _say(f"cannot lock the reports folder, nothing written: {exc}")
        return exitcodes.DAMAGED


def recover_outputs(out_dir: Path) -> tuple[str, ...]:
    """Finish (or undo) a grid write a killed merge left, and remove its leftover files.

    Taken under the merge's lock, as a run does when it starts; what was done, in words.
    A reports folder that is not there has nothing to recover, and is not made.
    """
    if not out_dir.is_dir():
        return ()
    with _merging(out_dir):
        return _recover(out_dir)


def _merging(out_dir: Path) -> AbstractContextManager[None]:
    return exclusive(
        out_dir / GRID_LOCK,
        what=f"a merge into {out_dir}",
        wait_s=math.inf,
        on_wait=lambda who: _say(f"waiting for {who.describe()}"),
    )


def _recover(out_dir: Path) -> tuple[str, ...]:
    """What a merge killed midway left: the journal names every file of its set (the grid's
    three, the feed, badges, reproductions); badges and reproductions change names between
    merges, so their folders' leftovers go by pattern."""
    return recover_set(
        [*(out_dir / name for name in OUTPUTS), out_dir / FEED_FILE],
        folders=(out_dir / BADGE_DIR, out_dir / REPRO_DIR),
    )


def _merge_locked(cells_dir: Path, out_dir: Path, request: MergeRequest) -> int:
    started = time.perf_counter()
    try:
        found = cells_dir.is_dir()
        if not found and request.matrix_cells is None:
            _say(f"no cells folder at {cells_dir}; run `nox -s matrix` first")
            return exitcodes.USAGE
        # With the matrix, no folder at all is a fresh clone: the grid carries every cell.
        collected = collect(cells_dir, grid_dir=out_dir) if found else ()
    except OSError as exc:
        _say(f"cannot read the cells folder: {exc}")
        return exitcodes.DAMAGED
    collected = (*collected, *_unwritten(request.this_run, collected, cells_dir, out_dir))
    problems = merge_problems(collected)
    for problem in (*problems, *merge_notes(collected)):
        _say(problem)
    replaced = _replaced_grid(out_dir)
    previous = _previous(request, out_dir, replaced)
    grid = merge(
        collected,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        harness_version=__version__,
        link_base=request.link_base,
        previous=replaced if request.matrix_cells is not None else previous,
        link_local_logs=request.link_local_logs,
        matrix_cells=request.matrix_cells,
    )
    if request.matrix_cells is not None:
        _say_left_out(collected, grid, request.matrix_cells, replaced)
    grid = with_causes(scrub_grid(grid), known=_known_issues())
    grid = with_changes(grid, previous)
    if request.listed is not None:
        grid = flag_withdrawn(grid, request.listed)
    try:
        written = write_outputs(grid, out_dir)
    except OSError as exc:
        _say(f"cannot write the grid, none of its files replaced: {exc}")
        return exitcodes.DAMAGED
    _summarise(grid, written, seconds=time.perf_counter() - started, out=sys.stdout)
    changes = grid.changes
    if changes is not None and changes.regressions:
        for change in changes.regressions:
            broke = f"; broke: {', '.join(change.checks)}" if change.checks else ""
            _say(f"regression: {change.cell_id}: {change.before} -> {change.after}{broke}")
        if request.fail_on_regression:
            return exitcodes.REGRESSION
    return exitcodes.DAMAGED if problems else exitcodes.OK


def _known_issues() -> tuple[KnownIssue, ...]:
    """The packaged known issues; a broken file is said and costs only the issue links."""
    try:
        return load_known()
    except KnownIssuesError as exc:
        _say(f"causes shown without their upstream issues: {exc}")
        return ()


def _say(line: str) -> None:
    print(f"merge_grid: {line}", file=sys.stderr)


def _unwritten(
    results: Sequence[CellResult], collected: Sequence[Collected], cells_dir: Path, out_dir: Path
) -> list[Collected]:
    """This run's results that are not on disk as they are (their folder refused them)."""
    on_disk = {(c.result.cell_id, c.result.finished_at) for c in collected if c.result}
    return [
        Collected(
            folder=r.cell_id,
            result_path=Path(
                os.path.relpath(cells_dir / r.cell_id / RESULT_FILE, out_dir)
            ).as_posix(),
            result=r,
        )
        for r in results
        if (r.cell_id, r.finished_at) not in on_disk
    ]


def _say_left_out(
    collected: Sequence[Collected],
    grid: Grid,
    matrix_cells: Mapping[str, object],
    replaced: Grid | None,
) -> None:
    """Name what the matrix left out: folders of cells gone from it, cells with no result."""
    stray, missing = left_out(collected, grid, matrix_cells)
    if stray:
        _say(f"not cells of the matrix, left out of the grid: {', '.join(stray)}")
    if replaced is not None:
        gone = sorted({c.cell_id for c in replaced.cells} - set(matrix_cells))
        if gone:
            _say(f"gone from the matrix, and so from the grid: {', '.join(gone)}")
    if missing:
        _say(f"{len(missing)} cells of the matrix have no result yet (not in the grid)")


def _replaced_grid(out_dir: Path) -> Grid | None:
    """The grid.json about to be replaced: the cells a subset run did not reach come from it."""
    path = out_dir / GRID_FILE
    try:
        if not path.exists():
            return None
        return read_grid(path)
    except (GridError, OSError) as exc:
        _say(f"not comparing with the previous grid, nor carrying cells from it: {exc}")
        return None


def _previous(request: MergeRequest, out_dir: Path, replaced: Grid | None) -> Grid | None:
    """The grid to compare with; an unusable one is reported and skipped, never fatal."""
    if not request.compare:
        return None
    if request.previous is None:
        return replaced  # a first run: nothing to compare with, and nothing to warn about
    try:
        return read_grid(request.previous)
    except GridError as exc:
        _say(f"not comparing with the previous grid: {exc}")
        return None


def write_outputs(grid: Grid, out_dir: Path) -> list[Path]:
    """Render every format, then write them all or none (:func:`write_texts_atomic`).

    Staging all before replacing any, and replacing none unless all can be, keeps the three
    files from disagreeing after a crash or a damaged reports folder. grid.json is encoded
    as it is staged, never held whole.
    """
    texts: dict[Path, str | Iterator[str]] = {
        out_dir / name: render(grid) for name, render in OUTPUTS.items()
    }
    texts[out_dir / FEED_FILE] = render_feed(grid, previous_entries(out_dir / FEED_FILE))
    texts.update(badge_texts(grid, out_dir))
    repros = repro_texts(grid, out_dir)
    texts.update(repros)
    write_texts_atomic(texts)
    _prune(out_dir / REPRO_DIR, keep=set(repros))
    return list(texts)


def _prune(folder: Path, *, keep: set[Path]) -> None:
    """Reproductions of causes gone from the grid: a script for a cause no cell has misleads."""
    try:
        stale = [p for p in folder.glob("*.py") if p not in keep]
        for path in stale:
            path.unlink(missing_ok=True)
    except OSError as exc:
        _say(f"could not remove old reproductions: {exc}")


def _summarise(grid: Grid, written: list[Path], *, seconds: float, out: TextIO) -> None:
    counts = grid.counts
    shown = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]) or "no cells"
    flaky = f" ({counts['flaky']} flaky)" if counts["flaky"] else ""
    top = [p for p in written if p.parent == written[0].parent]
    folders = Counter(p.parent for p in written if p not in top)
    names = ", ".join([*map(str, top), *(f"{n} files in {d}" for d, n in folders.items())])
    print(f"merged {len(grid.cells)} cells in {seconds:.2f} s: {shown}{flaky}", file=out)
    if grid.causes:
        print(headline(grid), file=out)
    print(f"wrote {names}", file=out)
    if grid.changes is not None:
        c = grid.changes
        print(
            f"since {c.previous_generated_at}: {len(c.regressions)} regressions, "
            f"{len(c.fixes)} fixes, {len(c.other)} other changes, {len(c.new)} new, "
            f"{len(c.gone)} gone",
            file=out,
        )
