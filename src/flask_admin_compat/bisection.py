"""``bisect``: the first release of a package where a cell's verdict or a check outcome changes.

Binary search over the index's release list between a good and a bad version (both included,
pre-releases left out, yanked ones absent from the index's list): every probe is a real run of
the cell with that one package pinned exactly, kept under ``reports/bisect/<cell>/cells/``,
and two probes differ when the verdict or any pattern x check outcome does. Like
``git bisect``, it assumes one change point between good and bad: a release between two probes
that agree is not run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from flask_admin_compat import exitcodes
from flask_admin_compat.grid.model import Grid
from flask_admin_compat.jsonio import write_text_atomic
from flask_admin_compat.matrix.cells import Cell, expand, needs_index, with_spec
from flask_admin_compat.matrix.index import IndexUnavailable, load_or_fetch_snapshot
from flask_admin_compat.matrix.matrix import PYTHON, SCOPING, Matrix, MatrixError
from flask_admin_compat.matrix.specs import VersionSpec
from flask_admin_compat.results.compare import differences, signature
from flask_admin_compat.results.model import CellResult
from flask_admin_compat.run.pythons import DownloadPython

BISECT_FILE = "bisect.json"
_SHOWN_CHANGES = 3  # in the one-line answer; bisect.json keeps them all


class BisectError(ValueError):
    """Bad input (an unknown cell, axis or release), said in one line."""


class ProbeFailed(RuntimeError):
    """A probe the harness could not measure (verdict ``error``): no answer can be trusted."""


@dataclass(frozen=True)
class Probe:
    version: Version
    result: CellResult


@dataclass(frozen=True)
class Bisection:
    """The answer: ``first_bad`` is None when good and bad agree."""

    package: str
    good: Version
    bad: Version
    first_bad: Version | None
    last_good: Version | None
    changes: tuple[str, ...]
    probes: tuple[Probe, ...]

    def summary(self) -> str:
        if self.first_bad is None:
            return (
                f"no change between {self.package} {self.good} and {self.bad}: "
                "the verdict and every check agree"
            )
        shown = "; ".join(self.changes[:_SHOWN_CHANGES])
        more = len(self.changes) - _SHOWN_CHANGES
        return f"first bad: {self.package} {self.first_bad} (after {self.last_good}): {shown}" + (
            f"; and {more} more (in {BISECT_FILE})" if more > 0 else ""
        )


def first_change(
    package: str, versions: Sequence[Version], probe: Callable[[Version], CellResult]
) -> Bisection:
    """Binary search ``versions`` (good first, bad last) for the first that differs from good.

    Each version is probed at most once; a probe whose verdict is ``error`` stops the search.
    """
    if len(versions) < 2:
        raise BisectError("bisect needs a good and a later bad release")
    done: dict[Version, CellResult] = {}

    def run(version: Version) -> CellResult:
        if version not in done:
            result = probe(version)
            if result.verdict == "error":
                raise ProbeFailed(f"{package} {version}: the harness failed: {result.reason}")
            done[version] = result
        return done[version]

    good, bad = versions[0], versions[-1]
    reference = signature(run(good))
    lo, hi = 0, len(versions) - 1
    if signature(run(bad)) == reference:
        return Bisection(package, good, bad, None, None, (), _probes(done))
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if signature(run(versions[mid])) == reference:
            lo = mid
        else:
            hi = mid
    changes = differences(done[versions[lo]], done[versions[hi]])
    return Bisection(package, good, bad, versions[hi], versions[lo], changes, _probes(done))


def _probes(done: Mapping[Version, CellResult]) -> tuple[Probe, ...]:
    return tuple(Probe(v, r) for v, r in sorted(done.items()))


def releases_between(
    listed: Sequence[Version], *, good: Version, bad: Version, pre: bool = False
) -> list[Version]:
    """The index's releases from good to bad, both included, oldest first."""
    return sorted(v for v in listed if good <= v <= bad and (pre or not v.is_prerelease))


def probe_cell(cell: Cell, package: str, version: Version) -> Cell:
    """The cell with ``package`` pinned to exactly ``version`` (added before the backend)."""
    return with_spec(cell, package, VersionSpec("exact", str(version)))


def default_range(
    cell: Cell, package: str, listed: Sequence[Version], *, good: str | None, bad: str | None
) -> tuple[Version, Version]:
    """The releases given, else the oldest and newest final the cell's spec admits."""
    spec = dict(cell.packages).get(package)
    admitted = [v for v in listed if not v.is_prerelease and (spec is None or spec.admits(v))]
    return (
        _release(package, good, listed, admitted[0] if spec and admitted else None, "--good"),
        _release(package, bad, listed, admitted[-1] if admitted else None, "--bad"),
    )


def _release(
    package: str, text: str | None, listed: Sequence[Version], default: Version | None, flag: str
) -> Version:
    if text is None:
        if default is None:
            raise BisectError(f"{flag}: {package} is not an axis of this cell; name a release")
        return default
    try:
        version = Version(text)
    except InvalidVersion:
        raise BisectError(f"{flag} = {text!r}: not a PEP 440 version") from None
    if version not in listed:
        raise BisectError(f"{flag} = {text!r}: no such release of {package} on the index")
    return version


def find_cell(cells: Sequence[Cell], cell_id: str) -> Cell:
    for cell in cells:
        if cell.id == cell_id:
            return cell
    raise BisectError(f"cell = {cell_id!r}: no such cell in the matrix (see `list`)")


def bisection_json(bisection: Bisection, cell: Cell) -> dict[str, object]:
    return {
        "cell": cell.id,
        "axis": bisection.package,
        "good": str(bisection.good),
        "bad": str(bisection.bad),
        "first_bad": None if bisection.first_bad is None else str(bisection.first_bad),
        "last_good": None if bisection.last_good is None else str(bisection.last_good),
        "changes": list(bisection.changes),
        "summary": bisection.summary(),
        "probes": [
            {"version": str(p.version), "cell": p.result.cell_id, "verdict": p.result.verdict}
            for p in bisection.probes
        ],
    }


@dataclass(frozen=True)
class RegressionBisect:
    """One bisection a regression asks for: a package whose installed version moved."""

    cell_id: str
    package: str
    good: str
    bad: str


#: Packages bisected per regressed cell: the axis packages first, then the rest that moved.
REGRESSION_PACKAGES = 3


def regression_bisects(grid: Grid) -> list[RegressionBisect]:
    """What to bisect for each regression the grid lists against the previous grid.

    Between the version installed before and the one installed now, for every package that
    moved forward (Python aside: it is not an index release).
    """
    if grid.changes is None:
        return []
    cells = {c.cell_id: c for c in grid.cells}
    asked: list[RegressionBisect] = []
    for change in grid.changes.regressions:
        cell = cells.get(change.cell_id)
        axes = set(cell.requested) if cell is not None else set()
        moved = [
            v
            for v in change.versions
            if v.package != PYTHON and v.before and v.after and _forward(v.before, v.after)
        ]
        moved.sort(key=lambda v: v.package not in axes)  # stable: axis packages first
        asked += [
            RegressionBisect(change.cell_id, v.package, v.before, v.after)  # type: ignore[arg-type]
            for v in moved[:REGRESSION_PACKAGES]
        ]
    return asked


def _forward(before: str, after: str) -> bool:
    try:
        return Version(before) < Version(after)
    except InvalidVersion:
        return False


# -- the command ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BisectRequest:
    cell_id: str
    axis: str
    good: str | None = None
    bad: str | None = None
    download_python: DownloadPython = "never"


def run_bisect(
    matrix: Matrix, root: Path, reports: Path, request: BisectRequest, *, out: IO[str]
) -> int:
    """Bisect one cell of ``matrix`` along one package; print and keep the answer."""
    # Imported here: listing needs none of the runner.
    from flask_admin_compat.run.session import (
        Layout,
        RunRequest,
        Stop,
        plan_suites,
        run_cells,
        run_options,
    )

    package = canonicalize_name(request.axis)
    try:
        if package == PYTHON:
            raise BisectError("--axis = 'python': bisect a package, not the interpreter")
        snapshot, _ = load_or_fetch_snapshot(
            root / ".cache" / "index-snapshot.json",
            sorted({*matrix.packages, package}),
            max_age_s=matrix.settings.index_max_age_s,
        )
        releases = {p: snapshot.versions(p) for p in needs_index(matrix)}
        cell = find_cell(expand(matrix, releases=releases), request.cell_id)
        listed = snapshot.versions(package)
        if not listed:
            raise BisectError(f"--axis = {request.axis!r}: no release of {package} on the index")
        good, bad = default_range(cell, package, listed, good=request.good, bad=request.bad)
        if good >= bad:
            raise BisectError(f"--good {good} must be older than --bad {bad}")
    except (BisectError, MatrixError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    except IndexUnavailable as exc:
        print(f"error: the package index did not answer: {exc}", file=sys.stderr)
        return exitcodes.HARNESS_ERROR
    versions = releases_between(listed, good=good, bad=bad)
    layout = Layout(root, reports / "bisect" / cell.id)
    run_request = RunRequest(download_python=request.download_python)
    out.write(
        f"bisect {cell.id} on {package}: {len(versions)} releases from {good} to {bad}, "
        f"at most {_most_probes(len(versions))} runs; probes in {layout.cells_dir}\n"
    )

    def probe(version: Version) -> CellResult:
        pinned = probe_cell(cell, package, version)
        options = run_options(matrix, layout, run_request, [pinned], snapshot, (SCOPING,), {})
        to_run = plan_suites([pinned], layout, options, (SCOPING,), force=False)
        finished, kept = run_cells([pinned], layout, options, to_run, matrix, run_request, out=out)
        result = ([f.result for f in finished] + kept)[0]
        out.write(f"  {package} {version}: {result.verdict} ({pinned.id})\n")
        return result

    try:
        bisection = first_change(package, versions, probe)
    except ProbeFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exitcodes.HARNESS_ERROR
    except Stop as stop:
        for line in stop.lines:
            print(line, file=sys.stderr)
        return stop.code
    layout.reports.mkdir(parents=True, exist_ok=True)
    write_text_atomic(
        layout.reports / BISECT_FILE, json.dumps(bisection_json(bisection, cell), indent=1) + "\n"
    )
    out.write(bisection.summary() + "\n")
    return exitcodes.OK


def run_regression_bisects(
    matrix: Matrix,
    root: Path,
    reports: Path,
    grid: Grid,
    *,
    download_python: DownloadPython = "never",
    out: IO[str],
) -> int:
    """Bisect every regression of ``grid``; a Markdown list of the answers on ``out``.

    Made for the regression issue CI opens: the runs' own progress goes to stderr, and a
    bisection that cannot answer says why in its line instead of stopping the others.
    """
    asked = regression_bisects(grid)
    if not asked:
        out.write("No regression to bisect.\n")
        return exitcodes.OK
    out.write("First bad releases (bisected between the version installed before and now):\n\n")
    worst = exitcodes.OK
    for item in asked:
        request = BisectRequest(item.cell_id, item.package, item.good, item.bad, download_python)
        code = run_bisect(matrix, root, reports, request, out=sys.stderr)
        answer = reports / "bisect" / item.cell_id / BISECT_FILE
        if code == exitcodes.OK and answer.is_file():
            said = json.loads(answer.read_text(encoding="utf-8"))["summary"]
        else:
            said = f"could not bisect {item.package} {item.good} → {item.bad} (exit {code})"
            worst = max(worst, code)
        out.write(f"- {item.cell_id}: {said}\n")
        out.flush()
    return worst


def _most_probes(count: int) -> int:
    """Both ends, then one probe per halving of what lies between."""
    between, probes = count - 1, 2
    while between > 1:
        between = (between + 1) // 2
        probes += 1
    return probes
