"""A cell's environment: find its Python, resolve its pins, make or reuse its virtualenv."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from packaging.utils import canonicalize_name
from packaging.version import Version

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import SUITE_REQUIREMENTS
from flask_admin_compat.results.model import PythonInfo, Verdict
from flask_admin_compat.run.bytecode import BytecodeStore
from flask_admin_compat.run.locks import CachedResolution
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.process import Completed, Reaper, run_logged, tail, time_left
from flask_admin_compat.run.pythons import FoundPython, PythonNotFound, provide_python
from flask_admin_compat.run.refusal import (
    ENVIRONMENT_SIGNS,
    environment_problem,
    refused_by_resolver,
)

LOCK_MARKER = ".compat-lock"


@dataclass(frozen=True)
class Resolution:
    """The cell's pins resolved into a lock, or why they could not be."""

    python: PythonInfo
    found: FoundPython | None = None
    lock: str | None = None
    duration_s: float = 0.0
    failure: Verdict | None = None  # "error" (the harness) or "uninstallable" (the stack)
    reason: str = ""
    timed_out: bool = False


def resolve_cell(
    cell: Cell, options: RunOptions, *, log: IO[str], deadline: float, echo: IO[str] | None
) -> Resolution:
    """Find the cell's Python and resolve its pins, building nothing."""
    found = provide_python(cell.python.text, download=options.download_python)
    if isinstance(found, PythonNotFound):
        log.write(found.message + "\n")
        return Resolution(PythonInfo(cell.python.text), failure="error", reason=found.message)
    python = PythonInfo(cell.python.text, found.version, str(found.executable))
    requirements = (*cell.requirements, *SUITE_REQUIREMENTS)
    prerelease = prerelease_args(cell)
    cache, key = options.lock_cache, ""
    if cache is not None:
        started = time.monotonic()
        # The pre-release mode is part of the key: a lock made without it may hold a beta.
        key = cache.key(
            python=str(found.executable),
            python_version=found.version,
            requirements=(*requirements, *prerelease),
        )
        cached = cache.get(key)
        if (
            cached is not None
            and cached.refusal is not None
            and not refused_by_resolver(cached.refusal)
        ):
            # Kept by a harness that took a machine's fault for the resolver's: not reused.
            log.write(
                f"(a cached refusal was the machine's, not the resolver's: {cached.refusal})\n"
            )
            cached = None
        if cached is not None:
            log.write("(resolution reused: the index has listed nothing new since it was made)\n")
            log.write(cached.lock or cached.refusal or "")
            elapsed = time.monotonic() - started
            if cached.lock is not None:
                return Resolution(python, found, lock=cached.lock, duration_s=elapsed)
            return Resolution(
                python,
                found,
                duration_s=elapsed,
                failure="uninstallable",
                reason=cached.refusal or "the resolver refused these pins",
            )
    resolve = compile_pins(
        requirements, found, options, log=log, deadline=deadline, echo=echo, prerelease=prerelease
    )
    failed = command_failure(resolve, options)
    if failed is not None:
        return Resolution(
            python,
            found,
            duration_s=resolve.duration_s,
            failure="error",
            reason=failed,
            timed_out=resolve.timed_out,
        )
    refused = build_refusal(cell, resolve.output) if resolve.returncode != 0 else None
    if refused is not None:  # an unreleased build that does not build: never cached
        return Resolution(
            python, found, duration_s=resolve.duration_s, failure="uninstallable", reason=refused
        )
    if resolve.returncode != 0 and not refused_by_resolver(resolve.output):
        # A full disk, an unreachable index: never a verdict, and never cached as one.
        return Resolution(
            python,
            found,
            duration_s=resolve.duration_s,
            failure="error",
            reason=environment_problem(resolver_message(resolve.output)),
        )
    if resolve.returncode != 0:
        reason = resolver_message(resolve.output)
        if cache is not None:
            cache.put(key, CachedResolution(refusal=reason))
        return Resolution(
            python, found, duration_s=resolve.duration_s, failure="uninstallable", reason=reason
        )
    if cache is not None:
        cache.put(key, CachedResolution(lock=resolve.output))
    return Resolution(python, found, lock=resolve.output, duration_s=resolve.duration_s)


def uv_compile(found: FoundPython, *options: str) -> list[str]:
    """``uv pip compile`` of requirements on stdin for this Python: the resolver's command."""
    return ["uv", "pip", "compile", "-", "--python", str(found.executable), "--quiet",
            "--no-header", *options]  # fmt: skip


def compile_pins(
    requirements: Sequence[str],
    found: FoundPython,
    options: RunOptions,
    *,
    log: IO[str],
    deadline: float,
    echo: IO[str] | None,
    constraints: Path | None = None,
    prerelease: Sequence[str] = (),
) -> Completed:
    """Resolve ``requirements`` for this Python with ``uv pip compile``, building nothing.

    The one resolver call of both suites; ``constraints`` (a lock) keeps every pin in it.
    """
    return run_logged(
        uv_compile(
            found,
            "--no-annotate",
            *prerelease,
            *(("--constraint", str(constraints)) if constraints is not None else ()),
            *exclude_newer_args(options),
            *refresh_args(options),
        ),
        log=log,
        timeout_s=time_left(deadline),
        env=uv_env(),
        echo=echo,
        reaper=options.reaper,
        stdin_text="\n".join(requirements) + "\n",
    )


def command_failure(
    done: Completed, options: RunOptions, *, what: str = "the resolver"
) -> str | None:
    """Why a command's exit says nothing about the stack (timed out, killed), or None."""
    if done.timed_out:
        return f"timed out after {options.timeout_s:.0f} s"
    if done.returncode is not None and done.returncode < 0:
        return f"{what} was killed (signal {-done.returncode})"
    return None


def site_packages(venv: Path) -> Path:
    """The environment's site-packages: pytest's rootdir, so node ids read flask_admin/..."""
    found = sorted((venv / "lib").glob("python3*/site-packages"))
    return found[0] if found else venv


def ensure_environment(
    venv: Path,
    found: FoundPython,
    lock: str,
    *,
    log: IO[str],
    deadline: float,
    env: Mapping[str, str],
    echo: IO[str] | None,
    reaper: Reaper | None,
    bytecode: BytecodeStore | None = None,
) -> str | None:
    """Make ``venv`` hold exactly ``lock``; the reason it could not, or None when it does.

    A new environment gets the bytecode ``bytecode`` already holds for its files.
    """
    key = hashlib.sha256(f"{found.executable}\n{found.version}\n{lock}".encode()).hexdigest()
    marker = venv / LOCK_MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8") == key:
        log.write(f"(reusing {venv}: it already holds these pins)\n")
        return None
    marker.unlink(missing_ok=True)
    made = run_logged(
        ["uv", "venv", "--clear", "--quiet", "--python", str(found.executable), str(venv)],
        log=log,
        timeout_s=time_left(deadline),
        env=env,
        echo=echo,
        reaper=reaper,
    )
    if made.returncode != 0:
        return _setup_failure(made, "could not create the environment")
    lock_file = venv / "requirements.lock"
    lock_file.write_text(lock, encoding="utf-8")
    # No --compile-bytecode: a cold cell is faster compiling lazily on the suite's imports
    # (measured on the 2-core machine, venv + sync + first pytest of the Flask-Admin 2.2.1 +
    # Flask-SQLAlchemy 3.1 cell, median of 3 alternated: 4.9 s CPU and 5.1 s wall lazily,
    # 7.5 s CPU and 5.7 s wall compiled at install, which compiles every module of the
    # environment where the suite imports about 40%). The .pyc files stay in the
    # environment, so later runs in it pay nothing, and the bytecode store hands them to
    # the next environment that installs the same files.
    sync = [
        "uv",
        "pip",
        "sync",
        "--quiet",
        "--python",
        str(venv / "bin" / "python"),
        str(lock_file),
    ]
    # Offline first: a lock names exact versions, and once they are in uv's cache nothing is
    # gained by asking the index about each again (measured on the 2-core machine, 18 pins:
    # 0.22 s wall and 0.21 s CPU offline, 0.46 s and 0.40 s online). A pin missing from the
    # cache makes uv refuse before installing anything, and the online call fetches it.
    synced = run_logged(
        [*sync, "--offline"],
        log=log,
        timeout_s=time_left(deadline),
        env=env,
        echo=echo,
        reaper=reaper,
    )
    if synced.returncode is not None and synced.returncode > 0:
        log.write("(not every pin is in uv's cache yet: installing from the index)\n")
        synced = run_logged(
            sync, log=log, timeout_s=time_left(deadline), env=env, echo=echo, reaper=reaper
        )
    if synced.returncode != 0:
        return _setup_failure(synced, "installing the pins failed")
    if bytecode is not None:
        seeded = bytecode.seed(site_packages(venv), cache_tag=cache_tag(found))
        log.write(f"(bytecode of {seeded.linked} modules linked from {bytecode.folder})\n")
    marker.write_text(key, encoding="utf-8")
    return None


def cache_tag(found: FoundPython) -> str:
    """The interpreter's ``sys.implementation.cache_tag``: the matrix runs CPython."""
    major, minor = found.version.split(".")[:2]
    return f"cpython-{major}{minor}"


def _setup_failure(done: Completed, what: str) -> str:
    return "timed out" if done.timed_out else f"{what}: {tail(done.output)}"


def keep_bytecode(venv: Path, options: RunOptions) -> None:
    """Give the store the bytecode this run's imports compiled, for the next new environment."""
    stopping = options.reaper is not None and options.reaper.stopping
    if options.bytecode is not None and not stopping:  # an interrupt: be gone at once
        options.bytecode.keep(site_packages(venv))


def bytecode_allowed(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for pytest in a cell, with Python free to cache bytecode.

    uv installs without compiling, so a shell that sets PYTHONDONTWRITEBYTECODE makes every
    pytest run in a cell compile the whole stack again (measured: importing Flask-Admin's
    stack took 1.3 s instead of 0.35 s). The cell's environment is the harness's own.
    """
    return {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}


def installed_versions(venv: Path, *, log: IO[str]) -> dict[str, str]:
    """Every distribution in the cell's environment, read from its own metadata.

    Read in this process, as ``uv pip list`` would read it, by name as pip spells it
    (``typing-extensions``): a subprocess cost the cell 0.1 s for 20 small files.
    """
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions(path=[str(site_packages(venv))]):
        try:
            name, version = dist.metadata["Name"], dist.version
        except (OSError, TypeError, ValueError):  # a .dist-info without its METADATA
            continue
        if name and version:
            found[canonicalize_name(name)] = version
    if not found:
        log.write(f"(could not list the installed packages: no metadata in {venv})\n")
    return dict(sorted(found.items()))


def uv_env() -> dict[str, str]:
    # A missing Python is reported, never downloaded behind the user's back.
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}


def prerelease_args(cell: Cell) -> tuple[str, ...]:
    """No pre-release unless the cell pins one by name.

    Left to itself uv takes a pre-release when no final release fits: on Python 3.10,
    ``sqlalchemy==2.1.*`` resolved to 2.1.0b3 (every 2.1 final needs 3.11), so the cell
    would be labelled 2.1 while testing a beta. Refused instead, the cell is
    ``uninstallable`` with the resolver's reason. ``explicit`` still admits a pinned
    ``2.3.0rc1`` (from ``each = "patch"`` with ``pre = true``).
    """
    pinned_pre = any(
        spec.kind == "exact" and Version(spec.text).is_prerelease for _, spec in cell.packages
    )
    return ("--prerelease", "explicit" if pinned_pre else "disallow")


def refresh_args(options: RunOptions) -> list[str]:
    """uv asks the index again for each package whose release list changed.

    uv answers from its own HTTP cache while that says a page is fresh: after 2.2.1 was
    yanked, the series 2.2.* still resolved to 2.2.1 until the cache expired.
    """
    return [arg for name in options.refresh_packages for arg in ("--refresh-package", name)]


def exclude_newer_args(options: RunOptions) -> list[str]:
    return ["--exclude-newer", options.exclude_newer] if options.exclude_newer else []


def resolver_message(output: str) -> str:
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


_BUILD_FAILED = ("Failed to build `", "Failed to download and build `")


def build_refusal(cell: Cell, output: str) -> str | None:
    """The builder's own words when one of the cell's unreleased builds would not build.

    That is the stack's fault (the cell is ``uninstallable``), not the harness's, whether uv
    meets it resolving (a build whose metadata must be built) or installing (uv resolves one
    whose metadata is static without building it). None when the problem is anything else,
    or when what failed under the build was the machine (a clone that could not fetch).
    """
    found = [output.index(head) for head in _BUILD_FAILED if head in output]
    if not cell.builds or not found:
        return None
    said = output[min(found) :].splitlines()
    kept = [ln.strip() for ln in said if ln.strip() and not ln.lstrip().startswith("hint:")]
    if any(sign in line for line in kept[1:] for sign in ENVIRONMENT_SIGNS):
        return None
    return "\n".join(kept[:20])
