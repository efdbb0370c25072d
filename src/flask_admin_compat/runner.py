"""Run one cell: resolve its pins, make or reuse its environment, run the suite, judge it.

Every outcome, failures of the harness included, ends as a :class:`CellResult` written to
``reports/cells/<id>/``: an uninstallable stack or a hung suite is a result, not an exception
that stops the run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from flask_admin_compat import __version__
from flask_admin_compat.cells import Cell
from flask_admin_compat.checks import CheckOutcome, JUnitError, merge_rerun, read_junit
from flask_admin_compat.process import Completed, Reaper, run_logged
from flask_admin_compat.pythons import FoundPython, PythonNotFound, find_python
from flask_admin_compat.results import (
    JUNIT_FILE,
    LOG_FILE,
    CellResult,
    PythonInfo,
    Verdict,
    write_result,
)
from flask_admin_compat.verdict import judge, missing_checks

#: What the scoping suite needs in a cell besides the stack under test.
SUITE_REQUIREMENTS: tuple[str, ...] = ("pytest",)
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
    pytest_args: tuple[str, ...] = ()
    suite: str = "scoping"
    reaper: Reaper | None = field(default=None, compare=False)

    @property
    def suite_dir(self) -> Path:
        return self.repo_root / "tests" / self.suite


def run_cell(cell: Cell, options: RunOptions, *, echo: IO[str] | None = None) -> CellResult:
    """Run one cell from start to verdict and write its result folder."""
    _stop_if_interrupted(cell, options)
    cell_dir = options.cells_dir / cell.id
    cell_dir.mkdir(parents=True, exist_ok=True)
    started_at = _now()
    if cell.excluded_by is not None:
        result = _result(cell, options, started_at, "excluded", cell.excluded_by.reason, log=None)
        write_result(cell_dir, result)
        return result
    partial_log = cell_dir / f".{LOG_FILE}.partial"
    with partial_log.open("w", encoding="utf-8") as log:
        result = _run(cell, options, log=log, cell_dir=cell_dir, started_at=started_at, echo=echo)
    if options.reaper is not None and options.reaper.stopping:
        # Its commands were killed by the interrupt, not by the stack: nothing here is a
        # result, and the cell's previous result (if any) stays as it was.
        partial_log.unlink(missing_ok=True)
        raise CellInterrupted(cell.id)
    partial_log.replace(cell_dir / LOG_FILE)
    write_result(cell_dir, result)
    return result


class CellInterrupted(Exception):
    """The run was interrupted while (or before) this cell ran; it has no result."""


def _stop_if_interrupted(cell: Cell, options: RunOptions) -> None:
    if options.reaper is not None and options.reaper.stopping:
        raise CellInterrupted(cell.id)


def _run(
    cell: Cell,
    options: RunOptions,
    *,
    log: IO[str],
    cell_dir: Path,
    started_at: str,
    echo: IO[str] | None,
) -> CellResult:
    deadline = time.monotonic() + options.timeout_s
    durations: dict[str, float] = {}
    t0 = time.monotonic()
    found = find_python(cell.python.text)
    if isinstance(found, PythonNotFound):
        log.write(found.message + "\n")
        return _result(cell, options, started_at, "error", found.message, durations=durations)
    python = PythonInfo(cell.python.text, found.version, str(found.executable))
    env = _uv_env()

    # 1. Resolve without building anything: an impossible stack is known in well under a second.
    resolve = run_logged(
        ["uv", "pip", "compile", "-", "--python", str(found.executable), "--quiet",
         "--no-header", "--no-annotate", *_exclude_newer(options)],
        log=log, timeout_s=_left(deadline), env=env, echo=echo, reaper=options.reaper,
        stdin_text="\n".join((*cell.requirements, *SUITE_REQUIREMENTS)) + "\n",
    )  # fmt: skip
    durations["resolve"] = resolve.duration_s
    if resolve.timed_out:
        return _timed_out(cell, options, started_at, python, durations, t0)
    if resolve.returncode is not None and resolve.returncode < 0:
        reason = f"the resolver was killed (signal {-resolve.returncode})"
        return _result(cell, options, started_at, "error", reason, python=python,
                       durations=_total(durations, t0))  # fmt: skip
    if resolve.returncode != 0:
        return _result(cell, options, started_at, "uninstallable", _resolver_message(resolve.output),
                       python=python, durations=_total(durations, t0))  # fmt: skip
    lock = resolve.output

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
    installed = _installed_versions(venv, env=env, log=log)

    # 3. Run the suite once; run what failed once more to tell flaky from failing.
    junit_path = venv / "junit.xml"
    test = _pytest(venv, options, junit_path, extra=(), log=log, deadline=deadline, echo=echo)
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
                        deadline=deadline, echo=echo)  # fmt: skip
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
) -> Completed:
    junit_path.unlink(missing_ok=True)
    suite = options.suite_dir
    return run_logged(
        [
            str(venv / "bin" / "python"), "-m", "pytest",
            "-c", str(suite / "pytest.ini"), "--rootdir", str(suite),
            "-o", f"cache_dir={venv / '.pytest_cache'}",
            f"--junitxml={junit_path}", *extra, *options.pytest_args, str(suite),
        ],
        log=log, timeout_s=_left(deadline), cwd=options.repo_root, echo=echo, reaper=options.reaper,
        env=_bytecode_allowed(os.environ),
    )  # fmt: skip


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
