"""Bytecode compiled once per source file, shared by every environment that installs it.

uv installs a cell's packages as hard links into its cache, so Flask 3.1.2's ``app.py`` is one
file (one inode) in every environment that holds Flask 3.1.2. Python compiles it again in
each fresh environment all the same, because its ``.pyc`` lives in that environment's own
``__pycache__``: about 2.5 s of CPU on a cell's first pytest run (measured on the 2-core
machine, Flask-Admin 2.2.1 + Flask-SQLAlchemy 3.1: 6.8 s CPU the first run, 4.3 s after),
paid by every cell of a matrix and again whenever a new release changes a cell's pins.

The store keeps each ``.pyc`` the suite's imports wrote, under the identity of its source
file (device, inode, modification time in ns, size), and links it into the next fresh
environment whose source file is that very file. Nothing here can make Python run bytecode
it would not run from its own ``__pycache__``: it still checks each ``.pyc``'s header against
its source and recompiles on a mismatch (writing a new file, never through the link), and
the store takes in only a ``.pyc`` whose header matches its source when it is taken.

Each entry carries the checksum of its content in its name (``<identity>.<sha256>.pyc``),
checked before it is linked: Python checks only a ``.pyc``'s header, so one truncated entry
(``EOFError: marshal data too short``) would otherwise poison every environment it is linked
into. A damaged entry is dropped, never served, and the import compiles the source again.

Sources that are not shared (one link: copied, not linked, from uv's cache) are skipped: no
other environment could ever find them. The folder can be deleted at any time; it only saves
work.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

PYCACHE = "__pycache__"
#: magic (4) + flags (4) + source mtime (4) + source size (4): importlib's own header.
_HEADER = 16


@dataclass(frozen=True)
class Linked:
    """What one pass over an environment did."""

    linked: int = 0  # .pyc files linked into an environment from the store
    kept: int = 0  # .pyc files taken into the store from an environment
    dropped: int = 0  # damaged entries (content not matching their checksum) removed


@dataclass(frozen=True)
class BytecodeStore:
    """A folder of ``.pyc`` files named by the identity of the source each was compiled from."""

    folder: Path

    def seed(self, site_packages: Path, *, cache_tag: str) -> Linked:
        """Link every stored ``.pyc`` whose source is in ``site_packages`` into its place.

        Called on an environment just made, for its interpreter's ``cache_tag``
        (``cpython-312``): a pure-Python wheel's sources are shared by every Python, their
        bytecode is not. A ``.pyc`` already there is left alone.
        """
        folder = self.folder / cache_tag
        if not folder.is_dir():
            return Linked()
        stored = {entry.name.split(".")[0]: entry for entry in folder.iterdir()}
        linked = dropped = 0
        for source in _sources(site_packages):
            entry = stored.get(_identity(source))
            if entry is None:
                continue
            if not intact(entry):
                entry.unlink(missing_ok=True)
                dropped += 1
                continue
            target = source.parent / PYCACHE / f"{source.stem}.{cache_tag}.pyc"
            try:
                target.parent.mkdir(exist_ok=True)
                target.hardlink_to(entry)
            except OSError:  # one already there, or a filesystem without links: compile it
                continue
            linked += 1
        return Linked(linked=linked, dropped=dropped)

    def drop_damaged(self, site_packages: Path) -> tuple[str, ...]:
        """Remove every store entry linked into ``site_packages`` whose content is damaged.

        Both names go (the entry and its link in the environment), so that neither this
        environment nor the next is served it; returns the environment's paths dropped.
        """
        entries: dict[tuple[int, int], Path] = {}
        for folder in self.folder.glob("cpython-*"):
            for entry in folder.iterdir():
                try:
                    stat = entry.stat()
                except OSError:
                    continue
                entries[(stat.st_dev, stat.st_ino)] = entry
        dropped: list[str] = []
        for pyc in site_packages.rglob(f"{PYCACHE}/*.pyc"):
            try:
                stat = pyc.stat()
            except OSError:
                continue
            linked = entries.get((stat.st_dev, stat.st_ino))
            if stat.st_nlink > 1 and linked is not None and not intact(linked):
                linked.unlink(missing_ok=True)
                pyc.unlink(missing_ok=True)
                dropped.append(str(pyc.relative_to(site_packages)))
        return tuple(dropped)

    def keep(self, site_packages: Path) -> Linked:
        """Take in every ``.pyc`` of ``site_packages`` the store lacks (those Python just wrote)."""
        kept = 0
        known: dict[str, set[str]] = {}  # cache tag -> identities the store has an entry for
        for pyc in site_packages.rglob(f"{PYCACHE}/*.pyc"):
            parts = pyc.name.split(".")
            if len(parts) != 3:  # mod.cpython-312.opt-1.pyc: from -O, never what seed links
                continue
            stem, cache_tag, _ = parts
            try:
                if pyc.stat().st_nlink > 1:  # linked from the store (or already in it)
                    continue
                source = pyc.parent.parent / f"{stem}.py"
                stat = source.stat()
            except OSError:  # no source beside it
                continue
            if stat.st_nlink < 2 or not _matches(pyc, stat):
                continue
            folder = self.folder / cache_tag
            if cache_tag not in known:
                found = folder.iterdir() if folder.is_dir() else ()
                known[cache_tag] = {entry.name.split(".")[0] for entry in found}
            identity = _identity_of(stat)
            if identity in known[cache_tag]:
                continue
            try:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{identity}.{_checksum(pyc)}.pyc").hardlink_to(pyc)
            except OSError:  # another cell kept the same one first, or no links here
                continue
            known[cache_tag].add(identity)
            kept += 1
        return Linked(kept=kept)


def intact(entry: Path) -> bool:
    """Whether a store entry's content still has the checksum its name gives.

    An entry of the store's first layout (``<identity>.pyc``, no checksum) cannot be
    trusted, so it counts as damaged and goes.
    """
    parts = entry.name.split(".")
    try:
        return len(parts) == 3 and _checksum(entry) == parts[1]
    except OSError:
        return False


def _checksum(pyc: Path) -> str:
    return hashlib.sha256(pyc.read_bytes()).hexdigest()[:32]


def _sources(site_packages: Path) -> list[Path]:
    """Every ``.py`` under ``site_packages`` (uv's links and copies alike; a copy finds none)."""
    return [
        Path(folder, file)
        for folder, _, files in os.walk(site_packages)
        for file in files
        if file.endswith(".py")
    ]


def _identity(source: Path) -> str:
    try:
        return _identity_of(source.stat())
    except OSError:
        return ""


def _identity_of(stat: os.stat_result) -> str:
    return f"{stat.st_dev}-{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"


def _matches(pyc: Path, source: os.stat_result) -> bool:
    """Whether the ``.pyc``'s header names this source, as importlib checks it on import."""
    try:
        with pyc.open("rb") as file:
            header = file.read(_HEADER)
    except OSError:
        return False
    if len(header) < _HEADER or int.from_bytes(header[4:8], "little") != 0:
        return False  # hash-based or truncated: not what an import writes by default
    mtime = int.from_bytes(header[8:12], "little")
    size = int.from_bytes(header[12:16], "little")
    return mtime == int(source.st_mtime) & 0xFFFFFFFF and size == source.st_size & 0xFFFFFFFF
