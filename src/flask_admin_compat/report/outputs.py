"""Merge every cell's result into ``grid.json``, ``grid.md`` and ``grid.html``.

What ``flask-admin-compat merge`` (``nox -s report``, ``scripts/merge_grid.py``) and the end of
``nox -s matrix``. It reads, merges, compares with the previous grid, renders each format
through one :class:`Renderer` and writes every file atomically in :func:`write_outputs`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol, TextIO

from flask_admin_compat import __version__
from flask_admin_compat.grid.diff import with_changes
from flask_admin_compat.grid.merge import collect, merge, merge_problems
from flask_admin_compat.grid.model import GRID_FILE, Grid, GridError, read_grid, render_json
from flask_admin_compat.jsonio import write_text_atomic
from flask_admin_compat.report.html import render_html
from flask_admin_compat.report.markdown import render_markdown
from flask_admin_compat.results.model import VERDICTS

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2
#: The grid was written, but some result could not be used as it stands (unreadable, or in
#: another cell's folder): the reports folder needs a look, so a script must not see success.
EXIT_DAMAGED = 3


class Renderer(Protocol):
    """One output format: the whole file's text from the grid, and nothing else."""

    def __call__(self, grid: Grid, /) -> str: ...


#: File name to renderer; adding a format is one line here.
OUTPUTS: Mapping[str, Renderer] = {
    GRID_FILE: render_json,
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


def merge_folder(cells_dir: Path, out_dir: Path, request: MergeRequest | None = None) -> int:
    """Merge every cell folder under ``cells_dir`` into the grid files in ``out_dir``."""
    request = request or MergeRequest()
    started = time.perf_counter()
    if not cells_dir.is_dir():
        print(
            f"merge_grid: no cells folder at {cells_dir}; run `nox -s matrix` first",
            file=sys.stderr,
        )
        return EXIT_USAGE
    collected = collect(cells_dir, grid_dir=out_dir)
    problems = merge_problems(collected)
    for problem in problems:
        print(f"merge_grid: {problem}", file=sys.stderr)
    previous = _previous(request, out_dir)
    grid = merge(
        collected,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        harness_version=__version__,
        link_base=request.link_base,
        previous=previous,
        link_local_logs=request.link_local_logs,
    )
    grid = with_changes(grid, previous)
    written = write_outputs(grid, out_dir)
    _summarise(grid, written, seconds=time.perf_counter() - started, out=sys.stdout)
    changes = grid.changes
    if changes is not None and changes.regressions:
        for change in changes.regressions:
            broke = f"; broke: {', '.join(change.checks)}" if change.checks else ""
            print(
                f"merge_grid: regression: {change.cell_id}: {change.before} -> {change.after}"
                f"{broke}",
                file=sys.stderr,
            )
        if request.fail_on_regression:
            return EXIT_REGRESSION
    return EXIT_DAMAGED if problems else EXIT_OK


def _previous(request: MergeRequest, out_dir: Path) -> Grid | None:
    """The grid to compare with; an unusable one is reported and skipped, never fatal."""
    if not request.compare:
        return None
    path = request.previous or out_dir / GRID_FILE
    if request.previous is None and not path.exists():
        return None  # a first run: nothing to compare with, and nothing to warn about
    try:
        return read_grid(path)
    except GridError as exc:
        print(f"merge_grid: not comparing with the previous grid: {exc}", file=sys.stderr)
        return None


def write_outputs(grid: Grid, out_dir: Path) -> list[Path]:
    """Render every format, then write each atomically; a failing renderer writes nothing.

    Rendering all before writing any keeps the three files from disagreeing after a crash.
    """
    texts = {out_dir / name: render(grid) for name, render in OUTPUTS.items()}
    for path, text in texts.items():
        write_text_atomic(path, text)
    return list(texts)


def _summarise(grid: Grid, written: list[Path], *, seconds: float, out: TextIO) -> None:
    counts = grid.counts
    shown = ", ".join(f"{counts[v]} {v}" for v in VERDICTS if counts[v]) or "no cells"
    flaky = f" ({counts['flaky']} flaky)" if counts["flaky"] else ""
    names = ", ".join(str(p) for p in written)
    print(f"merged {len(grid.cells)} cells in {seconds:.2f} s: {shown}{flaky}", file=out)
    print(f"wrote {names}", file=out)
    if grid.changes is not None:
        c = grid.changes
        print(
            f"since {c.previous_generated_at}: {len(c.regressions)} regressions, "
            f"{len(c.fixes)} fixes, {len(c.other)} other changes, {len(c.new)} new, "
            f"{len(c.gone)} gone",
            file=out,
        )
