"""matrix.toml: load it, validate it, and hold it as a typed :class:`Matrix`.

Loading is pure apart from reading the one file and works offline: specs that need the
package index (``{ each = "minor" }``, ``{ each = "patch" }``) stay unexpanded here and are
expanded by :mod:`flask_admin_compat.matrix.cells` from a release list handed to it.

A matrix is one or more tables of axes, whose union is the set of cells (as hatch's
``[[envs.*.matrix]]``): ``[axes]`` is one table, each ``[[matrix]]`` another, so that a wide
axis (every Python) crosses only the axes it matters for.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from flask_admin_compat.matrix.specs import SpecError, VersionSpec, parse_spec, parse_specifier

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
MAX_JOBS = 256

_TOP_LEVEL_KEYS = frozenset({"settings", "axes", "matrix", "backends", "exclude", "include"})
_TABLE_NAME = "name"  # a [[matrix]] table's optional label, shown in messages
_SET_KEYS = frozenset({"version", "with"})  # a backend value installed with other packages
_PYTHON_RE = re.compile(r"^3\.[0-9]+(?:\.[0-9]+)?$")
# PEP 508 names; anything else could not be a package on an index.
_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")


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
    """Validate the parsed TOML document and build the :class:`Matrix`."""
    for key, value in raw.items():
        if key not in _TOP_LEVEL_KEYS:
            raise MatrixError(path, key, value, f"unknown key (known: {_known(_TOP_LEVEL_KEYS)})")
    tables = _parse_tables(raw, path=path)
    # An include gives a value to every axis all tables share (for one table: its axes).
    shared = [n for n, _ in tables[0].axes if all(n in dict(t.axes) for t in tables)]
    includes = tuple(
        _parse_include(item, index=i, path=path, axis_names=shared)
        for i, item in enumerate(_array_of_tables(raw, "include", path))
    )
    probe = Matrix(path, tables, (), includes)
    known = set(probe.packages) | {PYTHON, BACKEND, DATABASE}
    excludes = tuple(
        _parse_rule(item, index=i, path=path, known_axes=known)
        for i, item in enumerate(_array_of_tables(raw, "exclude", path))
    )
    settings = _parse_settings(raw.get("settings", {}), path=path)
    return Matrix(path, tables, excludes, includes, settings)


def _parse_tables(raw: dict[str, Any], *, path: Path) -> tuple[Table, ...]:
    """``[axes]`` (today's single table) and every ``[[matrix]]`` table, in file order."""
    if "axes" not in raw and "matrix" not in raw:
        raise MatrixError(path, "axes", None, "give the axes as [axes] or as [[matrix]] tables")
    default_backends: BackendAxes | None = None
    if "backends" in raw:
        default_backends = _parse_backends(_table(raw, "backends", path), path=path, key="backends")
    tables: list[Table] = []
    if "axes" in raw:
        tables.append(_parse_table(_table(raw, "axes", path), "axes", path, default_backends))
    items = _array_of_tables(raw, "matrix", path)
    if "matrix" in raw and not items:
        raise MatrixError(path, "matrix", raw["matrix"], "give at least one [[matrix]] table")
    for i, item in enumerate(items):
        tables.append(_parse_table(item, f"matrix[{i}]", path, default_backends))
    return tuple(tables)


def _parse_table(
    item: dict[str, Any], key: str, path: Path, default_backends: BackendAxes | None
) -> Table:
    name = item.get(_TABLE_NAME)
    if key == "axes":
        name = None  # [axes] has no label: "name" there would be a package
    elif name is not None and (not isinstance(name, str) or not name.strip()):
        raise MatrixError(path, f"{key}.{_TABLE_NAME}", name, "a table's name is a string")
    skip = {"backends", _TABLE_NAME} if key != "axes" else set()
    axes = _parse_axes({k: v for k, v in item.items() if k not in skip}, path=path, prefix=key)
    # Axes first: a bad value there is what a person most likely mistyped.
    own = item.get("backends") if key != "axes" else None
    if own is not None:
        if not isinstance(own, dict):
            raise MatrixError(path, f"{key}.backends", own, "must be a table of backend specs")
        backends = _parse_backends(own, path=path, key=f"{key}.backends")
    elif default_backends is not None:
        backends = default_backends
    else:
        raise MatrixError(path, "backends", None, f"must be a table, e.g. [backends] (for {key})")
    databases = _parse_databases(item.get(DATABASE, [SQLITE]), path=path, key=f"{key}.{DATABASE}")
    return Table(key, axes, backends, databases, name, own_backends=own is not None)


def _known(keys: frozenset[str] | tuple[str, ...]) -> str:
    return ", ".join(sorted(keys))


def _table(raw: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise MatrixError(path, key, value, "must be a table, e.g. [" + key + "]")
    return value


def _array_of_tables(raw: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise MatrixError(path, key, value, f"must be an array of tables, [[{key}]]")
    return value


def _parse_axes(table: dict[str, Any], *, path: Path, prefix: str = "axes") -> Axes:
    for required in REQUIRED_AXES:
        if required not in table:
            raise MatrixError(path, f"{prefix}.{required}", None, "required axis is missing")
    parsed: list[tuple[str, tuple[AxisValue, ...]]] = []
    for name, values in table.items():
        key = f"{prefix}.{name}"
        if name == DATABASE:
            continue  # not a package: read by _parse_databases
        if name in BACKENDS:
            where = "[backends]" if prefix == "axes" else f"{prefix}.backends.{name}"
            raise MatrixError(path, key, values, f"backends belong under {where}")
        if name != PYTHON:
            _check_package_name(name, key=key, path=path)
        parsed.append((name, _parse_values(values, key=key, path=path, python=name == PYTHON)))
    order = {axis: i for i, axis in enumerate(REQUIRED_AXES)}
    parsed.sort(key=lambda item: order.get(item[0], len(order)))
    return tuple(parsed)


def _parse_databases(
    values: object, *, path: Path, key: str = f"axes.{DATABASE}"
) -> tuple[str, ...]:
    """``database = ["sqlite", "postgresql"]``: where each cell's app keeps its rows."""
    if not isinstance(values, list) or not values:
        raise MatrixError(path, key, values, f"give a list of databases from {_known(DATABASES)}")
    for i, value in enumerate(values):
        if value not in DATABASES:
            raise MatrixError(
                path, f"{key}[{i}]", value, f"unknown database (known: {_known(DATABASES)})"
            )
        if value in values[:i]:
            raise MatrixError(path, f"{key}[{i}]", value, "duplicate value on this axis")
    return tuple(values)


def _parse_backends(table: dict[str, Any], *, path: Path, key: str) -> BackendAxes:
    if not table:
        raise MatrixError(path, key, table, f"name at least one of {_known(BACKENDS)}")
    parsed = []
    for name, values in table.items():
        item_key = f"{key}.{name}"
        if name not in BACKENDS:
            raise MatrixError(
                path, item_key, values, f"unknown backend (known: {_known(BACKENDS)})"
            )
        parsed.append((name, _parse_backend_values(values, name=name, key=item_key, path=path)))
    return tuple(parsed)


def _parse_backend_values(
    values: object, *, name: str, key: str, path: Path
) -> tuple[BackendValue, ...]:
    def parse_one(value: object, item_key: str) -> BackendValue:
        if isinstance(value, dict) and "each" not in value:
            return _parse_install_set(value, backend=name, key=item_key, path=path)
        return _parse_axis_value(value, key=item_key, path=path)

    return _parse_list(values, key=key, path=path, parse_one=parse_one)


def _parse_install_set(value: dict[str, Any], *, backend: str, key: str, path: Path) -> InstallSet:
    """``{ version = "0.2.*", with = { flask-sqlalchemy = "3.1.*" } }``."""
    example = '{ version = "0.2.*", with = { flask-sqlalchemy = "3.1.*" } }'
    if set(value) != _SET_KEYS:
        raise MatrixError(path, key, value, f"an install set is written {example}")
    spec = _parse_axis_value(value["version"], key=f"{key}.version", path=path)
    beside_raw = value["with"]
    if not isinstance(beside_raw, dict) or not beside_raw:
        raise MatrixError(
            path, f"{key}.with", beside_raw, f"name the packages beside it: {example}"
        )
    beside: list[tuple[str, VersionSpec]] = []
    for package, text in beside_raw.items():
        item_key = f"{key}.with.{package}"
        _check_package_name(package, key=item_key, path=path)
        if package == backend:
            raise MatrixError(path, item_key, text, "the backend itself is the set's version")
        if package in REQUIRED_AXES:
            raise MatrixError(
                path, item_key, text, f"{package} is an axis, not a backend's companion"
            )
        try:
            beside.append((package, parse_spec(text)))
        except SpecError as exc:
            raise MatrixError(path, item_key, text, str(exc)) from None
    return InstallSet(spec, tuple(sorted(beside)))


def _check_package_name(name: str, *, key: str, path: Path) -> None:
    if not _NAME_RE.match(name):
        raise MatrixError(path, key, name, "not a valid package name")
    if canonicalize_name(name) != name:
        raise MatrixError(path, key, name, f"write the package name as {canonicalize_name(name)!r}")


def _parse_values(values: object, *, key: str, path: Path, python: bool) -> tuple[AxisValue, ...]:
    def parse_one(value: object, item_key: str) -> AxisValue:
        if python:
            return _parse_python(value, key=item_key, path=path)
        return _parse_axis_value(value, key=item_key, path=path)

    return _parse_list(values, key=key, path=path, parse_one=parse_one)


def _parse_list(
    values: object, *, key: str, path: Path, parse_one: Callable[[object, str], _V]
) -> tuple[_V, ...]:
    """An axis's list of values, each parsed under its own key, none repeating another."""
    if not isinstance(values, list):
        raise MatrixError(path, key, values, "must be a list of version specs")
    if not values:
        raise MatrixError(path, key, values, "empty axis: give at least one version")
    parsed: list[_V] = []
    for i, value in enumerate(values):
        spec = parse_one(value, f"{key}[{i}]")
        _check_distinct(spec, parsed, values, key=key, index=i, path=path)
        parsed.append(spec)
    return tuple(parsed)


def _check_distinct(
    spec: object,
    parsed: Sequence[object],
    values: list[Any],
    *,
    key: str,
    index: int,
    path: Path,
) -> None:
    """Refuse a value that repeats an earlier one, or would give its cells the same ids.

    ``"3.1.*"`` and ``"3.1"`` are two specs but both spell ``flask31`` in an id; said here as
    the two values, rather than later as two cells with one id.
    """
    for j, earlier in enumerate(parsed):
        same_id = (
            isinstance(spec, VersionSpec)
            and isinstance(earlier, VersionSpec)
            and spec.id_fragment == earlier.id_fragment
        )
        if spec == earlier:
            problem = f"duplicate value on this axis: same as {key}[{j}] = {values[j]!r}"
        elif same_id:
            problem = f"gives cells the same id as {key}[{j}] = {values[j]!r}; keep one of the two"
        else:
            continue
        raise MatrixError(path, f"{key}[{index}]", values[index], problem)


def _parse_python(value: object, *, key: str, path: Path) -> VersionSpec:
    if not isinstance(value, str) or not _PYTHON_RE.match(value):
        raise MatrixError(path, key, value, 'a Python version is written "3.12" (or "3.12.1")')
    return VersionSpec("exact", value)


def _parse_axis_value(value: object, *, key: str, path: Path) -> AxisValue:
    if isinstance(value, dict):
        return _parse_each(value, key=key, path=path)
    try:
        return parse_spec(value)
    except SpecError as exc:
        raise MatrixError(path, key, value, str(exc)) from None


def _parse_each(value: dict[str, Any], *, key: str, path: Path) -> EachSpec:
    each = value.get("each")
    allowed = {"each", "from", "pre"} if each == "patch" else {"each", "from"}
    if each not in ("minor", "patch") or "from" not in value or not set(value) <= allowed:
        raise MatrixError(
            path,
            key,
            value,
            'write { each = "minor", from = "X.Y" } or { each = "patch", from = "X.Y" }',
        )
    try:
        floor = parse_spec(value["from"])
    except SpecError as exc:
        raise MatrixError(path, f"{key}.from", value["from"], str(exc)) from None
    if floor.kind != "exact":
        raise MatrixError(path, f"{key}.from", value["from"], 'give a release such as "2.2"')
    if each == "minor":
        return EachMinor(Version(floor.text))
    pre = value.get("pre", False)
    if not isinstance(pre, bool):
        raise MatrixError(path, f"{key}.pre", pre, "write pre = true or pre = false")
    return EachPatch(Version(floor.text), pre)


def _parse_rule(item: dict[str, Any], *, index: int, path: Path, known_axes: set[str]) -> Rule:
    key = f"exclude[{index}]"
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise MatrixError(path, f"{key}.reason", reason, "every exclude rule needs a reason")
    conditions = []
    for axis, text in item.items():
        if axis == "reason":
            continue
        if axis not in known_axes:
            raise MatrixError(
                path,
                f"{key}.{axis}",
                text,
                f"unknown axis (known: {_known(frozenset(known_axes))})",
            )
        if axis in (BACKEND, DATABASE):
            allowed = BACKENDS if axis == BACKEND else DATABASES
            if text not in allowed:
                raise MatrixError(
                    path, f"{key}.{axis}", text, f"unknown {axis} (known: {_known(allowed)})"
                )
        else:
            try:
                condition_specifier(text)
            except SpecError as exc:
                raise MatrixError(path, f"{key}.{axis}", text, str(exc)) from None
        conditions.append((axis, text))
    if not conditions:
        raise MatrixError(path, key, item, "an exclude rule needs at least one axis condition")
    return Rule(tuple(conditions), reason.strip(), index)


def _parse_include(
    item: dict[str, Any], *, index: int, path: Path, axis_names: list[str]
) -> Include:
    key = f"include[{index}]"
    _check_include_keys(item, key=key, path=path, axis_names=axis_names)
    backends = [name for name in item if name in BACKENDS]
    if len(backends) != 1:
        raise MatrixError(path, key, item, f"name exactly one backend ({_known(BACKENDS)})")
    # Beyond the axes, an include may pin further packages (e.g. wtforms = "3.1.*" beside
    # Flask-Admin 1.6) in its `pins` table: they come after the axes and before the backend,
    # as extra axes would. A bare key that is no axis is a typo, not a package (foo = "1.0").
    pins = _include_pins(item, key=key, path=path, axis_names=axis_names)
    given = {**item, **pins}
    values: list[tuple[str, VersionSpec]] = []
    beside: tuple[tuple[str, VersionSpec], ...] = ()
    for name in (*axis_names, *pins, backends[0]):
        where = f"{key}.{PINS}.{name}" if name in pins else f"{key}.{name}"
        if name not in given:
            raise MatrixError(path, where, None, "an include gives every axis a value")
        raw_value = given[name]
        if name == backends[0] and isinstance(raw_value, dict) and "each" not in raw_value:
            install_set = _parse_install_set(raw_value, backend=name, key=where, path=path)
            raw_value, beside = raw_value["version"], install_set.beside
        parsed = (
            _parse_python(raw_value, key=where, path=path)
            if name == PYTHON
            else _parse_axis_value(raw_value, key=where, path=path)
        )
        if not isinstance(parsed, VersionSpec):
            raise MatrixError(path, where, given[name], "an include names one version")
        values.append((name, parsed))
    database = item.get(DATABASE, SQLITE)
    if database not in DATABASES:
        raise MatrixError(
            path, f"{key}.{DATABASE}", database, f"unknown database (known: {_known(DATABASES)})"
        )
    return Include(tuple(values), index, database, beside)


def _check_include_keys(
    item: dict[str, Any], *, key: str, path: Path, axis_names: list[str]
) -> None:
    """Every key of an ``[[include]]`` is an axis, a backend, ``database`` or ``pins``."""
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


def _include_pins(
    item: dict[str, Any], *, key: str, path: Path, axis_names: list[str]
) -> dict[str, Any]:
    """An include's ``pins = { wtforms = "3.1.*" }``: packages beyond the axes, by name."""
    if PINS not in item:
        return {}
    pins = item[PINS]
    if not isinstance(pins, dict) or not pins:
        raise MatrixError(path, f"{key}.{PINS}", pins, 'write pins = { package = "spec" }')
    for name in pins:
        where = f"{key}.{PINS}.{name}"
        _check_package_name(name, key=where, path=path)
        if name in axis_names or name in BACKENDS or name == DATABASE:
            raise MatrixError(path, where, pins[name], "an axis or backend: give it outside pins")
    return dict(pins)


def _parse_settings(raw: object, *, path: Path) -> Settings:
    if not isinstance(raw, dict):
        raise MatrixError(path, "settings", raw, "must be a table")
    known = {"timeout", "jobs", "index-max-age", "suites"}
    for key in raw:
        if key not in known:
            raise MatrixError(
                path,
                f"settings.{key}",
                raw[key],
                f"unknown setting (known: {_known(frozenset(known))})",
            )
    defaults = Settings()
    timeout = raw.get("timeout", defaults.timeout_s)
    _positive_int(timeout, key="settings.timeout", path=path)
    jobs_raw = raw.get("jobs", "auto")
    jobs = None if jobs_raw == "auto" else _jobs(jobs_raw, path=path)
    max_age = raw.get("index-max-age", defaults.index_max_age_s)
    _positive_int(max_age, key="settings.index-max-age", path=path, allow_zero=True)
    suites = raw.get("suites", list(defaults.suites))
    if not isinstance(suites, list) or not suites or any(s not in SUITES for s in suites):
        raise MatrixError(path, "settings.suites", suites, f"known suites: {_known(SUITES)}")
    if len(set(suites)) != len(suites):
        raise MatrixError(path, "settings.suites", suites, "name each suite once")
    return Settings(timeout, jobs, max_age, tuple(suites))


def _jobs(value: object, *, path: Path) -> int:
    jobs = _positive_int(value, key="settings.jobs", path=path)
    if jobs > MAX_JOBS:
        raise MatrixError(
            path, "settings.jobs", value, f'at most {MAX_JOBS}, or "auto" (one per CPU)'
        )
    return jobs


def _positive_int(value: object, *, key: str, path: Path, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < (0 if allow_zero else 1):
        raise MatrixError(
            path, key, value, "must be a whole number" + (" >= 0" if allow_zero else " > 0")
        )
    return value


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
