"""What a cell folder may bring into the grid: its own files, read through no link, capped.

In CI, cell folders come from shard artifacts: whatever a shard uploaded is merged, and
grid.html is published. So the merge reads no file through a symbolic link (a ``log.txt``
that points at ``/etc/passwd``, a cell folder that is a link elsewhere), nothing outside the
cell's own folder (a ``log`` field naming ``../../x`` or ``/etc/passwd``), no result file
larger than a result can honestly be, and no message longer than a person reads; each refusal
is one line naming the file, and each cut says so in the text it cuts.
"""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path, PurePosixPath

from flask_admin_compat.results.model import CellResult

#: A result of the default matrix's cells is at most a few tens of KB (28 outcomes, and the
#: first lines of each upstream failure); a file far beyond that is not a result to merge,
#: and parsing it whole is what made the merge peak at 474 MB for a 50 MB one.
MAX_RESULT_BYTES = 2 * 1024 * 1024
#: A check's message, a verdict's reason, an upstream failure: the first lines are what
#: tells one failure from another; the rest is in the cell's log.
MAX_MESSAGE_CHARS = 2000
LINK_REFUSED = "a symbolic link: refused (the merge reads no file through a link)"


def folder_refusal(folder: Path, result_file: Path) -> str | None:
    """Why a cell folder, or its result file, cannot be read into the grid (None: it can)."""
    if folder.is_symlink():
        return f"the cell folder is {LINK_REFUSED}"
    try:
        found = result_file.lstat()
    except OSError:
        return None  # no result: the reader says so in its own words
    if stat.S_ISLNK(found.st_mode):
        return f"{result_file.name} is {LINK_REFUSED}"
    if found.st_size > MAX_RESULT_BYTES:
        return (
            f"{result_file.name} is {found.st_size:,} bytes, more than the "
            f"{MAX_RESULT_BYTES:,} a result may be: refused"
        )
    return None


def cell_log(folder: Path, name: str) -> tuple[Path | None, str | None]:
    """The cell's log inside its own folder, or why its ``log`` field is refused.

    The name is relative to the folder, goes nowhere above it, and neither the log nor any
    folder on the way to it is a symbolic link.
    """
    where = f"reports/cells/{folder.name}/"
    written = PurePosixPath(name)
    if not name or written.is_absolute() or ".." in written.parts or "\\" in name:
        return None, f"its log {name!r} is outside {where}: refused"
    path = folder / written
    for step in (*reversed(path.relative_to(folder).parents[:-1]), path.relative_to(folder)):
        if (folder / step).is_symlink():
            return None, f"its log {step.as_posix()} is {LINK_REFUSED}"
    return path, None


def open_no_link(path: Path) -> int:
    """A read-only descriptor of ``path``; an OSError if it is a symbolic link (O_NOFOLLOW).

    Checked again at the open, so that a link put in place after the check is not followed.
    """
    return os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)


def capped(result: CellResult) -> tuple[CellResult, int]:
    """The result with every message cut to :data:`MAX_MESSAGE_CHARS`; how many were cut."""
    count = 0

    def cut(text: str) -> str:
        nonlocal count
        if len(text) <= MAX_MESSAGE_CHARS:
            return text
        count += 1
        more = len(text) - MAX_MESSAGE_CHARS
        return f"{text[:MAX_MESSAGE_CHARS]}… [cut: {more:,} more characters, see the log]"

    checks = tuple(replace(c, message=cut(c.message)) for c in result.checks)
    upstream = result.upstream
    if upstream is not None:
        failures = tuple(replace(f, message=cut(f.message)) for f in upstream.failures)
        upstream = replace(upstream, reason=cut(upstream.reason), failures=failures)
    kept = replace(result, reason=cut(result.reason), checks=checks, upstream=upstream)
    return (kept, count) if count else (result, 0)
