"""matrix.toml: load it, validate it, and hold it as a typed :class:`Matrix`.

Loading is pure apart from reading the one file and works offline: specs that need the
package index (``{ each = "minor" }``, ``{ each = "patch" }``) stay unexpanded here and are
expanded by :mod:`flask_admin_compat.matrix.cells` from a release list handed to it.

A matrix is one or more tables of axes, whose union is the set of cells (as hatch's
``[[envs.*.matrix]]``): ``[axes]`` is one table, each ``[[matrix]]`` another, so that a wide
axis (every Python) crosses only the axes it matters for.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from flask_admin_compat.jsonio import SchemaProblem, schema_problem, value_at
from flask_admin_compat.matrix.builds import BuildError, is_build_value, parse_build
from flask_admin_compat.matrix.specs import (
    SpecError,
    VersionSpec,
    build_spec,
    parse_spec,
    parse_specifier,
)

PYTHON = "python"
FLASK = "flask"
FLASK_ADMIN = "flask-admin"
SQLALCHEMY = "sqlalchemy"
BACKEND = "backend"
FLASK_SQLALCHEMY = "flask-sqlalchemy"
FLASK_SQLALCHEMY_LITE = "flask-sqlalchemy-lite"

REQUIRED_AXES: tuple[str, ...] = (PYTHON, FLASK, FLASK_ADMIN, SQLALCHEMY)
BACKENDS: tuple[str, ...] = (FLASK_SQLALCHEMY, FLASK_SQLALCHEMY_LITE)
SCOPING = "scoping"  # the harness's own suite (tests/scoping): the one that gives the verdict
UPSTREAM = "upstream"  # Flask-Admin's own SQLAlchemy tests, a second opinion beside it
SUITES: tuple[str, ...] = (SCOPING, UPSTREAM)
DATABASE = "database"
SQLITE = "sqlite"  # a temporary file per cell: embedded, nothing to start, the default
POSTGRESQL = "postgresql"  # a real server, where held sessions show their cost
DATABASES: tuple[str, ...] = (SQLITE, POSTGRESQL)

PINS = "pins"  # an [[include]]'s packages beyond the axes
#: More cells at once than this is a typo (jobs = 10000), not a machine: each cell is a
#: pytest process with its own environment, and 2 of them already fill a 2-core machine.
MAX_JOBS = 256  # settings.jobs in schema/matrix.schema.json says the same

_TABLE_NAME = "name"  # a [[matrix]] table's optional label, shown in messages
#: The keys of a table that are not axes.
_TABLE_KEYS = frozenset({_TABLE_NAME, "backends", DATABASE})
MATRIX_SCHEMA = "matrix"  # schema/matrix.schema.json


_V = TypeVar("_V")


class MatrixError(ValueError):
    """A problem in matrix.toml, said in one line naming the file, the key and the value."""

    def __init__(self, path: Path | str, key: str, value: object, problem: str) -> None:
        self.path, self.key, self.value, self.problem = str(path), key, value, problem
        super().__init__(f"{path}: {key} = {value!r}: {problem}")


@dataclass(frozen=True)
class EachMinor:
    """``{ each = "minor", from = "X.Y" }``: every minor series since ``floor``."""

    floor: Version


@dataclass(frozen=True)
class EachPatch:
    """``{ each = "patch", from = "X.Y" }``: every release since ``floor``, one cell each.

    Pre-releases only with ``pre = true``; yanked releases never (the index leaves them out).
    """

    floor: Version
    pre: bool = False


EachSpec = EachMinor | EachPatch
AxisValue = VersionSpec | EachMinor | EachPatch


@dataclass(frozen=True)
class InstallSet:
    """A backend value installed with other packages beside it.

    ``{ version = "0.2.*", with = { flask-sqlalchemy = "3.1.*" } }``: the backend (the key it
    is listed under) is still the one the suite uses; ``beside`` is installed with it.
    """

    spec: AxisValue
    beside: tuple[tuple[str, VersionSpec], ...]


BackendValue = AxisValue | InstallSet
Axes = tuple[tuple[str, tuple[AxisValue, ...]], ...]
BackendAxes = tuple[tuple[str, tuple[BackendValue, ...]], ...]


def spec_of(value: BackendValue) -> AxisValue:
    """The backend's own spec, with or without packages beside it."""
    return value.spec if isinstance(value, InstallSet) else value


@dataclass(frozen=True)
class Settings:
    timeout_s: int = 900
    jobs: int | None = None  # None: one worker per CPU
    index_max_age_s: int = 6 * 3600
    suites: tuple[str, ...] = (SCOPING,)


@dataclass(frozen=True)
class Rule:
    """An ``[[exclude]]`` rule: every condition must hold for a cell to be excluded."""

    conditions: tuple[tuple[str, str], ...]  # (axis, specifier or spec text)
    reason: str
    index: int


@dataclass(frozen=True)
class Table:
    """One table of axes: the product of its values is a set of cells.

    ``key`` is where it is in the file (``axes`` or ``matrix[1]``), for messages.
    """

    key: str
    axes: Axes  # python, flask, flask-admin, sqlalchemy, then extra packages
    backends: BackendAxes
    databases: tuple[str, ...] = (SQLITE,)
    name: str | None = None
    own_backends: bool = False  # backends.NAME in the table itself, not the file's [backends]


@dataclass(frozen=True)
class Matrix:
    path: Path
    tables: tuple[Table, ...]
    excludes: tuple[Rule, ...] = ()
    includes: tuple[Include, ...] = ()
    settings: Settings = field(default_factory=Settings)

    @property
    def axes(self) -> Axes:
        """Every table's axes, merged: each axis once, its values in first-seen order."""
        return _union(t.axes for t in self.tables)

    @property
    def backends(self) -> BackendAxes:
        return _union(t.backends for t in self.tables)

    @property
    def databases(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d for t in self.tables for d in t.databases))

    @property
    def packages(self) -> tuple[str, ...]:
        """Every package whose releases the matrix asks about (not Python)."""
        names = [name for name, _ in self.axes if name != PYTHON]
        names += [name for name, _ in self.backends]
        names += [
            beside
            for _, values in self.backends
            for value in values
            if isinstance(value, InstallSet)
            for beside, _ in value.beside
        ]
        names += [n for inc in self.includes for n, _ in inc.values if n not in (PYTHON,)]
        names += [n for inc in self.includes for n, _ in inc.beside]
        return tuple(dict.fromkeys(names))

    @property
    def axis_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.axes)


def _union(
    groups: Iterable[tuple[tuple[str, tuple[_V, ...]], ...]],
) -> tuple[tuple[str, tuple[_V, ...]], ...]:
    merged: dict[str, list[_V]] = {}
    for group in groups:
        for name, values in group:
            known = merged.setdefault(name, [])
            known.extend(v for v in values if v not in known)
    return tuple((name, tuple(values)) for name, values in merged.items())


@dataclass(frozen=True)
class Include:
    """An ``[[include]]`` cell: one value for every axis, one backend, and its database."""

    values: tuple[tuple[str, VersionSpec], ...]
    index: int
    database: str = SQLITE
    beside: tuple[tuple[str, VersionSpec], ...] = ()  # installed with the backend


def load_matrix(path: Path) -> Matrix:
    """Read and validate matrix.toml; every problem is a :class:`MatrixError`."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MatrixError(path, "(file)", str(path), f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise MatrixError(path, "(file)", str(path), _not_utf8(exc)) from None
    except tomllib.TOMLDecodeError as exc:
        raise MatrixError(path, "(file)", str(path), f"not valid TOML: {exc}") from None
    return parse_matrix(raw, path=path)


def _not_utf8(exc: UnicodeDecodeError) -> str:
    return f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"


def parse_matrix(raw: dict[str, Any], *, path: Path) -> Matrix:
    """Validate the parsed TOML document and build the :class:`Matrix`.

    Its shape is checked by ``schema/matrix.schema.json``, whose descriptions are the messages;
    what a schema cannot say (how the parts relate: an include giving every axis the tables
    share, exclude rules naming known axes, two values that would give one id, canonical
    package names, PEP 440 specifier sets) is checked here, while building.
    """
    problem = schema_problem(raw, MATRIX_SCHEMA)
    if problem is not None:
        raise _schema_error(raw, problem, path=path)
    default = _backends(raw["backends"], key="backends", path=path) if "backends" in raw else ()
    found = [("axes", raw["axes"])] if "axes" in raw else []
    found += [(f"matrix[{i}]", item) for i, item in enumerate(raw.get("matrix", []))]
    tables = tuple(_table(item, key, path=path, default_backends=default) for key, item in found)
    # An include gives a value to every axis all tables share (for one table: its axes).
    shared = [n for n, _ in tables[0].axes if all(n in dict(t.axes) for t in tables)]
    includes = tuple(
        _include(item, index=i, path=path, axis_names=shared)
        for i, item in enumerate(raw.get("include", []))
    )
    known = {*Matrix(path, tables, (), includes).packages, PYTHON, BACKEND, DATABASE}
    excludes = tuple(
        _rule(item, index=i, path=path, known_axes=known)
        for i, item in enumerate(raw.get("exclude", []))
    )
    return Matrix(path, tables, excludes, includes, _settings(raw.get("settings", {})))


def _schema_error(raw: object, problem: SchemaProblem, *, path: Path) -> MatrixError:
    """The schema's first problem as a :class:`MatrixError`: the key, its value, what belongs."""
    what = problem.expected or problem.message
    if problem.missing is not None:
        key = ".".join(filter(None, (problem.where.replace("(top level)", ""), problem.missing)))
        return MatrixError(path, key, None, f"missing: {what}")
    return MatrixError(path, problem.where, value_at(raw, problem.path), what)


def _known(keys: Iterable[str]) -> str:
    return ", ".join(sorted(keys))


def _table(item: dict[str, Any], key: str, *, path: Path, default_backends: BackendAxes) -> Table:
    axes: list[tuple[str, tuple[AxisValue, ...]]] = []
    for name, values in item.items():
        if name in _TABLE_KEYS:
            continue
        _check_package_name(name, key=f"{key}.{name}", path=path)
        parse: Callable[[Any, str], AxisValue] = (
            _python if name == PYTHON else partial(_axis_value, path=path)
        )
        axes.append((name, _distinct(values, key=f"{key}.{name}", path=path, parse=parse)))
    order = {axis: i for i, axis in enumerate(REQUIRED_AXES)}
    axes.sort(key=lambda axis: order.get(axis[0], len(order)))
    own = item.get("backends")
    backends = default_backends if own is None else _backends(own, key=f"{key}.backends", path=path)
    databases = tuple(item.get(DATABASE, [SQLITE]))
    label = item.get(_TABLE_NAME)
    return Table(key, tuple(axes), backends, databases, label, own_backends=own is not None)


def _backends(table: dict[str, Any], *, key: str, path: Path) -> BackendAxes:
    def parse(name: str) -> Callable[[Any, str], BackendValue]:
        def one(value: Any, item_key: str) -> BackendValue:
            if isinstance(value, dict) and "each" not in value and not is_build_value(value):
                return _install_set(value, backend=name, key=item_key, path=path)
            return _axis_value(value, item_key, path=path)

        return one

    return tuple(
        (name, _distinct(values, key=f"{key}.{name}", path=path, parse=parse(name)))
        for name, values in table.items()
    )


def _install_set(value: dict[str, Any], *, backend: str, key: str, path: Path) -> InstallSet:
    """``{ version = "0.2.*", with = { flask-sqlalchemy = "3.1.*" } }``."""
    beside = []
    for package, text in value["with"].items():
        item_key = f"{key}.with.{package}"
        _check_package_name(package, key=item_key, path=path)
        if package == backend:
            raise MatrixError(path, item_key, text, "the backend itself is the set's version")
        beside.append((package, parse_spec(text)))
    return InstallSet(_axis_value(value["version"], key, path=path), tuple(sorted(beside)))


def _check_package_name(name: str, *, key: str, path: Path) -> None:
    """A package as the index names it (the schema has checked it is a name at all)."""
    if canonicalize_name(name) != name:
        raise MatrixError(path, key, name, f"write the package name as {canonicalize_name(name)!r}")


def _distinct(
    values: list[Any], *, key: str, path: Path, parse: Callable[[Any, str], _V]
) -> tuple[_V, ...]:
    """An axis's values, parsed, refusing one that repeats another or would give the same ids.

    ``"3.1.*"`` and ``"3.1"`` are two specs but both spell ``flask31`` in an id; said here as
    the two values, rather than later as two cells with one id.
    """
    parsed: list[_V] = []
    for i, value in enumerate(values):
        spec = parse(value, f"{key}[{i}]")
        for j, earlier in enumerate(parsed):
            if spec == earlier:
                problem = f"duplicate value on this axis: same as {key}[{j}] = {values[j]!r}"
            elif (
                isinstance(spec, VersionSpec)
                and isinstance(earlier, VersionSpec)
                and spec.id_fragment == earlier.id_fragment
            ):
                problem = (
                    f"gives cells the same id as {key}[{j}] = {values[j]!r}; keep one of the two"
                )
            else:
                continue
            raise MatrixError(path, f"{key}[{i}]", value, problem)
        parsed.append(spec)
    return tuple(parsed)


def _python(value: str, _key: str = "") -> VersionSpec:
    return VersionSpec("exact", value)


def _axis_value(value: str | dict[str, Any], key: str, *, path: Path) -> AxisValue:
    """A value the schema has accepted: a spec string, or a table told apart by its keys.

    ``key`` says where it is, for the value forms whose checks the schema cannot make: an
    unreleased build's path must be there (relative to the matrix file, ``path``).
    """
    if isinstance(value, str):
        return parse_spec(value)
    if is_build_value(value):
        try:
            return build_spec(parse_build(value, base=path.resolve().parent))
        except BuildError as exc:
            where = f"{key}.{exc.key}" if exc.key else key
            raise MatrixError(path, where, exc.value, exc.problem) from None
    floor = Version(value["from"])
    if value["each"] == "minor":
        return EachMinor(floor)
    return EachPatch(floor, value.get("pre", False))


def _rule(item: dict[str, Any], *, index: int, path: Path, known_axes: set[str]) -> Rule:
    key = f"exclude[{index}]"
    conditions = []
    for axis, text in item.items():
        if axis == "reason":
            continue
        if axis not in known_axes:
            raise MatrixError(
                path, f"{key}.{axis}", text, f"unknown axis (known: {_known(known_axes)})"
            )
        if axis not in (BACKEND, DATABASE):
            try:
                condition_specifier(text)
            except SpecError as exc:
                raise MatrixError(path, f"{key}.{axis}", text, str(exc)) from None
        conditions.append((axis, text))
    return Rule(tuple(conditions), item["reason"].strip(), index)


def _include(item: dict[str, Any], *, index: int, path: Path, axis_names: list[str]) -> Include:
    """One extra cell; the axes it must name depend on the tables, so they are checked here.

    Beyond the axes, an include may pin further packages (e.g. wtforms = "3.1.*" beside
    Flask-Admin 1.6) in its `pins` table: they come after the axes and before the backend,
    as extra axes would. A bare key that is no axis is a typo, not a package (foo = "1.0").
    """
    key = f"include[{index}]"
    known = frozenset((*axis_names, *BACKENDS, DATABASE, PINS))
    for name, value in item.items():
        if name not in known:
            raise MatrixError(
                path,
                f"{key}.{name}",
                value,
                f"unknown key (known: {_known(known)}); pin another package with "
                f'{PINS} = {{ {name} = "..." }}',
            )
    pins: dict[str, str] = item.get(PINS, {})
    for name, value in pins.items():
        _check_package_name(name, key=f"{key}.{PINS}.{name}", path=path)
        if name in known:
            raise MatrixError(
                path, f"{key}.{PINS}.{name}", value, "an axis or backend: give it outside pins"
            )
    (backend,) = (name for name in item if name in BACKENDS)  # the schema wants exactly one
    chosen = item[backend]
    beside: tuple[tuple[str, VersionSpec], ...] = ()
    if isinstance(chosen, dict):
        install_set = _install_set(chosen, backend=backend, key=f"{key}.{backend}", path=path)
        chosen, beside = chosen["version"], install_set.beside
    values: list[tuple[str, VersionSpec]] = []
    for name in axis_names:
        if name not in item:
            raise MatrixError(path, f"{key}.{name}", None, "an include gives every axis a value")
        values.append((name, _python(item[name]) if name == PYTHON else parse_spec(item[name])))
    values += [(name, parse_spec(text)) for name, text in pins.items()]
    values.append((backend, parse_spec(chosen)))
    return Include(tuple(values), index, item.get(DATABASE, SQLITE), beside)


def _settings(raw: dict[str, Any]) -> Settings:
    defaults = Settings()
    jobs = raw.get("jobs", "auto")
    return Settings(
        int(raw.get("timeout", defaults.timeout_s)),
        None if jobs == "auto" else int(jobs),
        int(raw.get("index-max-age", defaults.index_max_age_s)),
        tuple(raw.get("suites", defaults.suites)),
    )


def condition_specifier(text: object) -> SpecifierSet | None:
    """An exclude condition as a specifier set; ``None`` stands for the spec ``latest``.

    Conditions are PEP 440 specifiers (``">=2.0,<2.2"``) or, for convenience, a spec as the
    axes write it: ``"2.5.*"`` and ``"2.5.1"`` mean ``==2.5.*`` and ``==2.5.1``.
    """
    if text == "latest":
        return None
    try:
        spec = parse_spec(text)
    except SpecError:
        return parse_specifier(text)
    return SpecifierSet(spec.requirement_suffix)


def rule_matches_spec(condition: str, spec: VersionSpec) -> bool:
    """Whether one rule condition holds for an axis spec, judged offline.

    A series counts as its lowest version (``2.0.*`` matches ``<2.1`` and ``>=2.0``), which
    is all that can be known without asking the index; ``latest`` is matched only by a rule
    that says ``"latest"``.
    """
    specifier = condition_specifier(condition)
    if specifier is None or spec.kind == "latest":
        return specifier is None and spec.kind == "latest"
    floor = spec.floor
    return floor is not None and floor in SpecifierSet(str(specifier), prereleases=True)


#: What the scoping suite needs in a cell besides the stack under test.
SUITE_REQUIREMENTS: tuple[str, ...] = ("pytest",)
