"""Expand a :class:`Matrix` into cells: one combination each, with a stable id and tags.

A cell id names the cell everywhere (nox session, result folder, grid row, CI job), so it
is readable, stable across runs, and free of dots, which nox's ``-k`` cannot parse.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from packaging.version import Version

from flask_admin_compat.matrix.matrix import (
    BACKEND,
    DATABASE,
    FLASK_SQLALCHEMY_LITE,
    POSTGRESQL,
    PYTHON,
    SQLITE,
    AxisValue,
    EachMinor,
    Matrix,
    MatrixError,
    Rule,
    rule_matches_spec,
)
from flask_admin_compat.matrix.specs import VersionSpec, minor_series

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
    packages: tuple[tuple[str, VersionSpec], ...]  # axis packages, then the backend last
    backend: str
    excluded_by: Rule | None = None
    database: str = SQLITE

    @property
    def id(self) -> str:
        parts = [f"py{self.python.id_fragment}"]
        parts += [f"{prefix(name)}{spec.id_fragment}" for name, spec in self.packages]
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
    def tags(self) -> tuple[str, ...]:
        """nox tags: one per axis value (``flask-3.1``), and the backend's short name."""
        tags = [f"py-{self.python.tag_fragment}"]
        tags += [f"{prefix(name)}-{spec.tag_fragment}" for name, spec in self.packages]
        tags.append(prefix(self.backend))
        if self.database != SQLITE:
            # No tag for SQLite: nox's -k matches substrings, and "sqlite" contains "lite".
            tags.append(DATABASE_SUFFIXES[self.database])
        return tuple(tags)

    @property
    def description(self) -> str:
        """One line for ``nox -l``: the pins this cell asks for."""
        pins = ", ".join(f"{name} {spec.text}" for name, spec in self.packages)
        on = "" if self.database == SQLITE else f", on {self.database}"
        return f"Python {self.python.text}: {pins}{on}"


DATABASE_SUFFIXES: Mapping[str, str] = {POSTGRESQL: "pg"}


def prefix(package: str) -> str:
    return ID_PREFIXES.get(package, package.replace("-", "").replace("_", "").replace(".", ""))


def needs_index(matrix: Matrix) -> tuple[str, ...]:
    """Packages whose axis has an ``each = "minor"`` spec, which only the index can expand."""
    return tuple(
        name
        for name, values in (*matrix.axes, *matrix.backends)
        if any(isinstance(v, EachMinor) for v in values)
    )


def expand(
    matrix: Matrix, *, releases: Mapping[str, Sequence[Version]] | None = None
) -> list[Cell]:
    """Every cell of the matrix, excluded ones included (marked), in a stable order.

    ``releases`` gives each package's releases for ``each = "minor"`` axes; it is needed only
    for those, so listing a matrix without them stays offline.
    """
    releases = releases or {}
    axes = [(name, _concrete(name, values, releases, matrix)) for name, values in matrix.axes]
    cells: list[Cell] = []
    for backend, backend_values in matrix.backends:
        backend_specs = _concrete(backend, backend_values, releases, matrix)
        for combo in itertools.product(*(specs for _, specs in axes), backend_specs):
            *axis_specs, backend_spec = combo
            python, *package_specs = axis_specs
            packages = tuple(zip([n for n, _ in axes][1:], package_specs, strict=True))
            for database in matrix.databases:
                cells.append(
                    Cell(python, (*packages, (backend, backend_spec)), backend, database=database)
                )
    for include in matrix.includes:
        values = dict(include.values)
        backend = include.values[-1][0]
        packages = tuple((n, s) for n, s in include.values if n != PYTHON)
        cell = Cell(values[PYTHON], packages, backend, database=include.database)
        if any(c.id == cell.id for c in cells):
            raise MatrixError(
                matrix.path, f"include[{include.index}]", cell.id, "duplicates a cell of the axes"
            )
        cells.append(cell)
    _check_unique_ids(cells, matrix)
    return [_with_exclusion(cell, matrix.excludes) for cell in cells]


def _concrete(
    name: str,
    values: tuple[AxisValue, ...],
    releases: Mapping[str, Sequence[Version]],
    matrix: Matrix,
) -> list[VersionSpec]:
    specs: list[VersionSpec] = []
    for value in values:
        if isinstance(value, VersionSpec):
            specs.append(value)
            continue
        known = releases.get(name)
        if known is None:
            raise MatrixError(
                matrix.path, name, "each = minor", "needs the package index to expand (not cached)"
            )
        specs.extend(s for s in minor_series(list(known), floor=value.floor) if s not in specs)
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
