"""How big the grid files get, and how fast grid.html opens and filters, at the matrix's size.

A grid of the default matrix's size is made without running a cell: every cell the matrix
lists (ids, axes, exclusions exactly as ``flask-admin-compat list`` has them) takes the result
of the committed grid's most alike cell (same verdict mix, messages, checks, upstream counts).
It is rendered as ``run``/``merge`` would, then grid.html is opened in Debian's headless
Chromium (through Playwright, never a browser it downloads) and timed:

- ``open``: navigation start to the end of the first frame painted after the load event (the
  page's script has built its index and run its first filter pass by then);
- each filter change (an axis, the verdict, the search box, reset): the input event to the end
  of the next painted frame, i.e. the script's pass plus style, layout and paint.

Figures are printed (median and worst of ``--rounds`` fresh pages); nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from flask_admin_compat.grid.causes import with_causes
from flask_admin_compat.grid.known import load_known
from flask_admin_compat.grid.model import (
    GRID_FILE,
    Grid,
    GridCell,
    GridError,
    read_grid,
    render_json,
)
from flask_admin_compat.grid.scrub import scrub_grid
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import MatrixError, load_matrix
from flask_admin_compat.matrix.series import list_cells, series_cache_for
from flask_admin_compat.report.html import render_html
from flask_admin_compat.report.markdown import render_markdown

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
#: As tests/harness/test_grid_browser.py launches it: headless, nothing fetched in the background.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_NO_BROWSER = 3

# Runs in the page: set a control, fire the event the page listens to, and resolve with the
# milliseconds until the next frame has been painted (two animation frames: the first runs
# before that frame's style and layout, the second after it was presented).
_TIME_INPUT = """
([selector, value]) => new Promise((done) => {
  const control = document.querySelector(selector);
  const start = performance.now();
  if (value === null) { control.form.reset(); } else {
    control.value = value;
    control.dispatchEvent(new Event("input", {bubbles: true}));
  }
  requestAnimationFrame(() => setTimeout(() => requestAnimationFrame(() =>
    done(performance.now() - start)), 0));
})
"""
_TIME_OPEN = """
() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() =>
  done(performance.now()))))
"""


def like(cell: Cell, committed: Sequence[GridCell]) -> GridCell:
    """The committed cell most alike ``cell``: most axes equal, Flask-Admin's series first."""
    wanted = cell.requested

    def score(other: GridCell) -> tuple[int, int]:
        same = sum(1 for axis, spec in wanted.items() if other.requested.get(axis) == spec)
        admin = wanted.get("flask-admin", "")
        series = ".".join(admin.split(".")[:2])
        return (int(other.requested.get("flask-admin", "").startswith(series)), same)

    return max(committed, key=score)


def synthetic_grid(cells: Sequence[Cell], committed: Grid) -> Grid:
    """A grid with exactly ``cells``, each carrying the result of its most alike committed cell."""
    measured = [c for c in committed.cells if c.unreadable is None and c.verdict != "excluded"]
    made: list[GridCell] = []
    for cell in cells:
        source = like(cell, measured)
        result = dataclasses.replace(source.result, cell_id=cell.id, requested=cell.requested)
        if cell.excluded_by is not None:
            result = dataclasses.replace(
                result, verdict="excluded", reason=cell.excluded_by.reason, checks=(), flags=()
            )
        log = source.log and dataclasses.replace(source.log, path=f"cells/{cell.id}/log.txt")
        made.append(GridCell(result, f"cells/{cell.id}/result.json", log=log, unreadable=None))
    return dataclasses.replace(committed, cells=tuple(made))


def _timed(page: Any, script: str, arg: object = None) -> float:
    return float(page.evaluate(script, arg))


def measure_browser(
    html: Path, grid: Grid, *, rounds: int, chromium: Path
) -> dict[str, list[float]]:
    """Milliseconds per step and round, each round a fresh browser context and page."""
    from playwright.sync_api import sync_playwright  # the "test" group; only this step needs it

    axis_value = _busiest_axis_value(grid)
    steps: dict[str, tuple[str, str | None]] = {
        f"filter {axis_value[0]} = {axis_value[1]}": (
            f"select[data-axis='{axis_value[0]}']",
            axis_value[1],
        ),
        "filter verdict = not compatible": ("#f-verdict", "not-compatible"),
        "search 'lite'": ("#f-search", "lite"),
        "reset": ("#f-verdict", None),
    }
    times: dict[str, list[float]] = {"open": [], **{name: [] for name in steps}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=list(CHROMIUM_ARGS)
        )
        try:
            for _ in range(rounds):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.goto(html.as_uri(), wait_until="load")
                times["open"].append(_timed(page, _TIME_OPEN))
                for name, (selector, value) in steps.items():
                    times[name].append(_timed(page, _TIME_INPUT, [selector, value]))
                shown = page.locator("#shown").inner_text()
                context.close()
        finally:
            browser.close()
    print(f"page after reset: {shown}")
    return times


def _busiest_axis_value(grid: Grid) -> tuple[str, str]:
    """The Python value with the most cells: a filter that hides about three quarters."""
    counts: dict[str, int] = {}
    for cell in grid.cells:
        value = cell.requested.get("python")
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    return ("python", max(counts, key=lambda v: counts[v])) if counts else ("python", "3.12")


def _figure(name: str, values: Sequence[float]) -> str:
    return f"| {name} | {statistics.median(values):.0f} | {max(values):.0f} |"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", type=Path, default=ROOT / "matrix.toml")
    parser.add_argument(
        "--grid",
        type=Path,
        default=ROOT / "reports" / GRID_FILE,
        help="the committed grid whose results the cells borrow",
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chromium", type=Path, default=CHROMIUM)
    parser.add_argument("--keep", type=Path, help="write the synthetic grid's files here")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.rounds < 1:
        print(f"--rounds: {args.rounds}: at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        matrix = load_matrix(args.matrix)
        cells, _ = list_cells(matrix, series_cache=series_cache_for(matrix))
        committed = read_grid(args.grid)
    except (MatrixError, GridError) as problem:  # each says its file, key and value
        print(problem, file=sys.stderr)
        return EXIT_USAGE
    # Scrubbed and with its causes found, as the merge renders it.
    grid = with_causes(scrub_grid(synthetic_grid(cells, committed)), known=load_known())
    renderers: dict[str, Callable[[Grid], str]] = {
        "grid.md": render_markdown,
        "grid.html": render_html,
        GRID_FILE: render_json,
    }
    out = args.keep or Path(tempfile.mkdtemp(prefix="grid-speed-"))
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"{len(grid.cells)} cells from {args.matrix.name}, results borrowed from "
        f"{len(committed.cells)} cells of {args.grid}"
    )
    for name, render in renderers.items():
        text = render(grid)
        (out / name).write_text(text, encoding="utf-8")
        print(f"{name}: {len(text.encode()) / 1000:.0f} KB")
    if not args.chromium.exists():
        print(f"no {args.chromium}: install Debian's chromium to time grid.html", file=sys.stderr)
        return EXIT_NO_BROWSER
    times = measure_browser(out / "grid.html", grid, rounds=args.rounds, chromium=args.chromium)
    print(
        f"\n{platform.node()}: {platform.processor() or platform.machine()}, "
        f"{_cores()} cores, {args.rounds} rounds\n"
    )
    print("| grid.html in headless Chromium | median ms | worst ms |")
    print("| --- | ---: | ---: |")
    for name, values in times.items():
        print(_figure(name, values))
    return EXIT_OK


def _cores() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
