"""Run one cell: resolve its pins, make or reuse its environment, run the suite, judge it.

Every outcome, failures of the harness included, ends as a :class:`CellResult` written to
``reports/cells/<id>/``: an uninstallable stack or a hung suite is a result, not an exception
that stops the run.

A cell may also run Flask-Admin's own SQLAlchemy tests (the ``upstream`` suite) in an
environment of its own, ``.venvs/<id>--upstream``: the cell's pins plus upstream's test
dependencies, so that the scoping environment stays exactly the cell's pins. Its outcome sits
beside the verdict in the same result and never changes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask_admin_compat import __version__
from flask_admin_compat.cells import Cell
from flask_admin_compat.checks import CheckOutcome, JUnitError, merge_rerun, read_junit
from flask_admin_compat.locks import CachedResolution, LockCache
from flask_admin_compat.matrix import POSTGRESQL, SCOPING, UPSTREAM
from flask_admin_compat.postgres import Server, database_name
from flask_admin_compat.process import Completed, Reaper, run_logged
from flask_admin_compat.pythons import FoundPython, PythonNotFound, find_python
from flask_admin_compat.results import (
    JUNIT_FILE,
    LOG_FILE,
    RESULT_FILE,
    CellResult,
    PythonInfo,
    ResultError,
    Verdict,
    read_result,
    write_result,
)
from flask_admin_compat.upstream import (
    UPSTREAM_JUNIT_FILE,
    UPSTREAM_LOG_FILE,
    NotApplicable,
    UpstreamDeps,
    UpstreamResult,
    UpstreamStatus,
    added_packages,
    judge_report,
    listed_failures,
    load_deps,
    lock_versions,
    moved_pins,
    plan_upstream,
    pytest_ini,
    read_upstream_junit,
)
from flask_admin_compat.verdict import judge, missing_checks

#: What the scoping suite needs in a cell besides the stack under test.
SUITE_REQUIREMENTS: tuple[str, ...] = ("pytest",)
#: The upstream suite's environment is the cell's own name with this suffix (ids never hold
#: "--", so it cannot be another cell's).
UPSTREAM_VENV_SUFFIX = "--upstream"
_LOCK_MARKER = ".compat-lock"
_LOG_TAIL_LINES = 30


@dataclass(frozen=True)
class RunOptions:
    """Where things live and how a cell runs; the same for every cell of one run."""

    repo_root: Path
    cells_dir: Path
    venvs_dir: Path
    timeout_s: float
    fingerprint_of: Mapping[str, str] = field(default_factory=dict)  # cell id -> fingerprint
    exclude_newer: str | None = None
    pytest_args: tuple[str, ...] = ()  # for the scoping suite only
    suite: str = SCOPING
    reaper: Reaper | None = field(default=None, compare=False)
    upstream_fingerprint_of: Mapping[str, str] = field(default_factory=dict)
    upstream_deps: UpstreamDeps | None = None  # None: the packaged upstream-deps.toml
    database_url: str | None = None  # a PostgreSQL server for upstream's PostgreSQL-only tests
    # The server PostgreSQL cells run against, or why there is none (they are errors then).
    postgres: Server | None = None
    postgres_missing: str = "no PostgreSQL server"
    lock_cache: LockCache | None = None  # None: resolve every time

    @property
    def suite_dir(self) -> Path:
        return self.repo_root / "tests" / self.suite


def run_cell(
    cell: Cell,
    options: RunOptions,
    *,
    echo: IO[str] | None = None,
    suites: Sequence[str] = (SCOPING,),
) -> CellResult:
    """Run the given suites of one cell and write its result folder.

    The suite not run keeps its earlier outcome from the result on disk. A cell with no
    earlier verdict runs the scoping suite whatever was asked: a result is a verdict first.
    """
    _stop_if_interrupted(cell, options)
    cell_dir = options.cells_dir / cell.id
    cell_dir.mkdir(parents=True, exist_ok=True)
    started_at = _now()
    if cell.excluded_by is not None:
        result = _result(cell, options, started_at, "excluded", cell.excluded_by.reason, log=None)
        write_result(cell_dir, result)
        return result
    previous = _previous(cell_dir) if not {SCOPING, UPSTREAM} <= set(suites) else None
    resolution: _Resolution | None = None
    if SCOPING in suites or previous is None or previous.verdict == "excluded":
        partial_log = cell_dir / f".{LOG_FILE}.partial"
        with partial_log.open("w", encoding="utf-8") as log:
            t0 = time.monotonic()
            deadline = t0 + options.timeout_s
            resolution = _resolve_cell(cell, options, log=log, deadline=deadline, echo=echo)
            result = _run(cell, options, resolution, log=log, cell_dir=cell_dir,
                          started_at=started_at, echo=echo, t0=t0, deadline=deadline)  # fmt: skip
        if options.reaper is not None and options.reaper.stopping:
            # Its commands were killed by the interrupt, not by the stack: nothing here is a
            # result, and the cell's previous result (if any) stays as it was.
            partial_log.unlink(missing_ok=True)
            raise CellInterrupted(cell.id)
        partial_log.replace(cell_dir / LOG_FILE)
        if previous is not None and previous.upstream is not None and UPSTREAM not in suites:
            # Kept beside the new verdict, unless the stack no longer even resolves.
            kept = previous.upstream if result.verdict != "uninstallable" else None
            result = replace(result, upstream=kept)
        # Written now, so that an interrupt during the upstream suite keeps this verdict.
        write_result(cell_dir, result)
    else:
        result = previous
    if UPSTREAM in suites:
        upstream = _run_upstream(cell, options, resolution, cell_dir=cell_dir, echo=echo)
        result = replace(result, upstream=upstream)
        write_result(cell_dir, result)
    return result


def _previous(cell_dir: Path) -> CellResult | None:
    try:
        return read_result(cell_dir / RESULT_FILE)
    except ResultError:
        return None


class CellInterrupted(Exception):
    """The run was interrupted while (or before) this cell ran; it has no result."""


def _stop_if_interrupted(cell: Cell, options: RunOptions) -> None:
    if options.reaper is not None and options.reaper.stopping:
        raise CellInterrupted(cell.id)


@dataclass(frozen=True)
class _Resolution:
    """The cell's pins resolved into a lock, or why they could not be."""

    python: PythonInfo
    found: FoundPython | None = None
    lock: str | None = None
    duration_s: float = 0.0
    failure: Verdict | None = None  # "error" (the harness) or "uninstallable" (the stack)
    reason: str = ""
    timed_out: bool = False


def _resolve_cell(
    cell: Cell, options: RunOptions, *, log: IO[str], deadline: float, echo: IO[str] | None
) -> _Resolution:
    """Find the cell's Python and resolve its pins, building nothing."""
    found = find_python(cell.python.text)
    if isinstance(found, PythonNotFound):
        log.write(found.message + "\n")
        return _Resolution(PythonInfo(cell.python.text), failure="error", reason=found.message)
    python = PythonInfo(cell.python.text, found.version, str(found.executable))
    requirements = (*cell.requirements, *SUITE_REQUIREMENTS)
    cache, key = options.lock_cache, ""
    if cache is not None:
        started = time.monotonic()
        key = cache.key(python=str(found.executable), python_version=found.version,
                        requirements=requirements)  # fmt: skip
        cached = cache.get(key)
        if cached is not None:
            log.write("(resolution reused: the index has listed nothing new since it was made)\n")
            log.write(cached.lock or cached.refusal or "")
            elapsed = time.monotonic() - started
            if cached.lock is not None:
                return _Resolution(python, found, lock=cached.lock, duration_s=elapsed)
            return _Resolution(python, found, duration_s=elapsed, failure="uninstallable",
                               reason=cached.refusal or "the resolver refused these pins")  # fmt: skip
    resolve = run_logged(
        ["uv", "pip", "compile", "-", "--python", str(found.executable), "--quiet",
         "--no-header", "--no-annotate", *_exclude_newer(options)],
        log=log, timeout_s=_left(deadline), env=_uv_env(), echo=echo, reaper=options.reaper,
        stdin_text="\n".join(requirements) + "\n",
    )  # fmt: skip
    failed = _command_failure(resolve, options)
    if failed is not None:
        return _Resolution(python, found, duration_s=resolve.duration_s, failure="error",
                           reason=failed, timed_out=resolve.timed_out)  # fmt: skip
    if resolve.returncode != 0:
        reason = _resolver_message(resolve.output)
        if cache is not None:
            cache.put(key, CachedResolution(refusal=reason))
        return _Resolution(python, found, duration_s=resolve.duration_s, failure="uninstallable",
                           reason=reason)  # fmt: skip
    if cache is not None:
        cache.put(key, CachedResolution(lock=resolve.output))
    return _Resolution(python, found, lock=resolve.output, duration_s=resolve.duration_s)


def _command_failure(
    done: Completed, options: RunOptions, *, what: str = "the resolver"
) -> str | None:
    """Why a command's exit says nothing about the stack (timed out, killed), or None."""
    if done.timed_out:
        return f"timed out after {options.timeout_s:.0f} s"
    if done.returncode is not None and done.returncode < 0:
        return f"{what} was killed (signal {-done.returncode})"
    return None


def _run(
    cell: Cell,
    options: RunOptions,
    resolution: _Resolution,
    *,
    log: IO[str],
    cell_dir: Path,
    started_at: str,
    echo: IO[str] | None,
    t0: float,
    deadline: float,
) -> CellResult:
    durations: dict[str, float] = {}
    found = resolution.found
    if found is None:
        return _result(cell, options, started_at, "error", resolution.reason, durations=durations)
    python = resolution.python
    env = _uv_env()

    # 1. The pins, resolved without building anything (_resolve_cell): an impossible stack is
    #    known in well under a second.
    durations["resolve"] = resolution.duration_s
    if resolution.timed_out:
        return _timed_out(cell, options, started_at, python, durations, t0)
    if resolution.failure is not None or resolution.lock is None:
        return _result(cell, options, started_at, resolution.failure or "error", resolution.reason,
                       python=python, durations=_total(durations, t0))  # fmt: skip
    lock = resolution.lock

    # 2. Make the environment, or reuse it when it already holds exactly this lock.
    venv = options.venvs_dir / cell.id
    install_started = time.monotonic()
    problem = _ensure_environment(
        venv, found, lock, log=log, deadline=deadline, env=env, echo=echo, reaper=options.reaper
    )
    durations["install"] = time.monotonic() - install_started
    if problem is not None:
        return _result(cell, options, started_at, "error", problem, python=python,
                       durations=_total(durations, t0))  # fmt: skip
    database_url = None
    if cell.database == POSTGRESQL:
        prepared = _prepare_postgres(cell, options, venv, log=log, deadline=deadline, env=env)
        if isinstance(prepared, _Problem):
            return _result(cell, options, started_at, "error", prepared.reason, python=python,
                           durations=_total(durations, t0))  # fmt: skip
        database_url = prepared
    installed = _installed_versions(venv, env=env, log=log)

    # 3. Run the suite once; run what failed once more to tell flaky from failing.
    junit_path = venv / "junit.xml"
    test = _pytest(venv, options, junit_path, extra=(), log=log, deadline=deadline, echo=echo,
                   database_url=database_url)  # fmt: skip
    durations["test"] = test.duration_s
    if test.timed_out:
        return _timed_out(cell, options, started_at, python, durations, t0, installed=installed)
    try:
        outcomes = read_junit(junit_path)
    except JUnitError as exc:
        reason = f"the suite crashed before reporting ({exc}): {_tail(test.output)}"
        return _result(cell, options, started_at, "error", reason, python=python,
                       installed=installed, durations=_total(durations, t0))  # fmt: skip
    shutil.copyfile(junit_path, cell_dir / f".{JUNIT_FILE}.tmp")
    (cell_dir / f".{JUNIT_FILE}.tmp").replace(cell_dir / JUNIT_FILE)
    if any(o.outcome in ("failed", "error") for o in outcomes):
        rerun_path = venv / "junit-rerun.xml"
        rerun = _pytest(venv, options, rerun_path, extra=("--last-failed",), log=log,
                        deadline=deadline, echo=echo, database_url=database_url)  # fmt: skip
        durations["rerun"] = rerun.duration_s
        if not rerun.timed_out:
            try:
                outcomes = merge_rerun(outcomes, read_junit(rerun_path))
            except JUnitError as exc:
                log.write(f"(the re-run left no report, first outcomes kept: {exc})\n")
    missing = missing_checks(outcomes)
    if missing:
        reason = f"the suite did not report {', '.join(missing[:5])}: {_tail(test.output)}"
        return _result(cell, options, started_at, "error", reason, python=python,
                       installed=installed, checks=outcomes, durations=_total(durations, t0))  # fmt: skip
    judgement = judge(outcomes, installed=installed)
    return _result(
        cell, options, started_at, judgement.verdict, judgement.reason, python=python,
        installed=installed, checks=outcomes, durations=_total(durations, t0),
        recommended=judgement.recommended_pattern, flaky=judgement.flaky,
    )  # fmt: skip


def _run_upstream(
    cell: Cell,
    options: RunOptions,
    resolution: _Resolution | None,
    *,
    cell_dir: Path,
    echo: IO[str] | None,
) -> UpstreamResult:
    """Run Flask-Admin's own tests in the cell, with a log of their own beside the cell's."""
    _stop_if_interrupted(cell, options)
    partial_log = cell_dir / f".{UPSTREAM_LOG_FILE}.partial"
    with partial_log.open("w", encoding="utf-8") as log:
        upstream = _upstream(cell, options, resolution, log=log, cell_dir=cell_dir, echo=echo)
    if options.reaper is not None and options.reaper.stopping:
        partial_log.unlink(missing_ok=True)
        raise CellInterrupted(cell.id)
    partial_log.replace(cell_dir / UPSTREAM_LOG_FILE)
    return upstream


def _upstream(
    cell: Cell,
    options: RunOptions,
    resolution: _Resolution | None,
    *,
    log: IO[str],
    cell_dir: Path,
    echo: IO[str] | None,
) -> UpstreamResult:
    # The suite gets a time budget of its own: the scoping suite may have used the cell's.
    t0 = time.monotonic()
    deadline = t0 + options.timeout_s
    durations: dict[str, float] = {}
    fingerprint = options.upstream_fingerprint_of.get(cell.id, "")

    def done(status: UpstreamStatus, reason: str, **found: Any) -> UpstreamResult:
        log.write(f"(upstream suite: {status}: {reason})\n")
        return UpstreamResult(status, reason, fingerprint, durations=_total(durations, t0),
                              log=UPSTREAM_LOG_FILE, **found)  # fmt: skip

    if resolution is None:  # the scoping suite did not run now: resolve the cell's pins here
        resolution = _resolve_cell(cell, options, log=log, deadline=deadline, echo=echo)
        durations["resolve-cell"] = resolution.duration_s
    if resolution.found is None or resolution.lock is None:
        if resolution.failure == "uninstallable":
            return done("n/a", f"the cell's pins do not resolve: {resolution.reason}")
        return done("error", resolution.reason or "the cell's pins were not resolved")
    found, lock = resolution.found, resolution.lock
    flask_admin = lock_versions(lock).get("flask-admin")
    deps = options.upstream_deps or load_deps()
    plan = plan_upstream(
        deps, flask_admin=flask_admin, backend=cell.backend, database_url=options.database_url
    )
    if isinstance(plan, NotApplicable):
        return done("n/a", plan.reason, flask_admin=flask_admin)
    about: dict[str, Any] = {
        "flask_admin": flask_admin,
        "series": plan.series,
        "selection": plan.selection,
    }

    # 1. Upstream's test dependencies, resolved with the cell's lock as constraints: they may
    #    add packages but never move one, so the versions under test stay the cell's.
    with tempfile.TemporaryDirectory(prefix="upstream-") as tmp:
        constraints = Path(tmp) / "cell.lock"
        constraints.write_text(lock, encoding="utf-8")
        compiled = run_logged(
            ["uv", "pip", "compile", "-", "--python", str(found.executable), "--quiet",
             "--no-header", "--no-annotate", "--constraint", str(constraints),
             *_exclude_newer(options)],
            log=log, timeout_s=_left(deadline), env=_uv_env(), echo=echo, reaper=options.reaper,
            stdin_text="\n".join((*cell.requirements, *SUITE_REQUIREMENTS, *plan.requirements))
            + "\n",
        )  # fmt: skip
    durations["resolve"] = compiled.duration_s
    failed = _command_failure(compiled, options)
    if failed is not None:
        return done("error", failed, **about)
    if compiled.returncode != 0:
        reason = _resolver_message(compiled.output)
        return done("n/a", f"Flask-Admin {flask_admin}'s test dependencies do not install "
                    f"with this cell's pins: {reason}", **about)  # fmt: skip
    moved = moved_pins(lock, compiled.output)
    if moved:  # constraints make this impossible; checked because it is the promise made
        return done("n/a", f"its test dependencies would move pins under test: {', '.join(moved)}",
                    **about)  # fmt: skip
    about["added"] = added_packages(lock, compiled.output)

    # 2. Its own environment, so that the scoping one stays exactly the cell's pins.
    venv = options.venvs_dir / f"{cell.id}{UPSTREAM_VENV_SUFFIX}"
    install_started = time.monotonic()
    problem = _ensure_environment(venv, found, compiled.output, log=log, deadline=deadline,
                                  env=_uv_env(), echo=echo, reaper=options.reaper)  # fmt: skip
    durations["install"] = time.monotonic() - install_started
    if problem is not None:
        return done("error", problem, **about)

    # 3. The suite as the installed Flask-Admin ships it, under a config of the harness's own.
    junit_path = venv / UPSTREAM_JUNIT_FILE
    junit_path.unlink(missing_ok=True)
    ini = venv / "upstream-pytest.ini"
    ini.write_text(pytest_ini(deps), encoding="utf-8")
    env = {k: v for k, v in _bytecode_allowed(os.environ).items() if k not in _POSTGRES_ENV}
    test = run_logged(
        [str(venv / "bin" / "python"), "-m", "pytest", "-c", str(ini),
         "--rootdir", str(_site_packages(venv)), "-p", "no:cacheprovider",
         "-q", "--tb=short", "--show-capture=no", "--continue-on-collection-errors",
         f"--junitxml={junit_path}", *plan.pytest_args],
        log=log, timeout_s=_left(deadline), cwd=venv, echo=echo, reaper=options.reaper,
        env={**env, **dict(plan.env)},
    )  # fmt: skip
    durations["test"] = test.duration_s
    failed = _command_failure(test, options, what="pytest")
    if failed is not None:
        return done("error", failed, **about)
    try:
        report = read_upstream_junit(junit_path)
    except JUnitError as exc:
        return done("error", f"the suite crashed before reporting ({exc}): {_tail(test.output)}",
                    **about)  # fmt: skip
    shutil.copyfile(junit_path, cell_dir / f".{UPSTREAM_JUNIT_FILE}.tmp")
    (cell_dir / f".{UPSTREAM_JUNIT_FILE}.tmp").replace(cell_dir / UPSTREAM_JUNIT_FILE)
    status, reason = judge_report(report)
    return done(status, reason, counts=report.counts, failures=listed_failures(report),
                junit=UPSTREAM_JUNIT_FILE, **about)  # fmt: skip


# Upstream's 2.x tests read this for their PostgreSQL server: set only from DATABASE_URL, so a
# value left in the user's shell never points them at a server nobody asked for.
_POSTGRES_ENV = frozenset({"SQLALCHEMY_DATABASE_URI"})


def _site_packages(venv: Path) -> Path:
    """The environment's site-packages: pytest's rootdir, so node ids read flask_admin/..."""
    found = sorted((venv / "lib").glob("python3*/site-packages"))
    return found[0] if found else venv


def _ensure_environment(
    venv: Path,
    found: FoundPython,
    lock: str,
    *,
    log: IO[str],
    deadline: float,
    env: Mapping[str, str],
    echo: IO[str] | None,
    reaper: Reaper | None,
) -> str | None:
    """Make ``venv`` hold exactly ``lock``; the reason it could not, or None when it does."""
    key = hashlib.sha256(f"{found.executable}\n{found.version}\n{lock}".encode()).hexdigest()
    marker = venv / _LOCK_MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8") == key:
        log.write(f"(reusing {venv}: it already holds these pins)\n")
        return None
    marker.unlink(missing_ok=True)
    made = run_logged(
        ["uv", "venv", "--clear", "--quiet", "--python", str(found.executable), str(venv)],
        log=log, timeout_s=_left(deadline), env=env, echo=echo, reaper=reaper,
    )  # fmt: skip
    if made.returncode != 0:
        return (
            "timed out"
            if made.timed_out
            else f"could not create the environment: {_tail(made.output)}"
        )
    lock_file = venv / "requirements.lock"
    lock_file.write_text(lock, encoding="utf-8")
    synced = run_logged(
        ["uv", "pip", "sync", "--quiet", "--python", str(venv / "bin" / "python"), str(lock_file)],
        log=log, timeout_s=_left(deadline), env=env, echo=echo, reaper=reaper,
    )  # fmt: skip
    if synced.returncode != 0:
        return (
            "timed out"
            if synced.timed_out
            else f"installing the pins failed: {_tail(synced.output)}"
        )
    marker.write_text(key, encoding="utf-8")
    return None


def _pytest(
    venv: Path,
    options: RunOptions,
    junit_path: Path,
    *,
    extra: Sequence[str],
    log: IO[str],
    deadline: float,
    echo: IO[str] | None,
    database_url: str | None = None,
) -> Completed:
    junit_path.unlink(missing_ok=True)
    suite = options.suite_dir
    env = _bytecode_allowed(os.environ)
    # The suite reads DATABASE_URL; a SQLite cell must not inherit one from the user's shell.
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return run_logged(
        [
            str(venv / "bin" / "python"), "-m", "pytest",
            "-c", str(suite / "pytest.ini"), "--rootdir", str(suite),
            "-o", f"cache_dir={venv / '.pytest_cache'}",
            f"--junitxml={junit_path}", *extra, *options.pytest_args, str(suite),
        ],
        log=log, timeout_s=_left(deadline), cwd=options.repo_root, echo=echo, reaper=options.reaper,
        env=env,
    )  # fmt: skip


@dataclass(frozen=True)
class _Problem:
    reason: str


#: SQLAlchemy's default DBAPI module for postgresql:// -> the distribution that provides it.
POSTGRES_DRIVERS: Mapping[str, str] = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]"}
# Asked of the cell's own SQLAlchemy: which driver does postgresql:// mean, and is it there?
_DRIVER_PROBE = (
    "import importlib.util, sqlalchemy.dialects.postgresql as pg; "
    "print(pg.dialect.driver, importlib.util.find_spec(pg.dialect.driver) is not None)"
)
_CREATE_DATABASE = """
import sys, sqlalchemy as sa
url, name = sys.argv[1], sys.argv[2]
engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
engine.dispose()
"""


def _prepare_postgres(
    cell: Cell,
    options: RunOptions,
    venv: Path,
    *,
    log: IO[str],
    deadline: float,
    env: Mapping[str, str],
) -> str | _Problem:
    """Give the cell a driver and a fresh database of its own; its URL, or why not.

    The driver is the one the cell's SQLAlchemy reads ``postgresql://`` as (feature
    detection: psycopg2 for 1.4 and 2.0, psycopg 3 for 2.1), installed with the cell's lock
    as constraints so that no version under test moves; it shows in the installed versions.
    """
    server = options.postgres
    if server is None:
        return _Problem(options.postgres_missing)
    python = str(venv / "bin" / "python")
    probe = run_logged([python, "-c", _DRIVER_PROBE], log=log, timeout_s=_left(deadline),
                       reaper=options.reaper)  # fmt: skip
    words = probe.output.split()
    if probe.returncode != 0 or len(words) != 2 or words[0] not in POSTGRES_DRIVERS:
        return _Problem(f"no PostgreSQL driver known for this SQLAlchemy: {_tail(probe.output)}")
    driver, present = words[0], words[1] == "True"
    if not present:
        added = run_logged(
            ["uv", "pip", "install", "--quiet", "--python", python,
             "--constraint", str(venv / "requirements.lock"), POSTGRES_DRIVERS[driver]],
            log=log, timeout_s=_left(deadline), env=env, reaper=options.reaper,
        )  # fmt: skip
        if added.returncode != 0:
            return _Problem(
                f"the PostgreSQL driver {driver} did not install: {_tail(added.output)}"
            )
    name = database_name(cell.id)
    made = run_logged(
        [python, "-c", _CREATE_DATABASE, server.url_for(server.maintenance_database, driver=driver), name],
        log=log, timeout_s=_left(deadline), reaper=options.reaper,
    )  # fmt: skip
    if made.returncode != 0:
        return _Problem(f"could not create the cell's database on the server: {_tail(made.output)}")
    return server.url_for(name, driver=driver)


def _bytecode_allowed(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for pytest in a cell, with Python free to cache bytecode.

    uv installs without compiling, so a shell that sets PYTHONDONTWRITEBYTECODE makes every
    pytest run in a cell compile the whole stack again (measured: importing Flask-Admin's
    stack took 1.3 s instead of 0.35 s). The cell's environment is the harness's own.
    """
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _installed_versions(venv: Path, *, env: Mapping[str, str], log: IO[str]) -> dict[str, str]:
    """Every distribution in the cell's environment, read from the environment itself."""
    listed = run_logged(
        ["uv", "pip", "list", "--quiet", "--format", "json", "--python", str(venv / "bin" / "python")],
        log=io.StringIO(), timeout_s=60, env=env,
    )  # fmt: skip
    try:
        return {item["name"].lower(): item["version"] for item in json.loads(listed.output)}
    except (ValueError, KeyError, TypeError):
        log.write(f"(could not list the installed packages: {listed.output[:500]})\n")
        return {}


def _uv_env() -> dict[str, str]:
    # A missing Python is reported, never downloaded behind the user's back.
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def _exclude_newer(options: RunOptions) -> list[str]:
    return ["--exclude-newer", options.exclude_newer] if options.exclude_newer else []


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _total(durations: dict[str, float], t0: float) -> dict[str, float]:
    """The phases and their total, to the millisecond (finer is noise)."""
    return {name: round(s, 3) for name, s in {**durations, "total": time.monotonic() - t0}.items()}


def _timed_out(
    cell: Cell,
    options: RunOptions,
    started_at: str,
    python: PythonInfo,
    durations: dict[str, float],
    t0: float,
    *,
    installed: Mapping[str, str] | None = None,
) -> CellResult:
    reason = f"timed out after {options.timeout_s:.0f} s"
    return _result(cell, options, started_at, "error", reason, python=python,
                   installed=installed or {}, durations=_total(durations, t0))  # fmt: skip


def _resolver_message(output: str) -> str:
    """uv's own explanation in one paragraph, without its hints about flags nobody asked for."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    kept = [
        ln.removeprefix("error: ").removeprefix("cause: ")
        for ln in lines
        if not ln.startswith(("hint:", "$ ", "(")) and not ln.startswith("warning:")
    ]
    if not kept:
        return "the resolver refused these pins"
    head, *rest = kept[:20]
    return f"{head}: {' '.join(rest)}" if rest else head


def _tail(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    return "\n".join(lines[-_LOG_TAIL_LINES:])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _result(
    cell: Cell,
    options: RunOptions,
    started_at: str,
    verdict: Verdict,
    reason: str,
    *,
    python: PythonInfo | None = None,
    installed: Mapping[str, str] | None = None,
    checks: Sequence[CheckOutcome] = (),
    durations: Mapping[str, float] | None = None,
    recommended: str | None = None,
    flaky: bool = False,
    log: str | None = LOG_FILE,
) -> CellResult:
    return CellResult(
        cell_id=cell.id,
        requested=cell.requested,
        python=python or PythonInfo(cell.python.text),
        verdict=verdict,
        reason=reason,
        started_at=started_at,
        finished_at=_now(),
        fingerprint=options.fingerprint_of.get(cell.id, ""),
        harness_version=__version__,
        suite=options.suite,
        installed=dict(installed or {}),
        recommended_pattern=recommended,
        flags=("flaky",) if flaky else (),
        checks=tuple(checks),
        durations=dict(durations or {}),
        log=log,
    )
