"""Command line of the harness: list the cells, run one or all of them.

The noxfile calls :func:`main`; so can a user (``flask-admin-compat run -k admin22``) and the
tests, which call it directly with an argument list.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType
from typing import IO

from flask_admin_compat.matrix.cells import Cell, expand, needs_index, unused_rules
from flask_admin_compat.matrix.freshness import fingerprints, stale_suites, upstream_fingerprints
from flask_admin_compat.matrix.index import (
    IndexUnavailable,
    check_against_index,
    load_or_fetch_snapshot,
)
from flask_admin_compat.matrix.matrix import (
    POSTGRESQL,
    SCOPING,
    SUITES,
    UPSTREAM,
    Matrix,
    MatrixError,
    load_matrix,
)
from flask_admin_compat.matrix.select import KeywordError, choose
from flask_admin_compat.matrix.series import list_cells, series_cache_for, write_series_cache
from flask_admin_compat.matrix.shard import (
    Shard,
    ShardError,
    durations_from_grid,
    parse_shard,
    pick,
)
from flask_admin_compat.report.outputs import main as merge_grid
from flask_admin_compat.results.model import RESULT_FILE, VERDICTS, CellResult, read_result
from flask_admin_compat.run.cell import run_cell
from flask_admin_compat.run.locks import LockCache, generation
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.pool import Finished, run_pool
from flask_admin_compat.run.postgres import server_for_cells
from flask_admin_compat.run.process import Reaper
from flask_admin_compat.run.upstream_plan import DATABASE_URL, deps_text, load_deps

EXIT_OK = 0
EXIT_HARNESS_ERROR = 1  # some cell could not be measured: the harness failed, not the stack
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


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
    def snapshot(self) -> Path:
        return self.root / ".cache" / "index-snapshot.json"


def _parser() -> argparse.ArgumentParser:
    # Where things are: accepted by every command, so that `nox -s matrix -- --reports DIR`
    # can name them after the command the noxfile already wrote.
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--matrix", type=Path, default=Path("matrix.toml"), help="the matrix file")
    where.add_argument(
        "--project", type=Path, help="folder holding tests/ and the caches (default: the matrix's)"
    )
    where.add_argument("--reports", type=Path, help="where results go (default: PROJECT/reports)")
    parser = argparse.ArgumentParser(prog="flask-admin-compat", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", parents=[where], help="list the cells, offline")
    listing.add_argument("--json", action="store_true", help="one JSON document, for CI")
    listing.add_argument("-k", dest="keyword", help="nox-style keyword expression on ids and tags")

    run = commands.add_parser(
        "run", parents=[where], help="run cells in parallel and record their results"
    )
    run.add_argument(
        "-k", dest="keyword", help="nox-style keyword expression, e.g. 'admin22 and lite'"
    )
    run.add_argument("--cell", action="append", default=[], help="run this cell id (repeatable)")
    run.add_argument(
        "--jobs", "-j", type=_positive_int, help="cells at once (default: the matrix's setting)"
    )
    run.add_argument(
        "--force", action="store_true", help="run cells even when their result is fresh"
    )
    run.add_argument(
        "--exclude-newer", type=_date, help="resolve every spec as of this date (YYYY-MM-DD)"
    )
    run.add_argument("--refresh-index", action="store_true", help="ask the index again now")
    run.add_argument("--echo", action="store_true", help="show each command's output as it runs")
    run.add_argument(
        "--shard", type=_shard, help="run shard i of N (e.g. 2/4), balanced on past durations"
    )
    run.add_argument(
        "--suite",
        type=_suites,
        help="suites to run, comma-separated: scoping (ours, the verdict), upstream "
        "(Flask-Admin's own tests) or both (default: the matrix's [settings] suites)",
    )
    run.add_argument("pytest_args", nargs="*", help="after --: passed to pytest in every cell")
    return parser


def _shard(text: str) -> Shard:
    try:
        return parse_shard(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _suites(text: str) -> tuple[str, ...]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in SUITES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"{text!r}: known suites are {', '.join(SUITES)}")
    return tuple(s for s in SUITES if s in names)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _date(text: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-01-31") from None
    # The whole day counts: releases uploaded on that date are included.
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


def main(argv: Sequence[str] | None = None, *, out: IO[str] | None = None) -> int:
    out = out or sys.stdout
    args = _parser().parse_args(argv)
    try:
        matrix = load_matrix(args.matrix)
    except MatrixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    root = (args.project or args.matrix.resolve().parent).resolve()
    layout = Layout(root, (args.reports or root / "reports").resolve())
    if args.command == "list":
        return _list(matrix, layout, keyword=args.keyword, as_json=args.json, out=out)
    return _run(matrix, layout, args, out=out)


def _list(
    matrix: Matrix, layout: Layout, *, keyword: str | None, as_json: bool, out: IO[str]
) -> int:
    try:
        cells, notes = list_cells(matrix, series_cache=series_cache_for(matrix))
        cells = choose(cells, keyword=keyword)
    except (MatrixError, KeywordError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if as_json:
        json.dump({"cells": [_cell_json(c) for c in cells]}, out, indent=1)
        out.write("\n")
    else:
        for cell in cells:
            excluded = f"  (excluded: {cell.excluded_by.reason})" if cell.excluded_by else ""
            out.write(f"{cell.id}  {cell.description}{excluded}\n")
    return EXIT_OK


def _cell_json(cell: Cell) -> dict[str, object]:
    return {
        "id": cell.id,
        "requested": cell.requested,
        "tags": list(cell.tags),
        "excluded": cell.excluded_by.reason if cell.excluded_by else None,
    }


def _run(matrix: Matrix, layout: Layout, args: argparse.Namespace, *, out: IO[str]) -> int:
    exclude_newer: datetime | None = args.exclude_newer
    try:
        snapshot, fetched = load_or_fetch_snapshot(
            layout.snapshot,
            matrix.packages,
            max_age_s=matrix.settings.index_max_age_s,
            refresh=args.refresh_index,
        )
    except IndexUnavailable as exc:
        print(f"error: the package index did not answer: {exc}", file=sys.stderr)
        return EXIT_HARNESS_ERROR
    problems = check_against_index(matrix, snapshot, exclude_newer=exclude_newer)
    if problems and exclude_newer is None:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for problem in problems:
        # As of a past date a spec may name a release that did not exist yet: its cells run
        # and the resolver says so (uninstallable), as a grid made on that date would have.
        print(f"warning: {problem} as of {exclude_newer:%Y-%m-%d}", file=sys.stderr)
    if fetched and write_series_cache(series_cache_for(matrix), matrix, snapshot):
        print(f"note: refreshed {series_cache_for(matrix).name}; commit it", file=sys.stderr)
    releases = {p: snapshot.versions(p, exclude_newer=exclude_newer) for p in needs_index(matrix)}
    try:
        all_cells = expand(matrix, releases=releases)
        cells = choose(all_cells, keyword=args.keyword, names=args.cell)
    except (MatrixError, KeywordError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for rule in unused_rules(matrix, all_cells):
        print(f"warning: {matrix.path}: exclude[{rule.index}] matches no cell", file=sys.stderr)
    if not cells:
        print("error: no cell matches the selection", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.shard is not None:
        past = durations_from_grid(layout.reports / "grid.json")
        cells = pick(cells, [c.id for c in cells], args.shard, past)
        if not cells:  # more shards than cells: an empty shard has nothing to do
            out.write(f"shard {args.shard.index}/{args.shard.count} has no cells\n")
            return EXIT_OK

    suites: tuple[str, ...] = args.suite or matrix.settings.suites
    database_url = os.environ.get(DATABASE_URL) or None
    reaper = Reaper()
    options = RunOptions(
        repo_root=layout.root,
        cells_dir=layout.cells_dir,
        venvs_dir=layout.venvs_dir,
        timeout_s=matrix.settings.timeout_s,
        fingerprint_of=fingerprints(
            cells,
            snapshot=snapshot,
            suite=SCOPING,
            suite_dir=layout.root / "tests" / SCOPING,
            exclude_newer=exclude_newer,
            pytest_args=args.pytest_args,
        ),
        exclude_newer=exclude_newer.isoformat() if exclude_newer else None,
        pytest_args=tuple(args.pytest_args),
        suite=SCOPING,
        reaper=reaper,
        upstream_fingerprint_of=upstream_fingerprints(
            cells,
            snapshot=snapshot,
            deps_text=deps_text(),
            exclude_newer=exclude_newer,
            postgres=database_url is not None,
        )
        if UPSTREAM in suites
        else {},
        upstream_deps=load_deps() if UPSTREAM in suites else None,
        database_url=database_url,
        lock_cache=LockCache(
            layout.root / ".cache" / "locks",
            generation(
                index_url=snapshot.index_url,
                fetched_at=snapshot.fetched_at.isoformat(),
                exclude_newer=exclude_newer.isoformat() if exclude_newer else None,
            ),
        ),
    )
    keys = {SCOPING: options.fingerprint_of, UPSTREAM: options.upstream_fingerprint_of}
    to_run = {
        c.id: suites if args.force else stale_suites(
            layout.cells_dir / c.id, {s: keys[s][c.id] for s in suites},
            excluded=c.excluded_by is not None,
        )
        for c in cells
    }  # fmt: skip
    fresh = [c for c in cells if not to_run[c.id]]
    stale = [c for c in cells if to_run[c.id]]
    jobs = args.jobs or matrix.settings.jobs or os.cpu_count() or 1
    out.write(
        f"{len(cells)} cells: {len(stale)} to run, {len(fresh)} fresh (kept; --force runs them), "
        f"{min(jobs, max(1, len(stale)))} at a time{_suite_tally(suites, to_run.values())}\n"
    )
    echo = out if args.echo and len(stale) == 1 else None
    on_server = any(c.database == POSTGRESQL and SCOPING in to_run[c.id] for c in stale)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        with server_for_cells(needed=on_server, database_url=database_url) as (server, missing):
            options = replace(options, postgres=server, postgres_missing=missing)
            finished = run_pool(
                stale,
                lambda cell: run_cell(cell, options, echo=echo, suites=to_run[cell.id]),
                jobs=jobs,
                out=out,
                on_interrupt=reaper.kill_all,
            )
    except KeyboardInterrupt:
        print("\ninterrupted: finished cells are kept; run again to go on", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    kept = [read_result(layout.cells_dir / c.id / RESULT_FILE) for c in fresh]
    results = [f.result for f in finished] + kept
    out.write(summary(results, finished=finished))
    out.flush()
    harness_failed = any(
        r.verdict == "error" or (r.upstream is not None and r.upstream.status == "error")
        for r in results
    )
    if args.shard is None:
        # The grid covers every cell on disk, not only this run's, so a run of a few cells
        # (-k) refreshes its rows and keeps the others. A shard leaves the grid alone: the
        # next shard balances on the durations in grid.json, so rewriting it between shards
        # would change the partition (measured: 80 of 180 cells ran twice, 6 never).
        merged = merge_grid(["--cells", str(layout.cells_dir), "--out", str(layout.reports)])
        harness_failed = harness_failed or merged != EXIT_OK
    return EXIT_HARNESS_ERROR if harness_failed else EXIT_OK


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


if __name__ == "__main__":
    raise SystemExit(main())
