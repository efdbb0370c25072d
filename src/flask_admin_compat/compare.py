"""``compare``: what an unreleased build changes, cell by cell, as crater's try runs do.

Each chosen cell runs twice, side by side: with the release its spec names, and with the build
in that package's place (``adminbuild`` in the id). Per cell it says whether the build
regressed, fixed or left alone what the release did, naming each check and surface that moved
(:mod:`flask_admin_compat.results.compare`, which ``bisect`` uses too). Both sides' cells live
under ``REPORTS/compare/cells/``, never in ``reports/cells/``: a comparison never touches the
grid. A release cell whose earlier result there is fresh is not run again.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask_admin_compat import exitcodes
from flask_admin_compat.jsonio import write_text_atomic
from flask_admin_compat.matrix.build_pins import pin_builds
from flask_admin_compat.matrix.builds import Build, describe
from flask_admin_compat.matrix.cells import Cell, with_spec
from flask_admin_compat.matrix.matrix import SCOPING, Matrix
from flask_admin_compat.matrix.specs import build_spec
from flask_admin_compat.results.compare import CheckChange, Direction, check_changes, direction
from flask_admin_compat.results.model import CellResult
from flask_admin_compat.run.pythons import DownloadPython

COMPARE_DIR = "compare"
SUMMARY_FILE = "compare.md"


@dataclass(frozen=True)
class CompareRequest:
    """``--with PACKAGE=PATH|git+URL@REF``, the cells (``-k``) and how to run them."""

    package: str
    build: Build
    keyword: str | None = None
    download_python: DownloadPython = "never"


@dataclass(frozen=True)
class Pair:
    """One cell's two runs: with the release its spec names, and with the build."""

    release: CellResult
    build: CellResult

    @property
    def direction(self) -> Direction:
        return direction(self.release, self.build)

    @property
    def changes(self) -> tuple[CheckChange, ...]:
        return check_changes(self.release, self.build)

    @property
    def harness_failed(self) -> bool:
        return "error" in (self.release.verdict, self.build.verdict)

    def lines(self) -> list[str]:
        """The cell, what the build did to it, and every check that moved, with its surfaces."""
        said = "error" if self.harness_failed else self.direction
        verdicts = (
            self.release.verdict
            if self.release.verdict == self.build.verdict
            else f"{self.release.verdict} → {self.build.verdict}"
        )
        lines = [f"{self.release.cell_id}  {said}  {verdicts}  (build: {self.build.cell_id})"]
        lines += [f"  {change.words()}" for change in self.changes]
        if not self.changes and self.release.verdict != self.build.verdict:
            lines.append(f"  {self.build.verdict}: {self.build.reason.splitlines()[0][:300]}")
        return lines


def paired_cells(cells: Sequence[Cell], package: str, build: Build) -> list[tuple[Cell, Cell]]:
    """Each release cell with its build twin; cells that already hold a build are left out."""
    spec = build_spec(build)
    return [
        (cell, with_spec(cell, package, spec))
        for cell in cells
        if cell.excluded_by is None and not cell.builds
    ]


def report(pairs: Sequence[Pair], build: Build, package: str) -> str:
    """What ``compare`` prints and keeps in ``compare.md``: per cell, then the counts."""
    lines = [f"{package} {describe(build)}, against the release each cell names:", ""]
    for pair in pairs:
        lines += pair.lines()
    counts = {
        d: sum(p.direction == d and not p.harness_failed for p in pairs)
        for d in ("regressed", "fixed", "same")
    }
    errors = sum(p.harness_failed for p in pairs)
    lines += [
        "",
        f"{len(pairs)} cells: "
        + ", ".join(f"{n} {d}" for d, n in counts.items())
        + (f", {errors} error (the harness failed; see the logs)" if errors else ""),
    ]
    return "\n".join(lines) + "\n"


def run_compare(
    matrix: Matrix, root: Path, reports: Path, request: CompareRequest, *, out: IO[str]
) -> int:
    """Run the chosen cells with the release and with the build; exit 1 on a regression."""
    # Imported here: listing needs none of the runner.
    from flask_admin_compat.run.session import (
        Layout,
        RunRequest,
        Stop,
        ask_index,
        choose_cells,
        plan_suites,
        run_cells,
        run_options,
    )

    layout = Layout(root, reports / COMPARE_DIR)
    run_request = RunRequest(keyword=request.keyword, download_python=request.download_python)
    try:
        snapshot = ask_index(matrix, layout, run_request)
        chosen = choose_cells(matrix, snapshot, run_request)
        pairs = paired_cells(chosen, request.package, request.build)
        if not pairs:
            raise Stop(
                exitcodes.USAGE,
                "error: no cell to compare (every chosen cell is excluded or a build)",
            )
        twins = pin_builds(list({b.id: b for _, b in pairs}.values()), store=layout.builds_dir)
        pinned = {cell.id: cell for cell in twins}
        cells = [*(r for r, _ in pairs), *twins]
        options = run_options(matrix, layout, run_request, cells, snapshot, (SCOPING,), {})
        to_run = plan_suites(cells, layout, options, (SCOPING,), force=False)
        finished, kept = run_cells(
            cells, layout, options, to_run, matrix, run_request, out=sys.stderr
        )
    except Stop as stop:
        for line in stop.lines:
            print(line, file=sys.stderr)
        return stop.code
    results = {r.cell_id: r for r in [f.result for f in finished] + kept}
    compared = [Pair(results[r.id], results[pinned[b.id].id]) for r, b in pairs]
    text = report(compared, twins[0].builds[0][1], request.package)
    out.write(text)
    write_text_atomic(layout.reports / SUMMARY_FILE, text)
    if any(p.harness_failed for p in compared):
        return exitcodes.HARNESS_ERROR
    # 1 on a regression, so that a Flask-Admin pull request's CI fails on one.
    regressed = any(p.direction == "regressed" for p in compared)
    return exitcodes.REGRESSION if regressed else exitcodes.OK
