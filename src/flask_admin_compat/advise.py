"""Upgrade advice: is ``PACKAGE==VERSION`` safe for my stack, and if not, what is?

The user's stack comes from a requirements file (``--pins``) or from an interpreter they name
(``--python``), never from the environment this command runs in, which is nox's or the
harness's and says nothing about their application. Everything after reading the stack is
pure: match the stack to grid cells now and after the upgrade, compare their checks, and find
the nearest compatible cell.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from flask_admin_compat import exitcodes
from flask_admin_compat.grid.diff import broken_checks
from flask_admin_compat.grid.model import (
    GRID_FILE,
    PYTHON_AXIS,
    FailedCheck,
    Grid,
    GridCell,
    GridError,
    axis_order,
    read_grid,
    spec_sort_key,
)
from flask_admin_compat.matrix.specs import SpecError, parse_spec
from flask_admin_compat.report.markdown import AXIS_NAMES
from flask_admin_compat.report.view import failed_by_check
from flask_admin_compat.results.model import first_line
from flask_admin_compat.results.release_flags import RELEASE_FLAGS

DEFAULT_GRID = Path("reports") / GRID_FILE
#: Axes that are not distributions a user installs: a stack that does not name them matches
#: every value, where a package the user lacks (another backend) matches none.
NON_PACKAGE_AXES = frozenset({PYTHON_AXIS, "database"})
_PROBE_TIMEOUT_S = 60
# Run in the user's interpreter with -I, so that no PYTHONPATH or user site of ours leaks in.
_PROBE = (
    "import importlib.metadata as m, json, sys\n"
    "print(json.dumps({'python': '.'.join(map(str, sys.version_info[:3])),"
    " 'prefix': sys.prefix,"
    " 'packages': {d.metadata['Name']: d.version for d in m.distributions()"
    " if d.metadata['Name']}}))"
)


class AdviceError(ValueError):
    """Input the advice cannot work from: a bad pin, an unreadable file, the wrong interpreter."""


@dataclass(frozen=True)
class Stack:
    """The user's versions: distributions by canonical name, and Python when known."""

    packages: Mapping[str, str]
    python: str | None = None
    source: str = ""

    def version(self, axis: str) -> str | None:
        if axis == PYTHON_AXIS:
            return self.python
        return self.packages.get(canonicalize_name(axis))


@dataclass(frozen=True)
class Change:
    """One axis the user would have to move to reach a cell."""

    axis: str
    spec: str  # the cell's spec
    installed: str | None  # what the cell actually tested
    current: str | None  # the user's version, if any


@dataclass(frozen=True)
class Suggestion:
    cell: GridCell
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class Pairing:
    """A cell of the stack after the upgrade, beside the cell of the same stack now."""

    after: GridCell
    now: GridCell | None
    newly_failing: tuple[FailedCheck, ...] = ()


@dataclass(frozen=True)
class Untested:
    """An upgraded package that no grid cell is evidence for: not an axis, and never installed.

    ``installed`` is what the cells that otherwise match the upgraded stack did install of it
    (cell id, version; the version is None where a cell had none of it).
    """

    package: str
    version: str
    installed: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Advice:
    stack: Stack
    target: Stack
    upgrades: Mapping[str, tuple[str | None, str]]  # axis: (from, to)
    now: tuple[GridCell, ...]
    after: tuple[Pairing, ...]
    nearest: Suggestion | None = None
    include_now: str | None = None  # a matrix.toml snippet where the grid lacks the stack
    include_after: str | None = None
    unconstrained: tuple[str, ...] = field(default=())
    settled: bool = False  # every cell after the upgrade is plainly compatible
    untested: tuple[Untested, ...] = ()  # upgrades the grid has no evidence for at all


# -- reading the stack (the edges) --------------------------------------------------------------


def parse_pins(text: str) -> tuple[dict[str, str], list[str]]:
    """Exact pins (``name==version``) from requirements text, and the lines that pin nothing.

    Options (``-r``, ``-e``, ``--hash``), comments and markers are tolerated, so that a
    ``pip freeze`` or ``uv export`` output works as it is.
    """
    pins: dict[str, str] = {}
    skipped: list[str] = []
    for raw in re.sub(r"\\\n", " ", text).splitlines():
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        line = re.split(r"\s--?[a-z]", " " + line)[0].strip() if line else line
        if not line or line.startswith("-"):
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            skipped.append(line)
            continue
        specs = list(requirement.specifier)
        if len(specs) == 1 and specs[0].operator in ("==", "===") and "*" not in specs[0].version:
            pins[canonicalize_name(requirement.name)] = specs[0].version
        else:
            skipped.append(line)
    return pins, skipped


def parse_upgrades(texts: Sequence[str]) -> dict[str, str]:
    """``name==version`` arguments as axis to version; ``python==3.13`` moves Python."""
    upgrades: dict[str, str] = {}
    for text in texts:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            raise AdviceError(f"{text!r}: write the upgrade as PACKAGE==VERSION") from None
        specs = list(requirement.specifier)
        if len(specs) != 1 or specs[0].operator != "==" or "*" in specs[0].version:
            raise AdviceError(f"{text!r}: name one release, as PACKAGE==VERSION")
        try:
            Version(specs[0].version)
        except InvalidVersion:
            raise AdviceError(f"{text!r}: {specs[0].version!r} is not a version") from None
        upgrades[canonicalize_name(requirement.name)] = specs[0].version
    return upgrades


def read_pins(path: str, *, python: str | None) -> tuple[Stack, list[str]]:
    """The stack a requirements file pins (``-`` reads standard input)."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AdviceError(f"{path}: cannot read the pins: {exc}") from None
    pins, skipped = parse_pins(text)
    if not pins:
        raise AdviceError(f"{path}: no exact pins (name==version) found")
    return Stack(pins, python, source=path if path != "-" else "standard input"), skipped


def read_installed(python: str) -> Stack:
    """What an interpreter of the user's has installed, asked of that interpreter itself.

    Refuses the interpreter this command runs in: under nox that is nox's or the harness's
    environment, and its Flask is not the one the user's application runs on.
    """
    try:
        done = subprocess.run(
            [python, "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AdviceError(f"{python}: cannot run it: {exc}") from None
    if done.returncode != 0:
        raise AdviceError(f"{python}: failed to list its packages: {done.stderr.strip()[-500:]}")
    try:
        found = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AdviceError(f"{python}: answered something other than its package list") from None
    prefix = Path(found["prefix"]).resolve()
    if prefix == Path(sys.prefix).resolve() or ".nox" in prefix.parts:
        raise AdviceError(
            f"{python} is the environment this command runs in ({prefix}), not your "
            "application's: give your project's interpreter (e.g. --python .venv/bin/python) "
            "or its pins (--pins requirements.txt, or `pip freeze | ... --pins -`)"
        )
    packages: dict[str, str] = {canonicalize_name(k): v for k, v in found["packages"].items()}
    return Stack(packages, found["python"], source=f"{python} ({prefix})")


# -- matching (pure) ----------------------------------------------------------------------------


def admits(axis: str, spec: str, version: str, *, tested: str | None = None) -> bool:
    """Whether a cell's spec covers the user's version (``3.0.*`` covers ``3.0.3``).

    ``latest`` covers only the release the cell actually tested; a Python spec ``3.12`` is
    the whole 3.12 series, as the matrix means it.
    """
    try:
        wanted = Version(version)
    except InvalidVersion:
        return False
    if spec == "latest":
        return tested is not None and _same(tested, wanted)
    if axis == PYTHON_AXIS and re.fullmatch(r"[0-9]+\.[0-9]+", spec):
        spec = f"{spec}.*"
    try:
        return parse_spec(spec).admits(wanted)
    except SpecError:
        pass
    try:
        return SpecifierSet(spec).contains(wanted, prereleases=True)
    except InvalidSpecifier:
        return False


def _same(text: str, version: Version) -> bool:
    try:
        return Version(text) == version
    except InvalidVersion:
        return False


def tested_version(cell: GridCell, axis: str) -> str | None:
    return cell.python_version if axis == PYTHON_AXIS else cell.installed.get(axis)


def _axis_holds(cell: GridCell, axis: str, spec: str, stack: Stack) -> bool:
    version = stack.version(axis)
    if version is None:
        return axis in NON_PACKAGE_AXES
    return admits(axis, spec, version, tested=tested_version(cell, axis))


def matches(cell: GridCell, stack: Stack) -> bool:
    """Whether the cell tested this stack: every axis of the cell covers the user's version."""
    return bool(cell.requested) and all(
        _axis_holds(cell, axis, spec, stack) for axis, spec in cell.requested.items()
    )


def matching_cells(grid: Grid, stack: Stack) -> tuple[GridCell, ...]:
    """The cells that tested this stack, each answered by the most exact cell there is.

    A user on Flask-Admin 2.2.1 matches both ``admin22`` (2.2.*) and ``admin221``; the exact
    patch's cell answers. A user with flask-sqlalchemy-lite and Flask-SQLAlchemy both installed
    matches the lite cell, the Flask-SQLAlchemy cell and the install set that has both; the
    install set answers. A cell gives way to another that names every axis it does, each at
    least as narrowly, and either one more axis or one narrower spec.
    """
    found = tuple(c for c in grid.cells if matches(c, stack))
    return tuple(c for c in found if not any(more_specific(o, c) for o in found if o is not c))


def more_specific(a: GridCell, b: GridCell) -> bool:
    """Whether cell ``a`` describes a stack both cover more exactly than cell ``b`` does."""
    ra, rb = a.requested, b.requested
    if not set(rb) <= set(ra):
        return False
    strictly = set(ra) > set(rb)
    for axis, spec in rb.items():
        if ra[axis] == spec:
            continue
        if not _narrower(axis, ra[axis], spec):
            return False
        strictly = True
    return strictly


def _narrowness(axis: str, spec: str) -> tuple[int, int] | None:
    """Exact before series before latest; a longer series (``2.2.*``) before a shorter."""
    if axis == PYTHON_AXIS and re.fullmatch(r"[0-9]+\.[0-9]+", spec):
        return (1, 2)  # the matrix's "3.12" is the 3.12 series
    try:
        parsed = parse_spec(spec)
    except SpecError:
        return None
    if parsed.kind == "latest":
        return (0, 0)
    return (2 if parsed.kind == "exact" else 1, len(parsed.text.removesuffix(".*").split(".")))


def _narrower(axis: str, a: str, b: str) -> bool:
    na, nb = _narrowness(axis, a), _narrowness(axis, b)
    return na is not None and nb is not None and na > nb


def upgraded(stack: Stack, upgrades: Mapping[str, str]) -> Stack:
    packages = dict(stack.packages)
    python = stack.python
    for name, version in upgrades.items():
        if name == PYTHON_AXIS:
            python = version
        else:
            packages[name] = version
    return replace(stack, packages=packages, python=python)


def _free_axes(grid: Grid, stack: Stack) -> tuple[str, ...]:
    """Axes the stack leaves open (Python unknown, a database): each value is its own answer."""
    return tuple(
        a for a in axis_order(grid.cells) if a in NON_PACKAGE_AXES and stack.version(a) is None
    )


def nearest_compatible(grid: Grid, target: Stack) -> Suggestion | None:
    """The compatible cell reached by moving the fewest axes; the newest releases on ties."""
    order = axis_order(grid.cells)
    candidates: list[Suggestion] = []
    for cell in grid.cells:
        # Never a pre-release or an unreleased build: nothing a user can install as it stands.
        unreleased = any(flag in cell.flags for flag in RELEASE_FLAGS)
        if cell.verdict != "compatible" or cell.flaky or unreleased or not cell.requested:
            continue
        changes = tuple(
            Change(axis, spec, tested_version(cell, axis), target.version(axis))
            for axis, spec in cell.requested.items()
            if not _axis_holds(cell, axis, spec, target)
        )
        candidates.append(Suggestion(cell, changes))
    if not candidates:
        return None
    # Newest first, then a stable sort on the number of moves keeps the newest among equals.
    candidates.sort(
        key=lambda s: tuple(spec_sort_key(s.cell.requested.get(a, "")) for a in order),
        reverse=True,
    )
    candidates.sort(key=lambda s: len(s.changes))
    return candidates[0]


def include_snippet(grid: Grid, stack: Stack, *, pins: Mapping[str, str] | None = None) -> str:
    """A ``[[include]]`` table for matrix.toml that would add this stack's cell.

    It names the axes of the grid's cells that the stack fills best (so the right backend),
    with the user's exact versions, and ``pins`` for packages beyond the axes. A value the
    stack lacks is the grid's newest, marked to change: the table stays valid matrix.toml
    (a ``"?"`` would be refused), and the comment says what to write instead.
    """
    shapes = list(dict.fromkeys(tuple(c.requested) for c in grid.cells if c.requested))
    axes = max(
        shapes,
        key=lambda s: (sum(stack.version(a) is not None for a in s), -len(s)),
        default=(PYTHON_AXIS, *sorted(stack.packages)),
    )
    lines = ["[[include]]"]
    for axis in axes:
        version = stack.version(axis)
        if version is None:
            lines.append(_unknown_value_line(grid, axis))
        elif axis == PYTHON_AXIS:
            lines.append(f'{axis} = "{_python_series(version)}"')
        else:
            lines.append(f'{axis} = "{version}"')
    if pins:
        table = ", ".join(f'{name} = "{version}"' for name, version in pins.items())
        lines.insert(len(lines) - 1, f"pins = {{ {table} }}")
    return "\n".join(lines)


def _unknown_value_line(grid: Grid, axis: str) -> str:
    values = {c.requested[axis] for c in grid.cells if axis in c.requested}
    newest = max(values, key=spec_sort_key, default="latest")
    known = ", ".join(sorted(values, key=spec_sort_key))
    return f'{axis} = "{newest}"  # not known from your stack: write yours (the grid has {known})'


def _python_series(version: str) -> str:
    try:
        parsed = Version(version)
    except InvalidVersion:
        return version
    return f"{parsed.major}.{parsed.minor}"


def advise(grid: Grid, stack: Stack, upgrades: Mapping[str, str]) -> Advice:
    """Everything the advice says, decided from the grid, the stack and the upgrades."""
    target = upgraded(stack, upgrades)
    free = _free_axes(grid, stack)
    now = matching_cells(grid, stack)
    after, untested = evidence_for(grid, matching_cells(grid, target), upgrades)

    def key(cell: GridCell) -> tuple[str | None, ...]:
        return tuple(cell.requested.get(a) for a in free)

    by_key = {key(c): c for c in now}
    pairings = []
    for cell in after:
        before = by_key.get(key(cell))
        broken = broken_checks(before, cell) if before is not None else ()
        pairings.append(Pairing(cell, before, broken))
    settled = bool(after) and all(c.verdict == "compatible" and not c.flaky for c in after)
    return Advice(
        stack=stack,
        target=target,
        upgrades={n: (stack.version(n), v) for n, v in upgrades.items()},
        now=now,
        after=tuple(pairings),
        # A suggestion reached from a stack the grid never tested would be a guess.
        nearest=None if settled or untested else nearest_compatible(grid, target),
        include_now=None if now else include_snippet(grid, stack),
        include_after=None
        if after
        else include_snippet(grid, target, pins={u.package: u.version for u in untested}),
        unconstrained=free,
        settled=settled,
        untested=untested,
    )


def evidence_for(
    grid: Grid, cells: Sequence[GridCell], upgrades: Mapping[str, str]
) -> tuple[tuple[GridCell, ...], tuple[Untested, ...]]:
    """The cells that are evidence for the upgrade, and the upgrades none is evidence for.

    A package that is an axis is matched by the cell's spec. One that is not (Werkzeug,
    Django) was left to the resolver, so a cell says something about the upgrade only if it
    installed exactly that version; otherwise the grid never tested it, whatever the cell's
    verdict, and the cells' own versions of it are what the advice can report.
    """
    axes = set(axis_order(grid.cells))
    off_axis = {n: v for n, v in upgrades.items() if n not in axes and n not in NON_PACKAGE_AXES}
    kept = tuple(
        c for c in cells if all(_same_version(c.installed.get(n), v) for n, v in off_axis.items())
    )
    untested = tuple(
        Untested(name, version, tuple((c.cell_id, c.installed.get(name)) for c in cells))
        for name, version in off_axis.items()
        if not any(_same_version(c.installed.get(name), version) for c in cells)
    )
    return kept, untested


def _same_version(installed: str | None, wanted: str) -> bool:
    return installed is not None and _same(installed, Version(wanted))


# -- words ----------------------------------------------------------------------------------------


def _name(axis: str) -> str:
    return AXIS_NAMES.get(axis, axis)


def verdict_words(cell: GridCell) -> str:
    """A cell's verdict as a sentence a person acts on."""
    words = {
        "compatible": "compatible \N{EM DASH} ModelViews get a properly scoped session per request",
        "workaround": "workaround \N{EM DASH} works only if you register ModelViews with the "
        f"{cell.recommended_pattern or 'other'} pattern",
        "incompatible": "incompatible \N{EM DASH} no registration pattern gets a properly "
        "scoped session",
        "uninstallable": "uninstallable \N{EM DASH} these versions cannot be installed together: "
        + first_line(cell.reason),
        "error": "unknown \N{EM DASH} the harness failed on this cell, so the grid cannot say"
        + (f" ({first_line(cell.reason)})" if cell.reason else ""),
        "excluded": "not tested \N{EM DASH} excluded by the matrix: " + first_line(cell.reason),
    }[cell.verdict]
    if cell.flaky:
        words += " (flaky: a check gave different outcomes when re-run)"
    if cell.deprecation:
        words += (
            f" (deprecated: Flask-Admin warns about the {cell.recommended_pattern or 'working'} "
            f"pattern, so it may stop working: {first_line(cell.deprecation)})"
        )
    return words


def _stack_line(stack: Stack, axes: Sequence[str]) -> str:
    shown = [f"{_name(a)} {stack.version(a)}" for a in axes if stack.version(a) is not None]
    return " · ".join(shown) or "(no version of any grid axis)"


def _cell_line(cell: GridCell, free: Sequence[str]) -> str:
    where = ", ".join(f"{_name(a)} {cell.requested[a]}" for a in free if a in cell.requested)
    return f"{verdict_words(cell)} [{where + ', ' if where else ''}cell {cell.cell_id}]"


def render_advice(advice: Advice, *, grid_axes: Sequence[str]) -> str:
    """The advice in plain words, one finding per paragraph."""
    axes = [*grid_axes, *(a for a in advice.upgrades if a not in grid_axes)]
    free = advice.unconstrained
    out = [
        f"Your stack ({advice.stack.source}): {_stack_line(advice.stack, axes)}",
        "The upgrade: "
        + ", ".join(
            f"{_name(n)} {was or '(not installed)'} → {to}"
            for n, (was, to) in advice.upgrades.items()
        ),
    ]
    if free:
        out.append(
            "Not known: "
            + ", ".join(_name(a) for a in free)
            + "; every value the grid has is shown"
            + (" (give --python-version to narrow it)." if PYTHON_AXIS in free else ".")
        )
    out.append("")
    if advice.now:
        out.append("Now: " + "; ".join(_cell_line(c, free) for c in advice.now))
    else:
        out += ["Now: the grid has no cell for your current stack."]
    out += [_untested_words(u) for u in advice.untested]
    if not advice.after:
        out += [
            "After the upgrade: the grid has no cell for this stack, so it cannot say.",
            "To test it, add this to matrix.toml and run `nox -s matrix`:",
            "",
            _indent(advice.include_after or ""),
        ]
    for pairing in advice.after:
        out.append("After the upgrade: " + _cell_line(pairing.after, free))
        out += _failing_lines(pairing)
    if advice.settled:
        out += ["", "Nothing else to change: the upgraded stack is compatible."]
    elif advice.nearest is not None:
        out += ["", _nearest_words(advice.nearest)]
    elif not advice.untested:
        out += ["", "The grid has no compatible cell at all to suggest instead."]
    if advice.include_now and advice.after:
        out += [
            "",
            "Your current stack has no cell; to add it to matrix.toml:",
            "",
            _indent(advice.include_now),
        ]
    return "\n".join(out).rstrip() + "\n"


def _untested_words(untested: Untested) -> str:
    """Why the grid says nothing of this upgrade, with what its cells did install instead."""
    name = _name(untested.package)
    seen = [(cid, v) for cid, v in untested.installed if v is not None]
    if seen:
        had = "; ".join(f"{name} {v} [cell {cid}]" for cid, v in seen)
        where = f"the cells for your stack installed {had}"
    elif untested.installed:
        where = f"the cells for your stack installed no {name} at all"
    else:
        where = "nor has the grid any other cell for your stack"
    return (
        f"Untested: {name} is not an axis of the grid, and no cell installed "
        f"{name} {untested.version} ({where}), so the grid cannot say whether it is safe."
    )


def _failing_lines(pairing: Pairing) -> list[str]:
    if pairing.after.verdict in ("uninstallable", "excluded", "error"):
        return []
    if pairing.now is None:
        failed = failed_by_check(pairing.after)
        if not failed:
            return []
        return [
            "  Checks that fail after the upgrade (no cell of your current stack to compare):"
        ] + [f"    - {f.label}" + (f": {f.message}" if f.message else "") for f in failed]
    if not pairing.newly_failing:
        return ["  No check that passes now would fail after the upgrade."]
    return ["  Checks that would newly fail:"] + [
        f"    - {f.label}" + (f": {f.message}" if f.message else "") for f in pairing.newly_failing
    ]


def _nearest_words(suggestion: Suggestion) -> str:
    cell = suggestion.cell
    if not suggestion.changes:
        return f"Nearest compatible combination: your upgraded stack itself [cell {cell.cell_id}]."
    moves = [
        f"{_name(c.axis)} {c.current or '(not installed)'} → {c.spec}"
        + (f" (tested with {c.installed})" if c.installed and c.installed != c.spec else "")
        for c in suggestion.changes
    ]
    count = len(moves)
    return (
        f"Nearest compatible combination ({count} {'axis' if count == 1 else 'axes'} changed) "
        f"[cell {cell.cell_id}]:\n" + "\n".join(f"    - {m}" for m in moves)
    )


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


# -- command line -------------------------------------------------------------------------------


def run_advise(args: argparse.Namespace) -> int:
    """The ``advise`` command: its options parsed by the CLI, its answer on stdout."""
    try:
        upgrades = parse_upgrades(args.upgrades)
        if args.pins is not None:
            stack, skipped = read_pins(args.pins, python=args.python_version)
            for line in skipped:
                print(f"advise: not an exact pin, ignored: {line}", file=sys.stderr)
        else:
            stack = read_installed(args.python)
        grid = read_grid(args.grid)
    except (AdviceError, GridError) as exc:
        print(f"advise: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    advice = advise(grid, stack, upgrades)
    sys.stdout.write(render_advice(advice, grid_axes=axis_order(grid.cells)))
    return exitcodes.OK
