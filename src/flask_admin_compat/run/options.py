"""What every cell of one run shares: folders, timeout, fingerprints, the server, the reaper."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotation: options must not import the server code
    from flask_admin_compat.run.postgres import Server
    from flask_admin_compat.run.upstream_plan import UpstreamDeps

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import SCOPING
from flask_admin_compat.results.model import CellResult
from flask_admin_compat.run.bytecode import BytecodeStore
from flask_admin_compat.run.locks import LockCache
from flask_admin_compat.run.process import Reaper
from flask_admin_compat.run.pythons import DownloadPython

#: The engine of checks the scoping suite runs, below the checkout's root: part of the
#: suite's content (tests/scoping/pytest.ini puts ``src`` on the cell's path).
ENGINE_DIR = Path("src", "flask_admin_compat", "checks")


@dataclass(frozen=True)
class RunOptions:
    """Where things live and how a cell runs; the same for every cell of one run."""

    repo_root: Path
    cells_dir: Path
    venvs_dir: Path
    timeout_s: float
    fingerprint_of: Mapping[str, str] = field(default_factory=dict)  # cell id -> fingerprint
    exclude_newer: str | None = None
    pytest_args: tuple[str, ...] = ()  # for the scoping suite only
    suite: str = SCOPING
    reaper: Reaper | None = field(default=None, compare=False)
    upstream_fingerprint_of: Mapping[str, str] = field(default_factory=dict)
    upstream_deps: UpstreamDeps | None = None  # None: the packaged upstream-deps.toml
    database_url: str | None = None  # a PostgreSQL server for upstream's PostgreSQL-only tests
    # The server PostgreSQL cells run against, or why there is none (they are errors then).
    postgres: Server | None = None
    postgres_missing: str = "no PostgreSQL server"
    lock_cache: LockCache | None = None  # None: resolve every time
    # Packages whose release list changed at the last look at the index: uv is told to ask
    # for them again (--refresh-package) rather than answer from its own HTTP cache.
    refresh_packages: tuple[str, ...] = ()
    bytecode: BytecodeStore | None = None  # None: every fresh environment compiles its own
    # Flask-Admin's compiled templates, shared by every cell's suite (None: each environment
    # keeps its own, as when the suite runs by hand).
    templates_dir: Path | None = None
    download_python: DownloadPython = "never"  # nox's --download-python: auto, never, always
    # Each cell's result in the grid being replaced, for a cell whose folder has none (a fresh
    # clone): the suite a run does not repeat keeps its outcome from there, as from the folder.
    carried: Mapping[str, CellResult] = field(default_factory=dict)

    @property
    def suite_dir(self) -> Path:
        return self.repo_root / "tests" / self.suite


class CellInterrupted(Exception):
    """The run was interrupted while (or before) this cell ran; it has no result."""


def stop_if_interrupted(cell: Cell, options: RunOptions) -> None:
    if options.reaper is not None and options.reaper.stopping:
        raise CellInterrupted(cell.id)


@contextmanager
def cell_log(cell: Cell, options: RunOptions, path: Path) -> Iterator[IO[str]]:
    """A log written as ``.<name>.partial`` and renamed to ``path`` once its suite is done.

    When the run was interrupted meanwhile, its commands were killed by the interrupt, not by
    the stack: nothing written is a result, the partial log goes, the cell's previous result
    (if any) stays as it was, and :class:`CellInterrupted` says so.
    """
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as log:
            yield log
    finally:
        # Whatever the cell raised on its way out of an interrupt, its log is no result.
        if options.reaper is not None and options.reaper.stopping:
            partial.unlink(missing_ok=True)
    if options.reaper is not None and options.reaper.stopping:
        raise CellInterrupted(cell.id)
    partial.replace(path)
