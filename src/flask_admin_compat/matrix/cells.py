"""Expand a :class:`Matrix` into cells: one combination each, with a stable id and tags.

A cell id names the cell everywhere (nox session, result folder, grid row, CI job), so it
is readable, stable across runs, and free of dots, which nox's ``-k`` cannot parse.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from packaging.version import Version

from flask_admin_compat.matrix.builds import Build, describe
from flask_admin_compat.matrix.matrix import (
    BACKEND,
    DATABASE,
    FLASK_SQLALCHEMY_LITE,
    POSTGRESQL,
    PYTHON,
    SQLITE,
    AxisValue,
    BackendValue,
    EachMinor,
    EachPatch,
    InstallSet,
    Matrix,
    MatrixError,
    Rule,
    Table,
    rule_matches_spec,
    spec_of,
)
from flask_admin_compat.matrix.specs import VersionSpec, minor_series, patch_releases

#: Short names used in ids and tags; other packages use their own name without dashes.
ID_PREFIXES: Mapping[str, str] = {
    PYTHON: "py",
    "flask": "flask",
    "flask-admin": "admin",
    "sqlalchemy": "sqla",
    "flask-sqlalchemy": "fsa",
    FLASK_SQLALCHEMY_LITE: "lite",
}


@dataclass(frozen=True)
class Cell:
    """One combination of the matrix: a Python and a spec per package, one backend."""

    python: VersionSpec
    # Axis packages, then the backend, then what its install set puts beside it (``beside``).
    packages: tuple[tuple[str, VersionSpec], ...]
    backend: str
    excluded_by: Rule | None = None
    database: str = SQLITE
    beside: tuple[str, ...] = ()  # packages installed with the backend, not tested as one

    @property
    def id(self) -> str:
        parts = [f"py{self.python.id_fragment}"]
        for name, spec in self.packages:
            fragment = f"{prefix(name)}{spec.id_fragment}"
            if name in self.beside:
                # Joined to the backend's part (-lite02fsa31), so that an install set's id
                # never reads as a second backend, and a plain lite cell keeps its id.
                parts[-1] += fragment
            else:
                parts.append(fragment)
        # SQLite is the default and adds nothing; a server database is a suffix (-pg).
        if self.database != SQLITE:
            parts.append(DATABASE_SUFFIXES[self.database])
        return "-".join(parts)

    @property
    def requested(self) -> dict[str, str]:
        """Axis name to spec text, the form results record."""
        return {
            PYTHON: self.python.text,
            **{name: spec.text for name, spec in self.packages},
            DATABASE: self.database,
        }

    @property
    def requirements(self) -> tuple[str, ...]:
        """PEP 508 requirement strings for the installer, built only from validated specs."""
        return tuple(f"{name}{spec.requirement_suffix}" for name, spec in self.packages)

    @property
    def builds(self) -> tuple[tuple[str, Build], ...]:
        """The unreleased builds this cell installs, by package (none for most cells)."""
        return tuple((name, spec.build) for name, spec in self.packages if spec.build is not None)

    @property
    def tags(self) -> tuple[str, ...]:
        """nox tags: one per axis value (``flask-3.1``), and the backend's short name."""
        tags = [f"py-{self.python.tag_fragment}"]
        tags += [
            # "with-fsa-3.1", not "fsa-3.1": `nox -t fsa-3.1` keeps meaning the FSA backend.
            f"with-{prefix(name)}-{spec.tag_fragment}"
            if name in self.beside
            else f"{prefix(name)}-{spec.tag_fragment}"
            for name, spec in self.packages
        ]
        tags.append(prefix(self.backend))
        if self.database != SQLITE:
            # No tag for SQLite: nox's -k matches substrings, and "sqlite" contains "lite".
            tags.append(DATABASE_SUFFIXES[self.database])
        return tuple(tags)

    @property
    def description(self) -> str:
        """One line for ``nox -l``: the pins this cell asks for."""
        pins = ", ".join(
            f"{'with ' if name in self.beside else ''}{name} "
            + (describe(spec.build) if spec.build is not None else spec.text)
            for name, spec in self.packages
        )
        on = "" if self.database == SQLITE else f", on {self.database}"
        return f"Python {self.python.text}: {pins}{on}"


DATABASE_SUFFIXES: Mapping[str, str] = {POSTGRESQL: "pg"}


def with_spec(cell: Cell, package: str, spec: VersionSpec) -> Cell:
    """The cell with ``package`` asked for as ``spec`` (added before the backend when new).

    How ``bisect`` pins one release and ``compare`` puts a build where the release was; the
    result is never excluded, since it is asked for by name.
    """
    names = [name for name, _ in cell.packages]
    if package in names:
        packages = tuple((n, spec if n == package else s) for n, s in cell.packages)
    else:
        at = names.index(cell.backend)
        packages = (*cell.packages[:at], (package, spec), *cell.packages[at:])
    return replace(cell, packages=packages, excluded_by=None)


def prefix(package: str) -> str:
    return ID_PREFIXES.get(package, package.replace("-", "").replace("_", "").replace(".", ""))


def needs_index(matrix: Matrix) -> tuple[str, ...]:
    """Packages with an ``each = "minor"`` or ``"patch"`` spec, which only the index expands."""
    return tuple(
        name
        for name, values in (*matrix.axes, *matrix.backends)
        if any(isinstance(spec_of(v), EachMinor | EachPatch) for v in values)
    )


def wants_prereleases(matrix: Matrix) -> tuple[str, ...]:
    """Packages with an ``each = "patch"`` spec that asks for pre-releases (``pre = true``)."""
    return tuple(
        name
        for name, values in (*matrix.axes, *matrix.backends)
        if any(_asks_pre(spec_of(v)) for v in values)
    )


def _asks_pre(value: AxisValue) -> bool:
    return isinstance(value, EachPatch) and value.pre


def expand(
    matrix: Matrix, *, releases: Mapping[str, Sequence[Version]] | None = None
) -> list[Cell]:
    """Every cell of the matrix, excluded ones included (marked), in a stable order.

    Each table gives the product of its axes; a cell that two tables both reach is one cell,
    where the first table puts it. ``releases`` gives each package's releases for ``each``
    specs; it is needed only for those, so listing a matrix without them stays offline.
    """
    releases = releases or {}
    cells: list[Cell] = []
    seen: set[Cell] = set()
    for table in matrix.tables:
        for cell in _table_cells(table, releases, matrix):
            if cell not in seen:
                seen.add(cell)
                cells.append(cell)
    for include in matrix.includes:
        values = dict(include.values)
        backend = include.values[-1][0]
        packages = tuple((n, s) for n, s in include.values if n != PYTHON)
        cell = Cell(
            values[PYTHON],
            (*packages, *include.beside),
            backend,
            database=include.database,
            beside=tuple(n for n, _ in include.beside),
        )
        if cell in seen:
            raise MatrixError(
                matrix.path, f"include[{include.index}]", cell.id, "duplicates a cell of the axes"
            )
        seen.add(cell)
        cells.append(cell)
    _check_unique_ids(cells, matrix)
    return [_with_exclusion(cell, matrix.excludes) for cell in cells]


def _table_cells(
    table: Table, releases: Mapping[str, Sequence[Version]], matrix: Matrix
) -> list[Cell]:
    axes = [
        (name, _concrete(name, values, releases, matrix, key=f"{table.key}.{name}"))
        for name, values in table.axes
    ]
    names = [n for n, _ in axes][1:]
    cells: list[Cell] = []
    for backend, backend_values in table.backends:
        choices = _backend_choices(backend, backend_values, releases, matrix, table)
        for combo, (backend_spec, beside) in itertools.product(
            itertools.product(*(specs for _, specs in axes)), choices
        ):
            python, *package_specs = combo
            packages = tuple(zip(names, package_specs, strict=True))
            for database in table.databases:
                cells.append(
                    Cell(
                        python,
                        (*packages, (backend, backend_spec), *beside),
                        backend,
                        database=database,
                        beside=tuple(n for n, _ in beside),
                    )
                )
    return cells


def _backend_choices(
    backend: str,
    values: tuple[BackendValue, ...],
    releases: Mapping[str, Sequence[Version]],
    matrix: Matrix,
    table: Table,
) -> list[tuple[VersionSpec, tuple[tuple[str, VersionSpec], ...]]]:
    """Each backend spec, with the packages its install set puts beside it (none for most)."""
    key = f"{table.key}.backends.{backend}"
    choices: list[tuple[VersionSpec, tuple[tuple[str, VersionSpec], ...]]] = []
    for value in values:
        beside = value.beside if isinstance(value, InstallSet) else ()
        for spec in _concrete(backend, (spec_of(value),), releases, matrix, key=key):
            if (spec, beside) not in choices:
                choices.append((spec, beside))
    return choices


def _concrete(
    name: str,
    values: tuple[AxisValue, ...],
    releases: Mapping[str, Sequence[Version]],
    matrix: Matrix,
    *,
    key: str,
) -> list[VersionSpec]:
    specs: list[VersionSpec] = []
    for value in values:
        if isinstance(value, VersionSpec):
            expanded = [value]
        else:
            known = releases.get(name)
            each = "minor" if isinstance(value, EachMinor) else "patch"
            if known is None:
                raise MatrixError(
                    matrix.path,
                    key,
                    f"each = {each}",
                    "needs the package index to expand (not cached)",
                )
            expanded = (
                minor_series(list(known), floor=value.floor)
                if isinstance(value, EachMinor)
                else patch_releases(list(known), floor=value.floor, pre=value.pre)
            )
        specs.extend(s for s in expanded if s not in specs)
    return specs


def _check_unique_ids(cells: list[Cell], matrix: Matrix) -> None:
    seen: dict[str, Cell] = {}
    for cell in cells:
        if cell.id in seen:
            raise MatrixError(
                matrix.path, "axes", cell.id, "two cells get the same id; write specs that differ"
            )
        seen[cell.id] = cell


def _with_exclusion(cell: Cell, rules: tuple[Rule, ...]) -> Cell:
    for rule in rules:
        if rule_matches(rule, cell):
            return replace(cell, excluded_by=rule)
    return cell


def rule_matches(rule: Rule, cell: Cell) -> bool:
    """Every condition of the rule holds for the cell (an axis it lacks never matches)."""
    specs = {PYTHON: cell.python, **dict(cell.packages)}
    for axis, condition in rule.conditions:
        if axis == BACKEND:
            if cell.backend != condition:
                return False
        elif axis == DATABASE:
            if cell.database != condition:
                return False
        elif axis not in specs or not rule_matches_spec(condition, specs[axis]):
            return False
    return True


def unused_rules(matrix: Matrix, cells: Sequence[Cell]) -> list[Rule]:
    """Exclude rules that match no cell: likely a typo, worth a warning."""
    used = {id(c.excluded_by) for c in cells if c.excluded_by is not None}
    return [rule for rule in matrix.excludes if id(rule) not in used]
