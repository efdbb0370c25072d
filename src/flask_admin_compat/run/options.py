"""What every cell of one run shares: folders, timeout, fingerprints, the server, the reaper."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotation: options must not import the server code
    from flask_admin_compat.run.postgres import Server
    from flask_admin_compat.run.upstream_plan import UpstreamDeps

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import SCOPING
from flask_admin_compat.results.model import CellResult
from flask_admin_compat.run.locks import LockCache
from flask_admin_compat.run.process import Reaper


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
