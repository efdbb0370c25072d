"""What Flask-Admin's own tests need in one cell: the dependency data and the plan from it.

Flask-Admin ships its test suite inside its wheel (``flask_admin/tests/sqla``). What each release
series needs to run it is data (``upstream-deps.toml``, each entry with its source); this
module turns it into a plan for one cell (:func:`plan_upstream`). :mod:`.upstream` runs it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from flask_admin_compat.jsonio import FileProblem, schema_problem, value_at
from flask_admin_compat.matrix.select import KeywordError, check_keyword

DEPS_FILE = "upstream-deps.toml"
DEPS_SCHEMA = "upstream-deps"


#: The environment variable naming a PostgreSQL server for upstream's PostgreSQL-only tests.
DATABASE_URL = "DATABASE_URL"


_LOCK_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")


class DepsError(FileProblem):
    """A problem in upstream-deps.toml, said in one line naming the key and the value."""

    def __init__(self, key: str, value: object, problem: str) -> None:
        super().__init__(f"{DEPS_FILE}: {key} = {value!r}: {problem}")


@dataclass(frozen=True)
class Dependency:
    """One package upstream's tests need, and where that was learnt."""

    requirement: str
    source: str


@dataclass(frozen=True)
class BackendRule:
    """How a series' tests exercise one backend: the pytest ``-k`` that keeps its cases."""

    source: str
    keyword: str | None = None
    requirements: tuple[Dependency, ...] = ()


@dataclass(frozen=True)
class PostgresRule:
    """How a series' PostgreSQL tests find their server: an environment variable or a fixed URI."""

    source: str
    uri_env: str | None = None
    fixed_uri: str | None = None
    requirements: tuple[Dependency, ...] = ()


@dataclass(frozen=True)
class Series:
    """What one Flask-Admin release series needs to run its own SQLAlchemy tests."""

    text: str  # the specifier as written, e.g. ">=2.2"
    specifier: SpecifierSet
    source: str
    requirements: tuple[Dependency, ...]
    backends: tuple[tuple[str, BackendRule], ...]
    postgres: PostgresRule


@dataclass(frozen=True)
class UpstreamDeps:
    module: str
    markers: tuple[str, ...]
    postgres_ignore_glob: str
    series: tuple[Series, ...]


@cache
def deps_text() -> str:
    """The packaged upstream-deps.toml, read once."""
    return resources.files("flask_admin_compat").joinpath(DEPS_FILE).read_text(encoding="utf-8")


def load_deps(path: Path | None = None) -> UpstreamDeps:
    """Read and validate the dependency data (the packaged file unless ``path`` names one)."""
    text = deps_text() if path is None else path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DepsError("(file)", DEPS_FILE, f"not valid TOML: {exc}") from None
    return parse_deps(raw)


def parse_deps(raw: Mapping[str, Any]) -> UpstreamDeps:
    """Validate the parsed TOML; only checked PEP 508 text ever reaches an installer.

    Its shape is checked by ``schema/upstream-deps.schema.json``; what a schema cannot say
    (PEP 440 specifiers, PEP 508 requirements, ``-k`` expressions) is checked here after it.
    """
    problem = schema_problem(raw, DEPS_SCHEMA)
    if problem is not None:
        value = value_at(raw, problem.path)
        raise DepsError(problem.where, value, problem.expected or problem.message)
    suite, postgres = raw["suite"], raw["postgres"]
    series = tuple(_parse_series(item, key=f"series[{i}]") for i, item in enumerate(raw["series"]))
    return UpstreamDeps(
        suite["module"], tuple(suite.get("markers", ())), postgres["ignore-glob"], series
    )


def _source(raw: Mapping[str, Any]) -> str:
    return " ".join(str(raw["source"]).split())


def _parse_series(raw: Mapping[str, Any], *, key: str) -> Series:
    text = raw["flask-admin"]
    try:
        specifier = SpecifierSet(text)
    except InvalidSpecifier:
        raise DepsError(f"{key}.flask-admin", text, "a PEP 440 specifier such as '>=2.2'") from None
    backends = tuple(
        (name, _parse_backend(rule, key=f"{key}.backends.{name}"))
        for name, rule in raw["backends"].items()
    )
    postgres = raw["postgres"]
    return Series(
        text=text,
        specifier=specifier,
        source=_source(raw),
        requirements=_parse_requirements(raw.get("requirements", []), key=f"{key}.requirements"),
        backends=backends,
        postgres=PostgresRule(
            source=_source(postgres),
            uri_env=postgres.get("uri-env"),
            fixed_uri=postgres.get("fixed-uri"),
            requirements=_parse_requirements(
                postgres.get("requirements", []), key=f"{key}.postgres.requirements"
            ),
        ),
    )


def _parse_backend(raw: Mapping[str, Any], *, key: str) -> BackendRule:
    keyword = raw.get("keyword")
    if keyword is not None:
        # Names joined by and/or/not only: the same guard as the matrix's own -k.
        try:
            check_keyword(keyword)
        except KeywordError as exc:
            raise DepsError(f"{key}.keyword", keyword, str(exc)) from None
    return BackendRule(
        source=_source(raw),
        keyword=keyword,
        requirements=_parse_requirements(raw.get("requirements", []), key=f"{key}.requirements"),
    )


def _parse_requirements(raw: list[Mapping[str, Any]], *, key: str) -> tuple[Dependency, ...]:
    parsed = []
    for i, item in enumerate(raw):
        text = item["requirement"]
        try:
            requirement: Requirement | None = Requirement(text)
        except InvalidRequirement:
            requirement = None
        if requirement is None or requirement.url or requirement.marker:
            raise DepsError(f"{key}[{i}].requirement", text, "a name and a PEP 440 specifier")
        parsed.append(Dependency(str(requirement), _source(item)))
    return tuple(parsed)


def series_for(deps: UpstreamDeps, version: Version) -> Series | None:
    """The first series whose specifier admits this Flask-Admin version."""
    return next((s for s in deps.series if s.specifier.contains(version, prereleases=True)), None)


@dataclass(frozen=True)
class UpstreamPlan:
    """How the suite runs in one cell: what to install beside the pins, and what to select."""

    series: str
    requirements: tuple[str, ...]
    pytest_args: tuple[str, ...]  # --pyargs MODULE and the selection
    selection: tuple[str, ...]  # the selection in words, for the result
    env: tuple[tuple[str, str], ...] = ()  # set for pytest (the PostgreSQL URI), never recorded


@dataclass(frozen=True)
class NotApplicable:
    """The suite cannot run in this cell, for a reason of the stack (not of the harness)."""

    reason: str


def plan_upstream(
    deps: UpstreamDeps, *, flask_admin: str | None, backend: str, database_url: str | None
) -> UpstreamPlan | NotApplicable:
    """What one cell installs and runs, from the installed Flask-Admin and the cell's backend."""
    if flask_admin is None:
        return NotApplicable("Flask-Admin is not among the cell's resolved pins")
    try:
        version = Version(flask_admin)
    except InvalidVersion:
        return NotApplicable(f"Flask-Admin {flask_admin!r} is not a PEP 440 version")
    series = series_for(deps, version)
    if series is None:
        return NotApplicable(
            f"no test dependencies are known for Flask-Admin {version}: "
            f"add a series for it to {DEPS_FILE}"
        )
    rules = dict(series.backends)
    rule = rules.get(backend)
    if rule is None:
        covered = ", ".join(rules)
        why = "; ".join(r.source for r in rules.values())
        return NotApplicable(
            f"Flask-Admin {version}'s own tests exercise {covered} only, not {backend} ({why})"
        )
    postgres = _postgres_uri(series.postgres, database_url)
    requirements = [d.requirement for d in (*series.requirements, *rule.requirements)]
    args = ["--pyargs", deps.module]
    selection = []
    if rule.keyword:
        args += ["-k", rule.keyword]
        selection.append(f"-k {rule.keyword!r}: {backend}'s cases and those that take no backend")
    env: tuple[tuple[str, str], ...] = ()
    if postgres is None:
        args += ["--ignore-glob", deps.postgres_ignore_glob]
        selection.append(f"--ignore-glob {deps.postgres_ignore_glob}: {_no_postgres(series)}")
    else:
        requirements += [d.requirement for d in series.postgres.requirements]
        if series.postgres.uri_env:
            env = ((series.postgres.uri_env, postgres),)
        selection.append(f"PostgreSQL tests included: {DATABASE_URL} names a server")
    return UpstreamPlan(
        series=series.text,
        requirements=tuple(dict.fromkeys(requirements)),
        pytest_args=tuple(args),
        selection=tuple(selection),
        env=env,
    )


def _postgres_uri(rule: PostgresRule, database_url: str | None) -> str | None:
    """The server upstream's PostgreSQL tests would use, or None when they cannot run."""
    if not database_url:
        return None
    if rule.uri_env is not None:
        return database_url
    return database_url if database_url == rule.fixed_uri else None


def _no_postgres(series: Series) -> str:
    if series.postgres.fixed_uri is not None:
        return (
            f"PostgreSQL only, and these tests connect to {series.postgres.fixed_uri} alone "
            f"(set {DATABASE_URL} to exactly that to run them)"
        )
    return f"PostgreSQL only (set {DATABASE_URL} to a server to run them)"


def pytest_ini(deps: UpstreamDeps) -> str:
    """The config the suite runs under, in place of the repository's own.

    xunit1 puts each test's file in the JUnit XML, so failures get real pytest node ids.
    """
    lines = ["[pytest]", "junit_family = xunit1"]
    if deps.markers:
        lines.append("markers =")
        lines += [f"    {marker}" for marker in deps.markers]
    return "\n".join(lines) + "\n"


def lock_versions(lock: str) -> dict[str, str]:
    """``name==version`` lines of a resolved lock, by canonical name."""
    versions: dict[str, str] = {}
    for line in lock.splitlines():
        match = _LOCK_LINE.match(line.strip())
        if match:
            versions[canonicalize_name(match.group(1))] = match.group(2)
    return versions


def moved_pins(cell_lock: str, upstream_lock: str) -> list[str]:
    """Packages of the cell whose version the upstream environment would change (or drop)."""
    cell, upstream = lock_versions(cell_lock), lock_versions(upstream_lock)
    return [
        f"{name} {version} -> {upstream.get(name, 'absent')}"
        for name, version in sorted(cell.items())
        if upstream.get(name) != version
    ]


def added_packages(cell_lock: str, upstream_lock: str) -> dict[str, str]:
    """What the upstream environment holds beyond the cell's pins: the test dependencies."""
    cell = lock_versions(cell_lock)
    return {n: v for n, v in sorted(lock_versions(upstream_lock).items()) if n not in cell}
