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

import functools
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from typing import IO

from flask_admin_compat import __version__
from flask_admin_compat.jsonio import copy_file_atomic
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import POSTGRESQL, SCOPING, UPSTREAM
from flask_admin_compat.results.model import (
    JUNIT_FILE,
    LOG_FILE,
    RECORDS_FILE,
    RESULT_FILE,
    CellResult,
    CheckOutcome,
    PythonInfo,
    ResultError,
    UpstreamResult,
    Verdict,
    read_result,
    write_result,
)
from flask_admin_compat.results.records import RecordsError, SuiteRecords, read_records
from flask_admin_compat.results.release_flags import builds_installed, release_flags
from flask_admin_compat.results.verdict import judge, missing_checks
from flask_admin_compat.run.env import (
    LOCK_MARKER,
    Resolution,
    build_refusal,
    ensure_environment,
    installed_versions,
    keep_bytecode,
    resolve_cell,
    site_packages,
    uv_env,
)
from flask_admin_compat.run.exclusive import Busy, environment_lock, exclusive
from flask_admin_compat.run.options import (
    RunOptions,
    cell_log,
    stop_if_interrupted,
)
from flask_admin_compat.run.postgres import Problem, prepare_postgres
from flask_admin_compat.run.process import now_iso, tail, with_total
from flask_admin_compat.run.pylock import write_pylock
from flask_admin_compat.run.scoping import run_pytest
from flask_admin_compat.run.upstream import run_upstream
from flask_admin_compat.run.verify import damage, distrusted, summary


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
    A cell whose files cannot be written (its folder is a file, or not writable) is an
    ``error`` of that cell with the reason, returned rather than raised: the run goes on, and
    the merge shows it from this run's results.
    """
    try:
        return _run_and_write(cell, options, echo=echo, suites=suites)
    except (OSError, Busy) as exc:
        stop_if_interrupted(cell, options)  # what an interrupt cut short is no result
        reason = (
            f"its environment stayed in use for the cell's {options.timeout_s:.0f} s: {exc}"
            if isinstance(exc, Busy)
            else unwritable_reason(exc)
        )
        result = _result(cell, options, now_iso(), "error", reason, log=None)
        try:  # the folder may have been fixed meanwhile; if not, the merge has it from memory
            write_result(options.cells_dir / cell.id, result)
        except OSError:
            pass
        return result


def unwritable_reason(exc: OSError) -> str:
    """Why, in the OS's words: ``... files: [Errno 17] File exists: 'reports/cells/x'``."""
    return f"the harness could not write this cell's files: {exc}"


def _run_and_write(
    cell: Cell,
    options: RunOptions,
    *,
    echo: IO[str] | None,
    suites: Sequence[str],
) -> CellResult:
    stop_if_interrupted(cell, options)
    cell_dir = options.cells_dir / cell.id
    cell_dir.mkdir(parents=True, exist_ok=True)
    started_at = now_iso()
    recorded = _previous(cell_dir) or options.carried.get(cell.id)
    if cell.excluded_by is not None:
        result = _result(cell, options, started_at, "excluded", cell.excluded_by.reason, log=None)
        write_result(cell_dir, result)
        return result
    previous = (
        _previous(cell_dir) or options.carried.get(cell.id)
        if not {SCOPING, UPSTREAM} <= set(suites)
        else None
    )
    resolution: Resolution | None = None
    if SCOPING in suites or previous is None or previous.verdict == "excluded":
        with _environment(cell.id, options), cell_log(cell, options, cell_dir / LOG_FILE) as log:
            t0 = time.monotonic()
            deadline = t0 + options.timeout_s
            resolution = resolve_cell(cell, options, log=log, deadline=deadline, echo=echo)
            run_once = functools.partial(
                _run,
                cell,
                options,
                resolution,
                log=log,
                cell_dir=cell_dir,
                started_at=started_at,
                echo=echo,
                t0=t0,
                deadline=deadline,
            )
            result = run_once()
            if rebuilt_if_damaged(cell, options, resolution, result, recorded, log=log):
                result = run_once()
        if previous is not None and previous.upstream is not None and UPSTREAM not in suites:
            # Kept beside the new verdict, unless the stack no longer even resolves.
            kept = previous.upstream if result.verdict != "uninstallable" else None
            result = replace(result, upstream=kept)
        # Written now, so that an interrupt during the upstream suite keeps this verdict.
        write_result(cell_dir, result)
    else:
        result = previous
    if UPSTREAM in suites:
        with _environment(f"{cell.id}--upstream", options):
            upstream = run_upstream(cell, options, resolution, cell_dir=cell_dir, echo=echo)
        result = replace(result, upstream=kept_upstream(upstream, recorded))
        write_result(cell_dir, result)
    return result


def rebuilt_if_damaged(
    cell: Cell,
    options: RunOptions,
    resolution: Resolution,
    result: CellResult,
    recorded: CellResult | None,
    *,
    log: IO[str],
) -> bool:
    """Verify a result's environment before it is recorded; whether it was damaged.

    A damaged environment loses its lock marker, so that running the cell again builds it
    afresh (and links no damaged bytecode: those store entries are gone); the damage is
    written in the log.
    """
    if resolution.lock is None or not distrusted(result, recorded):
        return False
    venv = options.venvs_dir / cell.id
    found = damage(site_packages(venv), resolution.lock, bytecode=options.bytecode)
    if not found:
        log.write("(environment verified against its lock: the result stands)\n")
        return False
    log.write(f"(environment damaged, rebuilt and run again: {summary(found)})\n")
    (venv / LOCK_MARKER).unlink(missing_ok=True)
    return True


def kept_upstream(new: UpstreamResult, recorded: CellResult | None) -> UpstreamResult:
    """The upstream outcome to record: a run that errored keeps what was recorded before.

    An error is the harness's (a full disk, an unreachable index), never news about the
    stack: the counts upstream's tests last gave stay, with their own date and fingerprint,
    so the next run tries again.
    """
    earlier = recorded.upstream if recorded is not None else None
    if new.status == "error" and earlier is not None and earlier.status != "error":
        return earlier
    return new


def _environment(name: str, options: RunOptions) -> AbstractContextManager[None]:
    """Hold ``.venvs/<name>`` for this cell: never two pytests (or installs) in one at once.

    Another run of this checkout is kept out by the run lock already; this guards against
    anything else using the environment (another project folder sharing it, the benchmark),
    waiting for it up to the cell's own timeout.
    """
    venv = options.venvs_dir / name
    reaper = options.reaper
    return exclusive(
        environment_lock(venv),
        what=f"a run of cell {name}",
        wait_s=options.timeout_s,
        give_up=(lambda: reaper.stopping) if reaper is not None else None,
    )


def _previous(cell_dir: Path) -> CellResult | None:
    try:
        return read_result(cell_dir / RESULT_FILE)
    except ResultError:
        return None


def _run(
    cell: Cell,
    options: RunOptions,
    resolution: Resolution,
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
    env = uv_env()

    # 1. The pins, resolved without building anything (resolve_cell): an impossible stack is
    #    known in well under a second.
    durations["resolve"] = resolution.duration_s
    if resolution.timed_out:
        return _timed_out(cell, options, started_at, python, durations, t0)
    if resolution.failure is not None or resolution.lock is None:
        return _result(
            cell,
            options,
            started_at,
            resolution.failure or "error",
            resolution.reason,
            python=python,
            durations=with_total(durations, t0),
        )
    lock = resolution.lock

    # 2. Make the environment, or reuse it when it already holds exactly this lock.
    venv = options.venvs_dir / cell.id
    install_started = time.monotonic()
    problem = ensure_environment(
        venv,
        found,
        lock,
        log=log,
        deadline=deadline,
        env=env,
        echo=echo,
        reaper=options.reaper,
        bytecode=options.bytecode,
    )
    durations["install"] = time.monotonic() - install_started
    if problem is not None and out_of_time(deadline):
        return _timed_out(cell, options, started_at, python, durations, t0)
    if problem is not None:
        refused = build_refusal(cell, problem)  # a build that would not build: the stack's fault
        return _result(
            cell,
            options,
            started_at,
            "uninstallable" if refused else "error",
            refused or problem,
            python=python,
            durations=with_total(durations, t0),
        )
    database_url = None
    if cell.database == POSTGRESQL:
        prepared = prepare_postgres(
            cell,
            options.postgres,
            venv,
            missing=options.postgres_missing,
            reaper=options.reaper,
            log=log,
            deadline=deadline,
            env=env,
        )
        if isinstance(prepared, Problem) and out_of_time(deadline):
            return _timed_out(cell, options, started_at, python, durations, t0)
        if isinstance(prepared, Problem):
            return _result(
                cell,
                options,
                started_at,
                "error",
                prepared.reason,
                python=python,
                durations=with_total(durations, t0),
            )
        database_url = prepared
    installed = installed_versions(venv, log=log)
    write_pylock(cell_dir, lock, found, options, log=log, env=env, deadline=deadline)

    # 3. Run the suite once; it runs what failed once more, in the same process, to tell
    #    flaky from failing, and records each check as it ends (kept if the run is killed).
    junit_path, records_path = venv / JUNIT_FILE, venv / RECORDS_FILE
    test = run_pytest(
        venv,
        options,
        junit_path,
        records_path=records_path,
        extra=(),
        log=log,
        deadline=deadline,
        echo=echo,
        database_url=database_url,
        backend=cell.backend,
    )
    durations["test"] = test.duration_s
    unreadable = ""
    try:
        recorded = read_records(records_path)
    except RecordsError as exc:
        recorded, unreadable = SuiteRecords(()), str(exc)
    for made, kept in ((records_path, RECORDS_FILE), (junit_path, JUNIT_FILE)):
        if made.is_file():
            copy_file_atomic(made, cell_dir / kept)
    if test.timed_out:
        return _timed_out(
            cell, options, started_at, python, durations, t0, installed=installed, recorded=recorded
        )
    keep_bytecode(venv, options)
    if unreadable:
        reason = f"the suite crashed before reporting ({unreadable}): {tail(test.output)}"
        return _result(
            cell,
            options,
            started_at,
            "error",
            reason,
            python=python,
            installed=installed,
            durations=with_total(durations, t0),
        )
    outcomes = list(recorded.outcomes)
    missing = missing_checks(outcomes)
    if missing:
        reason = f"the suite did not report {', '.join(missing[:5])}: {tail(test.output)}"
        return _result(
            cell,
            options,
            started_at,
            "error",
            reason,
            python=python,
            installed=installed,
            checks=outcomes,
            durations=with_total(durations, t0),
        )
    judgement = judge(outcomes, installed=installed, deprecations=recorded.deprecations)
    result = _result(
        cell,
        options,
        started_at,
        judgement.verdict,
        judgement.reason,
        python=python,
        installed=installed,
        checks=outcomes,
        durations=with_total(durations, t0),
        recommended=judgement.recommended_pattern,
        flaky=judgement.flaky,
    )
    flags = (*judgement.flags, *release_flags(cell, installed))
    return replace(result, flags=flags, deprecation=judgement.deprecation)


def out_of_time(deadline: float) -> bool:
    """Whether the cell's time is up: a phase that failed then was cut short, not refused."""
    return time.monotonic() >= deadline


def _timed_out(
    cell: Cell,
    options: RunOptions,
    started_at: str,
    python: PythonInfo,
    durations: dict[str, float],
    t0: float,
    *,
    installed: Mapping[str, str] | None = None,
    recorded: SuiteRecords | None = None,
) -> CellResult:
    """An ``error`` that keeps every check the suite finished, and names the one it was in."""
    where = (
        f" in {recorded.running.describe()}"
        if recorded is not None and recorded.running is not None
        else ""
    )
    reason = f"timed out{where} after {options.timeout_s:.0f} s"
    checks = recorded.outcomes if recorded is not None else ()
    return _result(
        cell,
        options,
        started_at,
        "error",
        reason,
        python=python,
        installed=installed or {},
        checks=checks,
        durations=with_total(durations, t0),
    )


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
        finished_at=now_iso(),
        fingerprint=options.fingerprint_of.get(cell.id, ""),
        harness_version=__version__,
        suite=options.suite,
        installed=dict(installed or {}),
        recommended_pattern=recommended,
        flags=(("flaky",) if flaky else ()) + release_flags(cell, installed or {}),
        builds=builds_installed(cell),
        checks=tuple(checks),
        durations=dict(durations or {}),
        log=log,
    )
