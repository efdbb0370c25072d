"""flask-admin-compat: list and run the matrix's cells, merge their grid, advise, compare builds.

Argument parsing and dispatch only: each command's work lives in its own module
(:mod:`.run.session`, :mod:`.report.outputs`, :mod:`.advise`, :mod:`.checkapp.command` for
``check-app``, which checks a user's own app). The noxfile calls :func:`main`;
so can a user (``flask-admin-compat run -k admin22``) and the tests, with an argument list.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO

from flask_admin_compat import exitcodes
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import MAX_JOBS, SUITES, Matrix, MatrixError, load_matrix
from flask_admin_compat.matrix.select import KeywordError, choose
from flask_admin_compat.matrix.series import list_cells, series_cache_for
from flask_admin_compat.matrix.shard import Shard, ShardError, parse_shard

DEFAULT_REPORTS = Path("reports")


def _parser() -> argparse.ArgumentParser:
    # Where things are: accepted by every matrix command, so that `nox -s matrix -- --reports
    # DIR` can name them after the command the noxfile already wrote.
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
    listing.set_defaults(handler=_list)

    run = commands.add_parser(
        "run", parents=[where], help="run cells in parallel and record their results"
    )
    run.add_argument(
        "-k", dest="keyword", help="nox-style keyword expression, e.g. 'admin22 and lite'"
    )
    run.add_argument("--cell", action="append", default=[], help="run this cell id (repeatable)")
    run.add_argument(
        "--jobs", "-j", type=_jobs, help="cells at once (default: the matrix's setting)"
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
        "--wait",
        action="store_true",
        help="when another run holds this checkout, wait for it instead of refusing",
    )
    run.add_argument(
        "--shard", type=_shard, help="run shard i of N (e.g. 2/4), balanced on past durations"
    )
    run.add_argument(
        "--suite",
        type=_suites,
        help="suites to run, comma-separated: scoping (ours, the verdict), upstream "
        "(Flask-Admin's own tests) or both (default: the matrix's [settings] suites)",
    )
    _download_python_argument(run)
    run.add_argument("pytest_args", nargs="*", help="after --: passed to pytest in every cell")
    run.set_defaults(handler=_run)

    merge = commands.add_parser(
        "merge", help="merge reports/cells/*/result.json into grid.json, grid.md and grid.html"
    )
    _merge_arguments(merge)
    merge.set_defaults(handler=_merge)

    advise = commands.add_parser(
        "advise",
        help="is upgrading to PACKAGE==VERSION safe for your stack? (answered from the grid)",
        description="Say whether upgrading to PACKAGE==VERSION keeps Flask-Admin's sessions "
        "scoped for your stack, from the compatibility grid.",
    )
    _advise_arguments(advise)
    advise.set_defaults(handler=_advise)

    bisect = commands.add_parser(
        "bisect",
        parents=[where],
        help="find the first release of PACKAGE where CELL's verdict or a check changes",
        description="Run CELL at releases of PACKAGE between a good and a bad version (binary "
        "search over the index's release list, each probe a real cell run kept under "
        "REPORTS/bisect/CELL/) and name the first release where the verdict or any check "
        "outcome changes.",
    )
    _bisect_arguments(bisect)
    bisect.set_defaults(handler=_bisect)

    compare = commands.add_parser(
        "compare",
        parents=[where],
        help="run cells with the release and with an unreleased build, side by side",
        description="Run each chosen cell twice, with the release its spec names and with "
        "an unreleased build in that package's place, and say per cell whether the build "
        "regressed, fixed or left alone each check and surface. Cells are kept under "
        "REPORTS/compare/cells/. Exits 1 on a regression.",
    )
    compare.add_argument(
        "--with",
        dest="build",
        required=True,
        metavar="PACKAGE=PATH|git+URL@REF",
        help="the build: a wheel, sdist or source tree, or a git ref of an https: or file: URL",
    )
    compare.add_argument("-k", dest="keyword", help="the cells to compare, e.g. 'admin22 and fsa'")
    _download_python_argument(compare)
    compare.set_defaults(handler=_compare)

    stale = commands.add_parser(
        "stale",
        parents=[where],
        help="list the cells whose result in the committed grid a new release makes stale",
        description="Ask the index now and print, one a line, the ids of the matrix's cells "
        "whose result in the committed grid.json no longer stands (a new release of one of "
        "their packages, a new commit of a build, a changed suite); nothing when the grid has "
        "seen every release. CI's daily job runs only these (run --cell ID ...).",
    )
    stale.add_argument("--grid", type=Path, help="the committed grid (default: REPORTS/grid.json)")
    stale.add_argument(
        "--suite",
        type=_suites,
        help="the suites the run will ask for, comma-separated (default: the matrix's)",
    )
    stale.set_defaults(handler=_stale)

    issues = commands.add_parser(
        "regression-issues",
        help="plan CI's GitHub issues for regressions: one per cell family, never duplicated",
        description="Read the merged grid and the issues `gh issue list --label "
        "compat-regression --state all --json number,state,body` gave, and write to OUT the "
        "steps that keep one issue per cell family: open, reopen, update, or close when its "
        "cells recover (actions.tsv, and a file per title, body and comment).",
    )
    issues.add_argument("--grid", type=Path, required=True, help="the merged grid.json")
    issues.add_argument("--issues", type=Path, required=True, help="gh issue list's JSON")
    issues.add_argument("--out", type=Path, required=True, help="the folder for the plan")
    issues.add_argument("--bisect", type=Path, help="bisect --regressions' Markdown, to quote")
    issues.add_argument("--run-url", default="", help="the CI run's page, linked from issues")
    issues.set_defaults(handler=_regression_issues)

    check_app = commands.add_parser(
        "check-app",
        help="run the scoping checks against the ModelViews of your own Flask-Admin app",
        description="Send real requests to every SQLAlchemy ModelView of your app through "
        "Flask's test client and say, per view, whether its sessions are scoped per request.",
    )
    _check_app_arguments(check_app)
    check_app.set_defaults(handler=_check_app)
    return parser


def _bisect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "cell", nargs="?", metavar="CELL", help="a cell id of the matrix (see `list`)"
    )
    parser.add_argument("--axis", metavar="PACKAGE", help="the package to bisect")
    parser.add_argument(
        "--regressions",
        type=Path,
        metavar="GRID",
        help="instead: bisect every regression GRID (a grid.json) lists against its previous "
        "grid, between the versions installed then and now; a Markdown list on stdout",
    )
    parser.add_argument(
        "--good",
        metavar="V",
        help="a release that behaves (default: the oldest the cell's spec admits)",
    )
    parser.add_argument(
        "--bad", metavar="V", help="a release that does not (default: the newest the spec admits)"
    )
    _download_python_argument(parser)


def _download_python_argument(parser: argparse.ArgumentParser) -> None:
    # nox's option of the same name and values; the default differs on purpose (nox: auto),
    # so that a Python the machine lacks is reported rather than fetched behind one's back.
    from flask_admin_compat.run.pythons import DOWNLOAD_MODES

    parser.add_argument(
        "--download-python",
        choices=DOWNLOAD_MODES,
        default="never",
        help="let uv download a Python the matrix names: auto (when none is found), "
        "always (use a uv-managed one) or never (default: %(default)s)",
    )


def _merge_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--matrix",
        type=Path,
        metavar="FILE",
        help="the grid holds exactly this matrix's cells: those without a folder are carried "
        "from the grid being replaced, those no longer in it leave (default: every folder)",
    )
    parser.add_argument(
        "--cells",
        type=Path,
        default=DEFAULT_REPORTS / "cells",
        metavar="DIR",
        help="folder of cell folders, each with a result.json (default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_REPORTS,
        metavar="DIR",
        help="where the grid files go; cell links are relative to it (default: %(default)s)",
    )
    previous = parser.add_mutually_exclusive_group()
    previous.add_argument(
        "--previous",
        type=Path,
        metavar="PATH",
        help="grid.json to compare with (default: the OUT/grid.json being replaced)",
    )
    previous.add_argument("--no-previous", action="store_true", help="write no Changes section")
    parser.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="exit 1 when a cell got worse than in the previous grid",
    )
    parser.add_argument(
        "--no-local-log-links",
        dest="link_local_logs",
        action="store_false",
        help="show each log's last lines instead of linking the local file, for a grid "
        "published without the logs (the one committed to the repository)",
    )
    parser.add_argument(
        "--link-base",
        metavar="URL",
        help="where cell links point instead of the local logs: {cell_id} and {log} are filled "
        "in; a URL with neither (a CI run's artifact page) serves every cell",
    )


def _advise_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "upgrades", nargs="+", metavar="PACKAGE==VERSION", help="the upgrade(s) you consider"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--pins", metavar="FILE", help="your requirements file with exact pins ('-': stdin)"
    )
    source.add_argument(
        "--python",
        metavar="PATH",
        help="your application's interpreter; its installed packages are your stack",
    )
    parser.add_argument(
        "--python-version",
        metavar="X.Y",
        help="your Python, with --pins (a pins file does not say which Python runs it)",
    )
    parser.add_argument(
        "--grid",
        type=Path,
        default=DEFAULT_REPORTS / "grid.json",
        metavar="PATH",
        help="the grid to read (default: %(default)s)",
    )


def _check_app_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app",
        "-A",
        metavar="MODULE:FACTORY",
        help="the app, as `flask --app` takes it (default: $FLASK_APP)",
    )
    parser.add_argument(
        "--login",
        metavar="MODULE:CALLABLE",
        help="called with each test client before its first request, to log it in",
    )
    parser.add_argument(
        "--writes",
        action="store_true",
        help="also create, edit and delete a row of its own per view, and check "
        "isolation after an error (refuses tables that hold rows)",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="with --writes: write even though the tables already hold rows",
    )
    parser.add_argument(
        "--json", metavar="FILE", help="also write the report as JSON ('-': stdout)"
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="a check that could not run (skipped) fails the run too (exit 1), for CI",
    )
    parser.add_argument(
        "--load-timeout",
        type=float,
        metavar="SECONDS",
        help="give up on an app that has not finished loading by then (default: 60)",
    )
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also print the traceback of each page that could not be checked",
    )


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


def _jobs(text: str) -> int:
    try:
        value = _positive_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value > MAX_JOBS:
        raise argparse.ArgumentTypeError(f"at most {MAX_JOBS} cells at once, not {value}")
    return value


def _date(text: str) -> datetime:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-01-31") from None
    # The whole day counts: releases uploaded on that date are included.
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)


Handler = Callable[[argparse.Namespace, IO[str]], int]


def main(argv: Sequence[str] | None = None, *, out: IO[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args, out or sys.stdout)


def _list(args: argparse.Namespace, out: IO[str]) -> int:
    try:
        matrix = load_matrix(args.matrix)
        cells, notes = list_cells(matrix, series_cache=series_cache_for(matrix))
        cells = choose(cells, keyword=args.keyword)
    except (MatrixError, KeywordError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except ModuleNotFoundError as exc:  # -k is nox's keyword matching
        return _without_runner("list -k", exc)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.json:
        json.dump(
            {"cells": [_cell_json(c) for c in cells], "pythons": _pythons(cells)}, out, indent=1
        )
        out.write("\n")
    else:
        for cell in cells:
            excluded = f"  (excluded: {cell.excluded_by.reason})" if cell.excluded_by else ""
            out.write(f"{cell.id}  {cell.description}{excluded}\n")
    return exitcodes.OK


def _pythons(cells: Sequence[Cell]) -> list[str]:
    """The Pythons the cells that run name, oldest first: what CI must set up."""
    named = {c.python.text for c in cells if c.excluded_by is None}
    return sorted(named, key=lambda text: tuple(int(part) for part in text.split(".")))


def _cell_json(cell: Cell) -> dict[str, object]:
    return {
        "id": cell.id,
        "requested": cell.requested,
        "tags": list(cell.tags),
        "excluded": cell.excluded_by.reason if cell.excluded_by else None,
    }


def _matrix(path: Path) -> Matrix | None:
    """The loaded matrix, or None once its one-line error is said."""
    try:
        return load_matrix(path)
    except MatrixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _folders(args: argparse.Namespace) -> tuple[Path, Path]:
    """The project folder (tests, environments, caches) and the reports folder of a command."""
    root = (args.project or args.matrix.resolve().parent).resolve()
    return root, (args.reports or root / "reports").resolve()


def _run(args: argparse.Namespace, out: IO[str]) -> int:
    # Imported here: listing and merging need none of the runner's process or server code.
    try:
        from flask_admin_compat.run.session import Layout, RunRequest, run_matrix
    except ModuleNotFoundError as exc:
        return _without_runner("run", exc)
    from flask_admin_compat.grid.model import carried_results
    from flask_admin_compat.report.outputs import MergeRequest, merge_folder, recover_outputs

    matrix = _matrix(args.matrix)
    if matrix is None:
        return exitcodes.USAGE
    layout = Layout(*_folders(args))
    try:  # a merge killed midway: finished (or undone) before the grid is read, leftovers gone
        for line in recover_outputs(layout.reports):
            print(f"note: {line}", file=sys.stderr)
    except OSError as exc:
        print(f"warning: cannot look for an interrupted merge: {exc}", file=sys.stderr)
    request = RunRequest(
        keyword=args.keyword,
        cells=tuple(args.cell),
        jobs=args.jobs,
        force=args.force,
        exclude_newer=args.exclude_newer,
        refresh_index=args.refresh_index,
        echo=args.echo,
        shard=args.shard,
        suites=args.suite,
        pytest_args=tuple(args.pytest_args),
        download_python=args.download_python,
        wait=args.wait,
    )
    try:
        ran = run_matrix(
            matrix, layout, request, out=out, carried=carried_results(layout.grid_file)
        )
    except (MatrixError, KeywordError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    if not ran.merge:
        return ran.code
    # The next step, at the command's level: the grid is the matrix, every cell of it, those
    # this run did not reach carried from the grid being replaced, and this run's results
    # that no folder would take.
    merge_request = MergeRequest(
        matrix_cells=dict(ran.matrix_cells), this_run=ran.results, listed=ran.listed
    )
    merged = merge_folder(layout.cells_dir, layout.reports, merge_request)
    return ran.code if merged == exitcodes.OK else exitcodes.HARNESS_ERROR


def _merge(args: argparse.Namespace, out: IO[str]) -> int:
    try:
        from flask_admin_compat.report.outputs import MergeRequest, merge_folder
    except ModuleNotFoundError as exc:
        return _without_runner("merge", exc)

    try:
        cells = _matrix_cells(args.matrix) if args.matrix is not None else None
    except MatrixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    request = MergeRequest(
        matrix_cells=cells,
        previous=args.previous,
        compare=not args.no_previous,
        fail_on_regression=args.fail_on_regression,
        link_base=args.link_base,
        link_local_logs=args.link_local_logs,
    )
    return merge_folder(args.cells, args.out, request)


def _bisect(args: argparse.Namespace, out: IO[str]) -> int:
    try:
        from flask_admin_compat.bisection import BisectRequest, run_bisect
    except ModuleNotFoundError as exc:
        return _without_runner("bisect", exc)

    matrix = _matrix(args.matrix)
    if matrix is None:
        return exitcodes.USAGE
    root, reports = _folders(args)
    if args.regressions is not None:
        from flask_admin_compat.bisection import run_regression_bisects
        from flask_admin_compat.grid.model import GridError, read_grid

        if args.cell or args.axis or args.good or args.bad:
            print("error: --regressions takes no CELL, --axis, --good or --bad", file=sys.stderr)
            return exitcodes.USAGE
        try:
            grid = read_grid(args.regressions)
        except GridError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exitcodes.USAGE
        return run_regression_bisects(
            matrix, root, reports, grid, download_python=args.download_python, out=out
        )
    if not args.cell or not args.axis:
        print("error: give CELL and --axis PACKAGE (or --regressions GRID)", file=sys.stderr)
        return exitcodes.USAGE
    request = BisectRequest(args.cell, args.axis, args.good, args.bad, args.download_python)
    return run_bisect(matrix, root, reports, request, out=out)


def _compare(args: argparse.Namespace, out: IO[str]) -> int:
    try:
        from flask_admin_compat.compare import CompareRequest, run_compare
    except ModuleNotFoundError as exc:
        return _without_runner("compare", exc)
    from flask_admin_compat.matrix.builds import BuildError, parse_build_argument

    try:
        package, build = parse_build_argument(args.build, base=Path.cwd())
    except BuildError as exc:
        print(f"error: {exc.key} = {exc.value!r}: {exc.problem}", file=sys.stderr)
        return exitcodes.USAGE
    matrix = _matrix(args.matrix)
    if matrix is None:
        return exitcodes.USAGE
    if package not in matrix.packages:
        print(
            f"error: --with = {args.build!r}: {package} is no package of {args.matrix}",
            file=sys.stderr,
        )
        return exitcodes.USAGE
    root, reports = _folders(args)
    request = CompareRequest(package, build, args.keyword, args.download_python)
    try:
        return run_compare(matrix, root, reports, request, out=out)
    except (MatrixError, KeywordError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exitcodes.USAGE


def _stale(args: argparse.Namespace, out: IO[str]) -> int:
    try:
        from flask_admin_compat.stale import run_stale
    except ModuleNotFoundError as exc:
        return _without_runner("stale", exc)

    matrix = _matrix(args.matrix)
    if matrix is None:
        return exitcodes.USAGE
    root, reports = _folders(args)
    suites = args.suite or matrix.settings.suites
    try:
        return run_stale(matrix, root, args.grid or reports / "grid.json", suites=suites, out=out)
    except MatrixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exitcodes.USAGE


def _regression_issues(args: argparse.Namespace, out: IO[str]) -> int:
    try:
        from flask_admin_compat.regression_issues import run_regression_issues
    except ModuleNotFoundError as exc:
        return _without_runner("regression-issues", exc)

    return run_regression_issues(
        args.grid, args.issues, args.out, bisect_file=args.bisect, run_url=args.run_url, out=out
    )


def _matrix_cells(path: Path) -> dict[str, dict[str, str]]:
    """Every cell of a matrix by id, offline (as `list` sees them): what a merged grid holds."""
    matrix = load_matrix(path)
    cells, notes = list_cells(matrix, series_cache=series_cache_for(matrix))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return {cell.id: cell.requested for cell in cells}


def _advise(args: argparse.Namespace, out: IO[str]) -> int:
    try:
        from flask_admin_compat.advise import run_advise
    except ModuleNotFoundError as exc:
        return _without_runner("advise", exc)

    return run_advise(args)


#: What the `runner` extra installs; the core install (check-app, the plugin) has none of them.
RUNNER_MODULES = ("nox", "uv", "jsonschema", "pip")


def _without_runner(command: str, exc: ModuleNotFoundError) -> int:
    if (exc.name or "").split(".")[0] not in RUNNER_MODULES:
        raise exc
    print(
        f"error: {command} needs the runner's dependencies ({exc.name} is missing): "
        "pip install 'flask-admin-compat[runner]'",
        file=sys.stderr,
    )
    return exitcodes.USAGE


def _check_app(args: argparse.Namespace, out: IO[str]) -> int:
    # Imported here: the checks import the user's Flask, Flask-Admin and SQLAlchemy, which
    # the other commands do not need (and the runner's environment may not have).
    try:
        from flask_admin_compat.checkapp.command import run_check_app
    except ImportError as exc:
        print(
            f"error: check-app runs in your app's environment and needs Flask, Flask-Admin "
            f"and SQLAlchemy installed there: {exc}",
            file=sys.stderr,
        )
        return exitcodes.USAGE
    return run_check_app(args, out)


if __name__ == "__main__":
    raise SystemExit(main())
