"""``stale``: the cells a new release (or a new commit of a build) makes stale, by the grid.

CI's daily job runs on a fresh checkout, where ``reports/cells/`` is empty and every cell would
look new. The committed ``reports/grid.json`` keeps each cell's freshness fingerprint: this asks
the index now, computes every cell's fingerprint as a run would (the same code: index digest
of the cell's own packages, suite, timeout, harness version, builds pinned), and lists the
cells whose committed result no longer stands. None listed means the grid has seen every
release the index has: the job ends there, in the time of one request per package.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask_admin_compat import exitcodes
from flask_admin_compat.grid.model import Grid, GridError, read_grid
from flask_admin_compat.matrix.build_pins import pin_builds
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.freshness import suites_to_run
from flask_admin_compat.matrix.matrix import SCOPING, UPSTREAM, Matrix
from flask_admin_compat.results.model import CellResult


@dataclass(frozen=True)
class Staleness:
    """One cell that must run again, and why (for the job's log)."""

    cell: Cell
    why: str


def committed_results(grid: Grid | None) -> dict[str, CellResult]:
    """Each cell's result as the committed grid holds it (an unreadable one counts as none)."""
    if grid is None:
        return {}
    return {c.cell_id: c.result for c in grid.cells if c.unreadable is None}


def stale_among(
    cells: Sequence[Cell],
    committed: Mapping[str, CellResult],
    keys: Mapping[str, Mapping[str, str]],
) -> list[Staleness]:
    """The cells whose committed result does not stand against ``keys`` (suite → cell → key).

    The very rule a run applies to the results on disk (:func:`suites_to_run`), applied to the
    committed grid's: a cell it has not got, an ``error``, or any fingerprint that moved.
    """
    found: list[Staleness] = []
    for cell in cells:
        previous = committed.get(cell.id)
        expected = {suite: by_cell[cell.id] for suite, by_cell in keys.items()}
        suites = suites_to_run(previous, expected=expected, excluded=cell.excluded_by is not None)
        if not suites:
            continue
        if previous is None:
            why = "not in the committed grid"
        elif previous.verdict == "error":
            why = "an error in the committed grid"
        else:
            why = f"{', '.join(suites)}: its inputs changed (a new release, build or suite)"
        found.append(Staleness(cell, why))
    return found


def current_keys(
    matrix: Matrix, root: Path, reports: Path, *, suites: Sequence[str]
) -> tuple[list[Cell], dict[str, dict[str, str]]]:
    """Every cell of the matrix as the index lists releases now, and its keys per suite.

    The index is asked now, whatever the cached snapshot's age: the question is what is new.
    """
    # Imported here: listing needs none of the runner.
    from flask_admin_compat.run.session import (
        Layout,
        RunRequest,
        ask_index,
        matrix_cells,
        run_options,
    )

    layout = Layout(root, reports)
    request = RunRequest(refresh_index=True)
    snapshot = ask_index(matrix, layout, request)
    cells = pin_builds(
        matrix_cells(matrix, snapshot, request), store=layout.builds_dir, matrix=matrix
    )
    options = run_options(matrix, layout, request, cells, snapshot, suites, {})
    keys = {SCOPING: options.fingerprint_of, UPSTREAM: options.upstream_fingerprint_of}
    return cells, {suite: dict(keys[suite]) for suite in suites}


def find_stale(
    matrix: Matrix, root: Path, grid_file: Path, *, suites: Sequence[str]
) -> list[Staleness]:
    """Ask the index now and list the matrix's cells that the committed grid has not seen."""
    cells, keys = current_keys(matrix, root, grid_file.parent, suites=suites)
    grid: Grid | None = read_grid(grid_file) if grid_file.is_file() else None
    return stale_among(cells, committed_results(grid), keys)


def run_stale(
    matrix: Matrix, root: Path, grid_file: Path, *, suites: Sequence[str], out: IO[str]
) -> int:
    """Print the stale cells' ids, one a line (what ``run --cell`` takes); why, on stderr."""
    from flask_admin_compat.run.session import Stop

    try:
        stale = find_stale(matrix, root, grid_file, suites=suites)
    except Stop as stop:
        for line in stop.lines:
            print(line, file=sys.stderr)
        return stop.code
    except GridError as exc:
        print(f"error: {grid_file}: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    for item in stale:
        out.write(f"{item.cell.id}\n")
        print(f"stale: {item.cell.id}: {item.why}", file=sys.stderr)
    if not stale:
        print(
            "nothing stale: no axis package has a release the committed grid has not seen",
            file=sys.stderr,
        )
    return exitcodes.OK
