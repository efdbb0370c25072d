"""One ``run``: from a loaded matrix to written results and a merged grid, as named steps.

:func:`run_matrix` reads as the pipeline it is: ask the index, check the specs against it,
choose the cells (and the shard), plan what each must run, run them in the pool, summarise,
merge. A step that cannot go on raises :class:`Stop` with the exit status and the lines to
say, and only :func:`run_matrix` turns that into output.
"""

from __future__ import annotations

import math
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO

from flask_admin_compat import exitcodes
from flask_admin_compat.matrix.build_pins import pin_builds
from flask_admin_compat.matrix.cells import Cell, expand, needs_index, unused_rules
from flask_admin_compat.matrix.freshness import fingerprints, stale_suites, upstream_fingerprints
from flask_admin_compat.matrix.index import (
    IndexSnapshot,
    IndexUnavailable,
    check_against_index,
    load_or_fetch_snapshot,
)
from flask_admin_compat.matrix.matrix import POSTGRESQL, SCOPING, SUITES, UPSTREAM, Matrix
from flask_admin_compat.matrix.select import choose
from flask_admin_compat.matrix.series import series_cache_for, write_series_cache
from flask_admin_compat.matrix.shard import Shard, durations_from_grid, pick
from flask_admin_compat.results.model import RESULT_FILE, VERDICTS, CellResult, read_result
from flask_admin_compat.run.bytecode import BytecodeStore
from flask_admin_compat.run.cell import run_cell
from flask_admin_compat.run.exclusive import RUN_LOCK, Busy, exclusive
from flask_admin_compat.run.locks import LockCache, generation
from flask_admin_compat.run.options import ENGINE_DIR, RunOptions
from flask_admin_compat.run.pool import Finished, longest_first, run_pool
from flask_admin_compat.run.postgres import server_for_cells
from flask_admin_compat.run.process import Reaper, end_leftovers
from flask_admin_compat.run.pythons import DownloadPython
from flask_admin_compat.run.upstream_plan import DATABASE_URL, deps_text, load_deps


@dataclass(frozen=True)
class Layout:
    """Where a run reads and writes: the project (suite, environments, caches) and reports."""

    root: Path
    reports: Path

    @property
    def cells_dir(self) -> Path:
        return self.reports / "cells"

    @property
    def venvs_dir(self) -> Path:
        return self.root / ".venvs"

    @property
    def cache_dir(self) -> Path:
        """What the harness keeps between runs; deleting it only costs work."""
        return self.root / ".cache"

    @property
    def snapshot(self) -> Path:
        return self.cache_dir / "index-snapshot.json"

    @property
    def locks_dir(self) -> Path:
        return self.cache_dir / "locks"

    @property
    def bytecode_dir(self) -> Path:
        return self.cache_dir / "bytecode"

    @property
    def templates_dir(self) -> Path:
        return self.cache_dir / "templates"

    @property
    def builds_dir(self) -> Path:
        """Unreleased builds' bytes, each in a folder named by its sha256 (matrix/build_pins)."""
        return self.cache_dir / "builds"

    @property
    def running_dir(self) -> Path:
        """A pid file per running command: what a run that died left behind is found here."""
        return self.cache_dir / "running"

    @property
    def run_lock(self) -> Path:
        return self.cache_dir / RUN_LOCK

    @property
    def grid_file(self) -> Path:
        return self.reports / "grid.json"


@dataclass(frozen=True)
class RunRequest:
    """What the person asked this run to do (the ``run`` command's options)."""

    keyword: str | None = None
    cells: tuple[str, ...] = ()
    jobs: int | None = None
    force: bool = False
    exclude_newer: datetime | None = None
    refresh_index: bool = False
    echo: bool = False
    shard: Shard | None = None
    suites: tuple[str, ...] | None = None  # None: the matrix's [settings] suites
    pytest_args: tuple[str, ...] = ()
    download_python: DownloadPython = "never"
    wait: bool = False  # another run holds the checkout: wait for it rather than refuse


class Stop(Exception):
    """A step that cannot go on: the exit status and what to tell the person (stderr lines)."""

    def __init__(self, code: int, *lines: str) -> None:
        super().__init__(*lines)
        self.code = code
        self.lines = lines


@dataclass(frozen=True)
class Ran:
    """What a run did, for the step after it (the merge, at the command's level).

    ``merge`` is false when there is nothing to merge: the run stopped before its cells, or
    it ran one shard (the next shard balances on the durations in grid.json, so rewriting it
    between shards would change the partition: measured, 80 of 180 cells ran twice, 6
    never).
    """

    code: int
    results: tuple[CellResult, ...] = ()
    #: Every cell of the matrix, id -> requested specs: the grid is exactly these.
    matrix_cells: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    merge: bool = False
    #: The index's releases by package, as this run saw them: the merge flags a cell that
    #: installed one no longer listed (yanked or removed since).
    listed: Mapping[str, frozenset[str]] | None = None


def run_matrix(
    matrix: Matrix,
    layout: Layout,
    request: RunRequest,
    *,
    out: IO[str],
    carried: Mapping[str, CellResult],
) -> Ran:
    """Run the chosen cells of ``matrix`` and write their results; the grid is not touched.

    ``carried``: each cell's result in the grid being replaced (a cell whose folder is gone
    keeps it, and its duration orders the pool).

    One run at a time per checkout: a second one refuses, naming the first (or waits for
    it, with ``--wait``), since both would share the cells' environments and reports.
    """
    with ExitStack() as held:
        try:
            held.enter_context(
                exclusive(
                    layout.run_lock,
                    what=f"flask-admin-compat run on {layout.root}",
                    wait_s=math.inf if request.wait else 0.0,
                    on_wait=lambda who: print(f"waiting for {who.describe()}", file=sys.stderr),
                )
            )
        except Busy as busy:
            print(
                f"error: another run is using {layout.root}: {busy.holder.describe()}; "
                "wait for it to end, or run again with --wait",
                file=sys.stderr,
            )
            return Ran(exitcodes.BUSY)
        except OSError as exc:
            print(f"error: cannot take the run lock {layout.run_lock}: {exc}", file=sys.stderr)
            return Ran(exitcodes.HARNESS_ERROR)
        except KeyboardInterrupt:  # Ctrl-C while waiting (--wait): nothing was started
            print("\ninterrupted while waiting for the other run", file=sys.stderr)
            return Ran(exitcodes.INTERRUPTED)
        end_crashed_runs_leftovers(layout)
        return _run_matrix(matrix, layout, request, out=out, carried=carried)


def end_crashed_runs_leftovers(layout: Layout) -> None:
    """End what a run that died left running in this checkout's environments, and say so."""
    try:
        ended = end_leftovers(layout.running_dir)
    except OSError as exc:
        print(f"warning: cannot look for a crashed run's commands: {exc}", file=sys.stderr)
        return
    for what in ended:
        print(f"note: ended a command left running by a run that died: {what}", file=sys.stderr)


def _run_matrix(
    matrix: Matrix,
    layout: Layout,
    request: RunRequest,
    *,
    out: IO[str],
    carried: Mapping[str, CellResult],
) -> Ran:
    try:
        snapshot = ask_index(matrix, layout, request)
        every_cell = matrix_cells(matrix, snapshot, request)
        cells = choose_cells(matrix, snapshot, request)
        cells = pin_builds(
            pick_shard(cells, layout, request.shard), store=layout.builds_dir, matrix=matrix
        )
        if not cells:  # more shards than cells: an empty shard has nothing to do
            assert request.shard is not None
            out.write(f"shard {request.shard.index}/{request.shard.count} has no cells\n")
            return Ran(exitcodes.OK)
        suites = request.suites or matrix.settings.suites
        options = run_options(matrix, layout, request, cells, snapshot, suites, carried)
        to_run = plan_suites(cells, layout, options, suites, force=request.force)
        finished, kept = run_cells(cells, layout, options, to_run, matrix, request, out=out)
    except Stop as stop:
        for line in stop.lines:
            print(line, file=sys.stderr)
        return Ran(stop.code)
    results = [f.result for f in finished] + kept
    out.write(summary(results, finished=finished))
    out.flush()
    harness_failed = any(
        r.verdict == "error" or (r.upstream is not None and r.upstream.status == "error")
        for r in results
    )
    return Ran(
        exitcodes.HARNESS_ERROR if harness_failed else exitcodes.OK,
        tuple(results),
        {c.id: c.requested for c in every_cell},
        # The grid covers every cell on disk, not only this run's, so a run of a few cells
        # (-k) refreshes its rows and keeps the others; a shard leaves the grid alone.
        merge=request.shard is None,
        listed={p: frozenset(str(v) for v in snapshot.versions(p)) for p in snapshot.releases},
    )


def ask_index(matrix: Matrix, layout: Layout, request: RunRequest) -> IndexSnapshot:
    """The release lists every spec is resolved against, and the specs checked against them."""
    exclude_newer = request.exclude_newer
    try:
        snapshot, fetched = load_or_fetch_snapshot(
            layout.snapshot,
            matrix.packages,
            max_age_s=matrix.settings.index_max_age_s,
            refresh=request.refresh_index,
        )
    except IndexUnavailable as exc:
        raise Stop(
            exitcodes.HARNESS_ERROR, f"error: the package index did not answer: {exc}"
        ) from None
    problems = check_against_index(matrix, snapshot, exclude_newer=exclude_newer)
    if problems and exclude_newer is None:
        raise Stop(exitcodes.USAGE, *(f"error: {problem}" for problem in problems))
    for problem in problems:
        # As of a past date a spec may name a release that did not exist yet: its cells run
        # and the resolver says so (uninstallable), as a grid made on that date would have.
        print(f"warning: {problem} as of {exclude_newer:%Y-%m-%d}", file=sys.stderr)
    if fetched and write_series_cache(series_cache_for(matrix), matrix, snapshot):
        print(f"note: refreshed {series_cache_for(matrix).name}; commit it", file=sys.stderr)
    return snapshot


def matrix_cells(matrix: Matrix, snapshot: IndexSnapshot, request: RunRequest) -> list[Cell]:
    """Every cell of the matrix as the index lists releases now: what the grid holds."""
    exclude_newer = request.exclude_newer
    releases = {p: snapshot.versions(p, exclude_newer=exclude_newer) for p in needs_index(matrix)}
    return expand(matrix, releases=releases)


def choose_cells(matrix: Matrix, snapshot: IndexSnapshot, request: RunRequest) -> list[Cell]:
    """The matrix's cells as the index lists releases now, narrowed by ``-k`` and ``--cell``."""
    exclude_newer = request.exclude_newer
    releases = {p: snapshot.versions(p, exclude_newer=exclude_newer) for p in needs_index(matrix)}
    all_cells = expand(matrix, releases=releases)
    cells = choose(all_cells, keyword=request.keyword, names=request.cells)
    for rule in unused_rules(matrix, all_cells):
        print(f"warning: {matrix.path}: exclude[{rule.index}] matches no cell", file=sys.stderr)
    if not cells:
        raise Stop(exitcodes.USAGE, "error: no cell matches the selection")
    return cells


def pick_shard(cells: list[Cell], layout: Layout, shard: Shard | None) -> list[Cell]:
    """This shard's cells, balanced on the durations in the committed grid; all without one."""
    if shard is None:
        return cells
    past = durations_from_grid(layout.grid_file)
    return pick(cells, [c.id for c in cells], shard, past)


def run_options(
    matrix: Matrix,
    layout: Layout,
    request: RunRequest,
    cells: Sequence[Cell],
    snapshot: IndexSnapshot,
    suites: Sequence[str],
    carried: Mapping[str, CellResult],
) -> RunOptions:
    """Everything the cells of this run share, their freshness keys included."""
    exclude_newer = request.exclude_newer
    database_url = os.environ.get(DATABASE_URL) or None
    upstream = UPSTREAM in suites
    return RunOptions(
        repo_root=layout.root,
        cells_dir=layout.cells_dir,
        venvs_dir=layout.venvs_dir,
        timeout_s=matrix.settings.timeout_s,
        fingerprint_of=fingerprints(
            cells,
            snapshot=snapshot,
            suite=SCOPING,
            suite_dir=layout.root / "tests" / SCOPING,
            engine_dir=layout.root / ENGINE_DIR,
            exclude_newer=exclude_newer,
            pytest_args=request.pytest_args,
            timeout_s=matrix.settings.timeout_s,
        ),
        exclude_newer=exclude_newer.isoformat() if exclude_newer else None,
        pytest_args=request.pytest_args,
        suite=SCOPING,
        reaper=Reaper(running_dir=layout.running_dir),
        upstream_fingerprint_of=upstream_fingerprints(
            cells,
            snapshot=snapshot,
            deps_text=deps_text(),
            exclude_newer=exclude_newer,
            postgres=database_url is not None,
            timeout_s=matrix.settings.timeout_s,
        )
        if upstream
        else {},
        upstream_deps=load_deps() if upstream else None,
        database_url=database_url,
        carried=carried,
        lock_cache=LockCache(
            layout.locks_dir,
            generation(
                index_url=snapshot.index_url,
                fetched_at=snapshot.fetched_at.isoformat(),
                exclude_newer=exclude_newer.isoformat() if exclude_newer else None,
            ),
        ),
        refresh_packages=tuple(sorted(snapshot.changed)),
        download_python=request.download_python,
        bytecode=BytecodeStore(layout.bytecode_dir),
        templates_dir=layout.templates_dir,
    )


def plan_suites(
    cells: Sequence[Cell],
    layout: Layout,
    options: RunOptions,
    suites: Sequence[str],
    *,
    force: bool,
) -> dict[str, tuple[str, ...]]:
    """Each cell's suites to run now: all asked with ``--force``, else the stale ones."""
    keys = {SCOPING: options.fingerprint_of, UPSTREAM: options.upstream_fingerprint_of}
    if force:
        return {c.id: tuple(suites) for c in cells}
    return {
        c.id: stale_suites(
            layout.cells_dir / c.id,
            {s: keys[s][c.id] for s in suites},
            excluded=c.excluded_by is not None,
        )
        for c in cells
    }


def run_cells(
    cells: Sequence[Cell],
    layout: Layout,
    options: RunOptions,
    to_run: Mapping[str, tuple[str, ...]],
    matrix: Matrix,
    request: RunRequest,
    *,
    out: IO[str],
) -> tuple[list[Finished], list[CellResult]]:
    """Run the stale cells in the pool; the finished ones, and the fresh results kept."""
    fresh = [c for c in cells if not to_run[c.id]]
    stale = [c for c in cells if to_run[c.id]]
    jobs = request.jobs or matrix.settings.jobs or os.cpu_count() or 1
    asked = request.suites or matrix.settings.suites
    out.write(
        f"{len(cells)} cells: {len(stale)} to run, {len(fresh)} fresh (kept; --force runs them), "
        f"{min(jobs, max(1, len(stale)))} at a time{_suite_tally(asked, to_run.values())}\n"
    )
    echo = out if request.echo and len(stale) == 1 else None
    on_server = any(c.database == POSTGRESQL and SCOPING in to_run[c.id] for c in stale)
    reaper = options.reaper
    assert reaper is not None  # run_options always gives one
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with server_for_cells(needed=on_server, database_url=options.database_url) as (
            server,
            missing,
        ):
            options = replace(options, postgres=server, postgres_missing=missing)
            finished = run_pool(
                longest_first(stale, past_durations(options.carried)),
                lambda cell: run_cell(cell, options, echo=echo, suites=to_run[cell.id]),
                jobs=jobs,
                out=out,
                on_interrupt=reaper.kill_all,
            )
    except KeyboardInterrupt:
        raise Stop(
            exitcodes.INTERRUPTED, "\ninterrupted: finished cells are kept; run again to go on"
        ) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        reaper.close()
    kept = [read_result(layout.cells_dir / c.id / RESULT_FILE) for c in fresh]
    return finished, kept


def past_durations(results: Mapping[str, CellResult]) -> dict[str, float]:
    """Each cell's total seconds in the grid being replaced, where it ran."""
    return {
        cell_id: result.durations["total"]
        for cell_id, result in results.items()
        if "total" in result.durations
    }


def _suite_tally(asked: Sequence[str], to_run: Iterable[Sequence[str]]) -> str:
    """``; scoping 0, upstream 3``: what runs per suite, said only when upstream is involved.

    A cell with no verdict yet runs the scoping suite even when only upstream was asked for.
    """
    plans = list(to_run)
    shown = [s for s in SUITES if s in asked or any(s in p for p in plans)]
    if shown == [SCOPING]:
        return ""
    return "; " + ", ".join(f"{s} {sum(s in p for p in plans)}" for s in shown)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def summary(results: Sequence[CellResult], *, finished: Sequence[Finished]) -> str:
    """This run's cells that are not plainly compatible, the verdict counts, the slowest."""
    lines = [""]
    for result in sorted(results, key=lambda r: r.cell_id):
        if result.verdict == "compatible" and not result.flags:
            continue
        reason = result.reason.splitlines()[0] if result.reason else ""
        flags = "".join(f" ({flag})" for flag in result.flags)
        lines.append(f"{result.cell_id:<44} {result.verdict + flags:<21} {reason[:110]}")
    counts = Counter(r.verdict for r in results)
    lines.append("")
    lines.append("verdicts: " + ", ".join(f"{v} {counts[v]}" for v in VERDICTS if counts[v]))
    slowest = sorted(finished, key=lambda f: f.elapsed_s, reverse=True)[:3]
    if slowest:
        lines.append("slowest: " + ", ".join(f"{f.cell.id} ({f.elapsed_s:.1f} s)" for f in slowest))
    return "\n".join(lines + upstream_summary(results)) + "\n"


def upstream_summary(results: Sequence[CellResult]) -> list[str]:
    """Flask-Admin's own tests, where they ran: cells with failures or none to show, then a tally.

    Beside the verdicts, never mixed into them.
    """
    ran = sorted((r for r in results if r.upstream is not None), key=lambda r: r.cell_id)
    if not ran:
        return []
    lines = ["", "Flask-Admin's own tests (upstream):"]
    for result in ran:
        upstream = result.upstream
        assert upstream is not None
        if upstream.status == "ran" and not (upstream.counts.failed or upstream.counts.errors):
            continue
        reason = upstream.reason.splitlines()[0] if upstream.reason else ""
        lines.append(f"{result.cell_id:<44} {upstream.status:<6} {reason[:120]}")
    statuses = Counter(r.upstream.status for r in ran if r.upstream is not None)
    lines.append(
        "upstream: "
        + ", ".join(f"{s} {statuses[s]}" for s in ("ran", "n/a", "error") if statuses[s])
    )
    return lines
