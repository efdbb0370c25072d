"""Find a Python interpreter for a version named in the matrix, without downloading one.

The search follows what nox and uv do (``pythonX.Y`` on PATH, ``uv python find``) and adds
where pyenv keeps its versions: on machines with one global pyenv version, ``python3.12`` on
PATH is a shim that fails, while ``~/.pyenv/versions/3.12.*/bin/python`` works. Every
candidate is run once to confirm its version, so a broken shim is never chosen.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

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

    @property
    def message(self) -> str:
        return (
            f"Python {self.requested} not found (tried {', '.join(self.tried) or 'nothing'}); "
            f"install it, e.g. `uv python install {self.requested}` or "
            f"`pyenv install {self.requested}`, or drop it from matrix.toml"
        )


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


def _uv_python_find(requested: str, env: Mapping[str, str]) -> Path | None:
    uv = shutil.which("uv", path=env.get("PATH"))
    if uv is None:
        return None
    try:
        done = subprocess.run(
            [uv, "python", "find", requested],
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
