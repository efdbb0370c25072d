"""The scoping suite in a cell: one pytest run, and the re-run that tells flaky from failing."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from flask_admin_compat.results.model import CheckOutcome, Outcome
from flask_admin_compat.run.env import bytecode_allowed
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.process import Completed, run_logged, time_left

#: Read by tests/scoping/backends.py: the distribution name of the backend under test.
BACKEND_ENV = "FLASK_ADMIN_COMPAT_BACKEND"


def run_pytest(
    venv: Path,
    options: RunOptions,
    junit_path: Path,
    *,
    extra: Sequence[str],
    log: IO[str],
    deadline: float,
    echo: IO[str] | None,
    database_url: str | None = None,
    backend: str | None = None,
) -> Completed:
    junit_path.unlink(missing_ok=True)
    suite = options.suite_dir
    env = bytecode_allowed(os.environ)
    # The suite reads DATABASE_URL; a SQLite cell must not inherit one from the user's shell.
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    # Which backend the suite tests: an install set puts a second one beside it.
    env.pop(BACKEND_ENV, None)
    if backend is not None:
        env[BACKEND_ENV] = backend
    return run_logged(
        [
            str(venv / "bin" / "python"), "-m", "pytest",
            "-c", str(suite / "pytest.ini"), "--rootdir", str(suite),
            "-o", f"cache_dir={venv / '.pytest_cache'}",
            f"--junitxml={junit_path}", *extra, *options.pytest_args, str(suite),
        ],
        log=log, timeout_s=time_left(deadline), cwd=options.repo_root, echo=echo, reaper=options.reaper,
        env=env,
    )  # fmt: skip


def merge_rerun(first: list[CheckOutcome], rerun: list[CheckOutcome]) -> list[CheckOutcome]:
    """Fold a re-run of the failed checks into the first run's outcomes.

    A check that fails and then passes is flaky: both outcomes are kept, and it still counts
    as failed, so that a flaky cell is never shown as plainly compatible.
    """
    again = {o.key: o for o in rerun}
    merged: list[CheckOutcome] = []
    for outcome in first:
        second = again.get(outcome.key)
        if second is None:
            merged.append(outcome)
            continue
        attempts = (*outcome.attempts, *second.attempts)
        effective: Outcome = "failed" if len(set(attempts)) > 1 else outcome.outcome
        message = outcome.message or second.message
        merged.append(
            CheckOutcome(
                pattern=outcome.pattern,
                check=outcome.check,
                outcome=effective,
                message=message,
                duration_s=outcome.duration_s + second.duration_s,
                attempts=attempts,
                nodeid=outcome.nodeid,
            )
        )
    return merged
