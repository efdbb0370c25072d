"""Flask-Admin's own SQLAlchemy tests in one cell, as a second opinion beside the verdict.

They run in an environment of their own, ``.venvs/<id>--upstream``: the cell's pins plus
upstream's test dependencies (:mod:`.upstream_plan`), so that the scoping environment stays
exactly the cell's pins. This suite never changes a cell's verdict: upstream's fixtures push
one app context around each test, so they cannot see per-request scoping bugs.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from flask_admin_compat.jsonio import copy_file_atomic
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import SUITE_REQUIREMENTS
from flask_admin_compat.results.junit import JUnitError, read_upstream_junit
from flask_admin_compat.results.model import UpstreamResult, UpstreamStatus
from flask_admin_compat.results.verdict import judge_report, listed_failures
from flask_admin_compat.run.env import (
    Resolution,
    bytecode_allowed,
    command_failure,
    compile_pins,
    ensure_environment,
    keep_bytecode,
    prerelease_args,
    resolve_cell,
    resolver_message,
    site_packages,
    uv_env,
)
from flask_admin_compat.run.options import (
    RunOptions,
    cell_log,
    stop_if_interrupted,
)
from flask_admin_compat.run.process import run_logged, tail, time_left, with_total
from flask_admin_compat.run.refusal import environment_problem, refused_by_resolver
from flask_admin_compat.run.upstream_plan import (
    NotApplicable,
    added_packages,
    load_deps,
    lock_versions,
    moved_pins,
    plan_upstream,
    pytest_ini,
)

UPSTREAM_LOG_FILE = "upstream-log.txt"
UPSTREAM_JUNIT_FILE = "upstream-junit.xml"


#: The upstream suite's environment is the cell's own name with this suffix (ids never hold
#: "--", so it cannot be another cell's).
UPSTREAM_VENV_SUFFIX = "--upstream"


def run_upstream(
    cell: Cell,
    options: RunOptions,
    resolution: Resolution | None,
    *,
    cell_dir: Path,
    echo: IO[str] | None,
) -> UpstreamResult:
    """Run Flask-Admin's own tests in the cell, with a log of their own beside the cell's."""
    stop_if_interrupted(cell, options)
    with cell_log(cell, options, cell_dir / UPSTREAM_LOG_FILE) as log:
        return _upstream(cell, options, resolution, log=log, cell_dir=cell_dir, echo=echo)


def _upstream(
    cell: Cell,
    options: RunOptions,
    resolution: Resolution | None,
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
        return UpstreamResult(
            status,
            reason,
            fingerprint,
            durations=with_total(durations, t0),
            log=UPSTREAM_LOG_FILE,
            **found,
        )

    if resolution is None:  # the scoping suite did not run now: resolve the cell's pins here
        resolution = resolve_cell(cell, options, log=log, deadline=deadline, echo=echo)
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
        compiled = compile_pins(
            (*cell.requirements, *SUITE_REQUIREMENTS, *plan.requirements),
            found,
            options,
            log=log,
            deadline=deadline,
            echo=echo,
            constraints=constraints,
            prerelease=prerelease_args(cell),
        )
    durations["resolve"] = compiled.duration_s
    failed = command_failure(compiled, options)
    if failed is not None:
        return done("error", failed, **about)
    if compiled.returncode != 0 and not refused_by_resolver(compiled.output):
        return done("error", environment_problem(resolver_message(compiled.output)), **about)
    if compiled.returncode != 0:
        reason = resolver_message(compiled.output)
        return done(
            "n/a",
            f"Flask-Admin {flask_admin}'s test dependencies do not install "
            f"with this cell's pins: {reason}",
            **about,
        )
    moved = moved_pins(lock, compiled.output)
    if moved:  # constraints make this impossible; checked because it is the promise made
        return done(
            "n/a", f"its test dependencies would move pins under test: {', '.join(moved)}", **about
        )
    about["added"] = added_packages(lock, compiled.output)

    # 2. Its own environment, so that the scoping one stays exactly the cell's pins.
    venv = options.venvs_dir / f"{cell.id}{UPSTREAM_VENV_SUFFIX}"
    install_started = time.monotonic()
    problem = ensure_environment(
        venv,
        found,
        compiled.output,
        log=log,
        deadline=deadline,
        env=uv_env(),
        echo=echo,
        reaper=options.reaper,
        bytecode=options.bytecode,
    )
    durations["install"] = time.monotonic() - install_started
    if problem is not None:
        return done("error", problem, **about)

    # 3. The suite as the installed Flask-Admin ships it, under a config of the harness's own.
    junit_path = venv / UPSTREAM_JUNIT_FILE
    junit_path.unlink(missing_ok=True)
    ini = venv / "upstream-pytest.ini"
    ini.write_text(pytest_ini(deps), encoding="utf-8")
    env = {k: v for k, v in bytecode_allowed(os.environ).items() if k not in POSTGRES_ENV}
    test = run_logged(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pytest",
            "-c",
            str(ini),
            "--rootdir",
            str(site_packages(venv)),
            "-p",
            "no:cacheprovider",
            "-q",
            "--tb=short",
            "--show-capture=no",
            "--continue-on-collection-errors",
            f"--junitxml={junit_path}",
            *plan.pytest_args,
        ],
        log=log,
        timeout_s=time_left(deadline),
        cwd=venv,
        echo=echo,
        reaper=options.reaper,
        env={**env, **dict(plan.env)},
    )
    durations["test"] = test.duration_s
    failed = command_failure(test, options, what="pytest")
    if failed is not None:
        return done("error", failed, **about)
    keep_bytecode(venv, options)
    try:
        report = read_upstream_junit(junit_path)
    except JUnitError as exc:
        return done(
            "error", f"the suite crashed before reporting ({exc}): {tail(test.output)}", **about
        )
    copy_file_atomic(junit_path, cell_dir / UPSTREAM_JUNIT_FILE)
    status, reason = judge_report(report)
    return done(
        status,
        reason,
        counts=report.counts,
        failures=listed_failures(report),
        junit=UPSTREAM_JUNIT_FILE,
        **about,
    )


# Upstream's 2.x tests read this for their PostgreSQL server: set only from DATABASE_URL, so a
# value left in the user's shell never points them at a server nobody asked for.
POSTGRES_ENV = frozenset({"SQLALCHEMY_DATABASE_URI"})
