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

import tempfile
from pathlib import Path
from typing import IO

from flask_admin_compat.jsonio import copy_file_atomic
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
    """Write ``cell_dir/pylock.toml`` for the exact pins in ``lock``; None if it could not be."""
    with tempfile.TemporaryDirectory(prefix="pylock-") as folder:
        # uv insists the file be named pylock.toml; written beside, then moved in atomically.
        staged = Path(folder) / PYLOCK_FILE
        for mode in (("--offline",), ()):
            done = run_logged(
                ["uv", "pip", "compile", "-", "--python", str(found.executable), "--quiet",
                 "--no-header", "--format", "pylock.toml", *mode, "-o", str(staged)],
                log=log, timeout_s=min(_TIMEOUT_S, time_left(deadline)), env=env,
                reaper=options.reaper,
                stdin_text=lock,
            )  # fmt: skip
            if done.returncode == 0 and staged.is_file():
                copy_file_atomic(staged, cell_dir / PYLOCK_FILE)
                return cell_dir / PYLOCK_FILE
            if done.timed_out:
                break
    log.write(f"(no {PYLOCK_FILE} written: uv could not compile the pins again)\n")
    return None
