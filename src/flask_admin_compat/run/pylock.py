"""``pylock.toml`` (PEP 751) beside each cell's result: its installed set, rebuildable with uv.

The cell's environment is installed from a ``uv pip compile`` lock of exact pins; the same pins
compiled once more as ``--format pylock.toml`` add what a standard lock holds (each package's
files, sizes and hashes), so that anyone can rebuild the cell: ``uv pip sync pylock.toml``.
It is asked offline first (the resolution that just ran left everything in uv's cache: about
half a second, measured on the 2-core machine, against 1.4 s asking the index), and of the
index only if the cache cannot answer. A lock that cannot be written costs a line in the log,
never the cell's verdict.
"""

from __future__ import annotations

import re
import tempfile
import tomllib
from pathlib import Path
from typing import IO

from packaging.utils import canonicalize_name

from flask_admin_compat.jsonio import copy_file_atomic
from flask_admin_compat.run.env import uv_compile
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.process import run_logged, time_left
from flask_admin_compat.run.pythons import FoundPython

PYLOCK_FILE = "pylock.toml"
#: Enough for a compile of exact pins; the cell's own deadline cuts it shorter if need be.
_TIMEOUT_S = 120.0


def write_pylock(
    cell_dir: Path,
    lock: str,
    found: FoundPython,
    options: RunOptions,
    *,
    log: IO[str],
    env: dict[str, str],
    deadline: float,
) -> Path | None:
    """Write ``cell_dir/pylock.toml`` for the exact pins in ``lock``; None if it could not be.

    One already there that locks exactly these pins is kept as it is: a rerun whose resolution
    was reused asks no resolver at all, this one included.
    """
    target = cell_dir / PYLOCK_FILE
    if _locked(target) == pins(lock):
        return target
    with tempfile.TemporaryDirectory(prefix="pylock-") as folder:
        # uv insists the file be named pylock.toml; written beside, then moved in atomically.
        staged = Path(folder) / PYLOCK_FILE
        for mode in (("--offline",), ()):
            done = run_logged(
                uv_compile(found, "--format", PYLOCK_FILE, *mode, "-o", str(staged)),
                log=log,
                timeout_s=min(_TIMEOUT_S, time_left(deadline)),
                env=env,
                reaper=options.reaper,
                stdin_text=lock,
            )
            if done.returncode == 0 and staged.is_file():
                copy_file_atomic(staged, target)
                return target
            if done.timed_out:
                break
    log.write(f"(no {PYLOCK_FILE} written: uv could not compile the pins again)\n")
    return None


_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def pins(lock: str) -> dict[str, str]:
    """``name==version`` lines of a requirements lock, names normalised (PEP 503)."""
    found = (_PIN.match(line.strip()) for line in lock.splitlines())
    return {canonicalize_name(m.group(1)): m.group(2) for m in found if m}


def _locked(path: Path) -> dict[str, str] | None:
    """What an existing pylock.toml pins, or None where there is none that can be read."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return {canonicalize_name(p["name"]): str(p["version"]) for p in data["packages"]}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError):
        return None
