"""The scoping suite in a cell: one pytest run, which re-runs its own failed checks.

The suite's plugin re-runs a failed check once, right away, in the same process (the second
pytest run this harness used to start cost a cell the interpreter, the stack's imports and
every app again: 0.94 s a cell over the default matrix). Both attempts are in the report.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from flask_admin_compat.checks.records import RECORDS_OPTION
from flask_admin_compat.run.env import bytecode_allowed
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.process import Completed, run_logged, time_left

#: Read by tests/scoping/backends.py: the distribution name of the backend under test.
BACKEND_ENV = "FLASK_ADMIN_COMPAT_BACKEND"
#: Read by tests/scoping/template_cache.py: the folder of compiled templates every cell shares.
TEMPLATES_ENV = "FLASK_ADMIN_COMPAT_TEMPLATES"


def run_pytest(
    venv: Path,
    options: RunOptions,
    junit_path: Path,
    *,
    records_path: Path,
    extra: Sequence[str],
    log: IO[str],
    deadline: float,
    echo: IO[str] | None,
    database_url: str | None = None,
    backend: str | None = None,
) -> Completed:
    junit_path.unlink(missing_ok=True)
    records_path.unlink(missing_ok=True)
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
    # A new environment renders with the templates another cell compiled (0.25 to 0.45 s of
    # CPU each time otherwise); by hand, the suite keeps its own inside the environment.
    env.pop(TEMPLATES_ENV, None)
    if options.templates_dir is not None:
        env[TEMPLATES_ENV] = str(options.templates_dir)
    return run_logged(
        [
            str(venv / "bin" / "python"), "-m", "pytest",
            "-c", str(suite / "pytest.ini"), "--rootdir", str(suite),
            "-o", f"cache_dir={venv / '.pytest_cache'}",
            f"--junitxml={junit_path}", f"{RECORDS_OPTION}={records_path}", *extra, *options.pytest_args, str(suite),
        ],
        log=log, timeout_s=time_left(deadline), cwd=options.repo_root, echo=echo, reaper=options.reaper,
        env=env,
    )  # fmt: skip
