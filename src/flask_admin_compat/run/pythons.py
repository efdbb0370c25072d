"""Find a Python interpreter for a version named in the matrix; download one only when asked.

The search follows what nox and uv do (``pythonX.Y`` on PATH, ``uv python find``) and adds
where pyenv keeps its versions: on machines with one global pyenv version, ``python3.12`` on
PATH is a shim that fails, while ``~/.pyenv/versions/3.12.*/bin/python`` works. Every
candidate is run once to confirm its version, so a broken shim is never chosen.

Downloading follows nox's ``--download-python``: ``never`` (the harness's default: a missing
Python is reported, never fetched behind the user's back), ``auto`` (fetch one with
``uv python install`` when none is found) and ``always`` (use a uv-managed one, fetching it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from packaging.version import InvalidVersion, Version

DownloadPython = Literal["auto", "never", "always"]
DOWNLOAD_MODES: tuple[DownloadPython, ...] = ("auto", "never", "always")
DOWNLOAD_TIMEOUT_S = 600
_VERSION_SCRIPT = "import sys; print('.'.join(map(str, sys.version_info[:3])))"
PROBE_TIMEOUT_S = 20


@dataclass(frozen=True)
class FoundPython:
    executable: Path
    version: str


@dataclass(frozen=True)
class PythonNotFound:
    requested: str
    tried: tuple[str, ...]
    download: DownloadPython = "never"
    download_failure: str = ""  # uv's own words when a download was tried and failed

    @property
    def message(self) -> str:
        tried = f"Python {self.requested} not found (tried {', '.join(self.tried) or 'nothing'})"
        if self.download != "never":
            why = self.download_failure or "it did not say why"
            return (
                f"{tried}; uv could not download it (--download-python {self.download}): {why}; "
                f"install it, e.g. `pyenv install {self.requested}`, or drop it from matrix.toml"
            )
        return (
            f"{tried}; install it, e.g. `uv python install {self.requested}` or "
            f"`pyenv install {self.requested}`, let uv fetch it with `--download-python auto`, "
            "or drop it from matrix.toml"
        )


def provide_python(
    requested: str, *, download: DownloadPython = "never", env: Mapping[str, str] | None = None
) -> FoundPython | PythonNotFound:
    """An interpreter for ``requested``, downloaded by uv only as ``download`` allows."""
    env = os.environ if env is None else env
    tried: tuple[str, ...] = ()
    if download != "always":
        found = find_python(requested, env=env)
        if isinstance(found, FoundPython) or download == "never":
            return found
        tried = found.tried
    failure = _uv_python_install(requested, env)
    managed = _uv_python_find(requested, env, managed=True)
    if failure is None and managed is not None:
        version = probe_version(managed)
        if version is not None and _matches(version, requested):
            return FoundPython(managed, version)
        failure = f"{managed} does not run as Python {requested}"
    return PythonNotFound(requested, tried, download, failure or "no managed Python after install")


def _uv_python_install(requested: str, env: Mapping[str, str]) -> str | None:
    """Let uv fetch ``requested``; the last lines of what it said when it could not."""
    uv = shutil.which("uv", path=env.get("PATH"))
    if uv is None:
        return "uv is not on PATH"
    try:
        done = subprocess.run(
            # --no-bin, as nox does (UV_PYTHON_INSTALL_BIN=0): nothing lands in ~/.local/bin.
            [uv, "python", "install", "--no-bin", requested],
            capture_output=True,
            text=True,
            timeout=DOWNLOAD_TIMEOUT_S,
            env={**env, "UV_PYTHON_DOWNLOADS": "automatic", "UV_NO_PROGRESS": "1"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"uv python install did not finish: {exc}"
    if done.returncode == 0:
        return None
    lines = [ln.strip() for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
    return " ".join(lines[-3:]) or f"uv python install exited {done.returncode}"


def find_python(
    requested: str, *, env: Mapping[str, str] | None = None
) -> FoundPython | PythonNotFound:
    """The first working interpreter whose version matches ``requested`` (``3.12``)."""
    env = os.environ if env is None else env
    tried: list[str] = []
    for candidate in _candidates(requested, env):
        tried.append(str(candidate))
        version = probe_version(candidate)
        if version is not None and _matches(version, requested):
            return FoundPython(candidate, version)
    return PythonNotFound(requested, tuple(dict.fromkeys(tried)))


def probe_version(executable: Path) -> str | None:
    """The interpreter's own ``X.Y.Z``, or None when it does not run (a pyenv shim, say)."""
    try:
        done = subprocess.run(
            [str(executable), "-c", _VERSION_SCRIPT],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _matches(version: str, requested: str) -> bool:
    try:
        found, wanted = Version(version), Version(requested)
    except InvalidVersion:
        return False
    return found.release[: len(wanted.release)] == wanted.release


def _candidates(requested: str, env: Mapping[str, str]) -> Iterator[Path]:
    minor = ".".join(requested.split(".")[:2])
    pyenv_root = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv")
    versions = pyenv_root / "versions"
    if versions.is_dir():
        # Newest patch first: 3.12.10 before 3.12.9, which a plain sort would not do.
        found = sorted(
            versions.glob(f"{requested}*/bin/python{minor}"), key=_patch_key, reverse=True
        )
        yield from (p for p in found if _same_series(p.parent.parent.name, requested))
    on_path = shutil.which(f"python{minor}", path=env.get("PATH"))
    if on_path:
        yield Path(on_path)
    uv_found = _uv_python_find(requested, env)
    if uv_found:
        yield uv_found


def _same_series(folder: str, requested: str) -> bool:
    """``3.12.1`` is in series ``3.12``, ``3.120.0`` is not; ``3.12.1t`` (free-threaded) neither."""
    try:
        return _matches(str(Version(folder)), requested) and Version(folder).base_version == folder
    except InvalidVersion:
        return False


def _patch_key(path: Path) -> tuple[int, ...]:
    try:
        return Version(path.parent.parent.name).release
    except InvalidVersion:
        return ()


def _uv_python_find(
    requested: str, env: Mapping[str, str], *, managed: bool = False
) -> Path | None:
    uv = shutil.which("uv", path=env.get("PATH"))
    if uv is None:
        return None
    try:
        done = subprocess.run(
            [uv, "python", "find", *(["--managed-python"] if managed else []), requested],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            env={**env, "UV_PYTHON_DOWNLOADS": "never"},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = done.stdout.strip()
    return Path(path) if done.returncode == 0 and path else None
