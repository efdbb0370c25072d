#!/usr/bin/env -S uv run --script
# /// script
# dependencies = ["nox>=2026.8.10", "jsonschema>=4.20"]
# ///
"""flask-admin-compat: one session per matrix cell, and `matrix` to run them all in parallel."""

# Listing (`nox -l`) reads matrix.toml and works offline. Running goes through the harness's
# own environment (`uv sync`); each cell then gets an environment of its own, made by the
# harness with uv, so nox's per-session virtualenvs are not used (venv_backend="none").

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
# Another matrix file can be named for a run (the harness's end-to-end test does).
MATRIX = Path(os.environ.get("FLASK_ADMIN_COMPAT_MATRIX", ROOT / "matrix.toml"))
# The harness is imported from the source tree so that `nox -l` works with nox alone.
sys.path.insert(0, str(ROOT / "src"))

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import MatrixError, load_matrix
from flask_admin_compat.matrix.series import list_cells, series_cache_for

nox.needs_version = ">=2026.8.10"
nox.options.sessions = ["matrix"]
nox.options.default_venv_backend = "uv|virtualenv"

# Everything runs in the harness's own environment, synced once by install_harness().
UV_RUN = ("uv", "run", "--no-sync", "--project", str(ROOT))
HARNESS = (*UV_RUN, "flask-admin-compat")
WHERE = ("--project", str(ROOT), "--matrix", str(MATRIX))
REPORTS = ROOT / "reports"
EXIT_BAD_INPUT = 2  # exitcodes.USAGE: the noxfile runs with nox alone, so it cannot import it
# How long nox waits, once interrupted, for the harness to end its cells and release its lock
# (nox's own default is 0.3 s, then SIGTERM, then SIGKILL 0.2 s later).
HARNESS_STOP_S = 120.0


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc; elsewhere, none are found)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.append(int(stat.parent.name))
    return found


def end_runs_on_sigterm() -> None:
    """SIGTERM to nox (or to the `uv run` above it, which passes it on) ends a run as Ctrl-C does.

    Left to its default, SIGTERM killed nox alone: the harness went on with no parent,
    started new cells and held the run lock. Ctrl-C reaches the harness because a terminal
    signals the whole process group; SIGTERM is sent to nox's children here (`uv run`
    passes it on to the harness, which stops its cells, keeps the finished ones and releases
    its lock), and nox is interrupted as by Ctrl-C, waiting for them to end.
    """

    def interrupt(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: a second would cut the wait short
        for child in children(os.getpid()):
            try:
                os.kill(child, signal.SIGTERM)
            except OSError:
                pass
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def run_harness(session: nox.Session, *args: str) -> None:
    """The harness in its own environment, given time to stop its cells when interrupted."""
    session.run(*args, external=True, interrupt_timeout=HARNESS_STOP_S)


def install_harness(session: nox.Session) -> None:
    """Sync the harness's own environment; `nox -R` skips it."""
    session.run_install(
        "uv", "sync", "--project", str(ROOT), "--inexact", "--no-default-groups",
        # The runner extra (nox, uv, jsonschema, pip) is no longer in the core install.
        "--group", "runner", "--quiet",
        external=True,
    )  # fmt: skip


def download_python(session: nox.Session) -> tuple[str, ...]:
    """nox's own `--download-python`, passed on to the harness only when it was given.

    nox defaults to `auto`; the harness to `never` (a missing Python is reported, never fetched
    unasked), so nox's default is not passed on. nox has no public accessor for its options.
    """
    config = getattr(getattr(session, "_runner", None), "global_config", None)
    chosen = getattr(config, "download_python", None)
    return ("--download-python", chosen) if chosen in ("auto", "never", "always") else ()


@nox.session(venv_backend="none")
def matrix(session: nox.Session) -> None:
    """Run every cell in parallel (posargs: -k EXPR, --jobs N, --force, -- pytest args)."""
    install_harness(session)
    run_harness(session, *HARNESS, "run", *WHERE, *download_python(session), *session.posargs)


@nox.session(venv_backend="none", default=False)
def report(session: nox.Session) -> None:
    """Merge reports/cells/*/result.json into reports/grid.{json,md,html} (posargs: merge options)."""
    install_harness(session)
    run_harness(session, *HARNESS, "merge", "--matrix", str(MATRIX), "--cells",
                str(REPORTS / "cells"), "--out", str(REPORTS), *session.posargs)  # fmt: skip


@nox.session(venv_backend="none", default=False)
def advise(session: nox.Session) -> None:
    """Is PKG==VERSION safe for your stack? (posargs: PKG==VER ... --pins FILE | --python PATH)."""
    install_harness(session)
    session.run(*HARNESS, "advise", "--grid", str(REPORTS / "grid.json"), *session.posargs,
                external=True)  # fmt: skip


@nox.session(venv_backend="none", default=False)
def compare(session: nox.Session) -> None:
    """Cells with the release and with a build, side by side (posargs: --with PKG=PATH|git+URL@REF -k EXPR)."""
    install_harness(session)
    session.run(*HARNESS, "compare", *WHERE, *download_python(session), *session.posargs,
                external=True)  # fmt: skip


@nox.session(venv_backend="none", default=False)
def bench(session: nox.Session) -> None:
    """Time the matrix against venv + pip + pytest by hand; writes reports/bench.json."""
    install_harness(session)
    session.run(*UV_RUN, "python", str(ROOT / "tools" / "bench.py"), "--matrix", str(MATRIX), "--project", str(ROOT),
                "--out", str(REPORTS / "bench.json"), *session.posargs, external=True)  # fmt: skip


@nox.session(venv_backend="none", default=False)
def tests(session: nox.Session) -> None:
    """The harness's own tests, the fast ones (posargs go to pytest: `-- -m e2e` for the slow)."""
    session.run_install("uv", "sync", "--project", str(ROOT), "--inexact", "--group", "test",
                        "--quiet", external=True)  # fmt: skip
    markers = (
        () if any(a == "-m" or a.startswith("-m") for a in session.posargs) else ("-m", "not e2e")
    )
    session.run(*UV_RUN, "pytest", *markers, *session.posargs, external=True)


@nox.session(venv_backend="none", default=False)
def lint(session: nox.Session) -> None:
    """ruff (rules and format) over everything, mypy --strict over the harness."""
    session.run_install("uv", "sync", "--project", str(ROOT), "--inexact", "--group", "lint",
                        "--quiet", external=True)  # fmt: skip
    session.run(*UV_RUN, "ruff", "check", str(ROOT), external=True)
    session.run(*UV_RUN, "ruff", "format", "--check", str(ROOT), external=True)
    session.run(*UV_RUN, "mypy", external=True)


def cell_session(cell: Cell) -> None:
    """Register the nox session that runs this one cell; posargs go to pytest."""

    def run_one(session: nox.Session) -> None:
        install_harness(session)
        run_harness(
            session, *HARNESS, "run", *WHERE, "--cell", cell.id, "--echo", "--force",
            *download_python(session), "--", *session.posargs,
        )  # fmt: skip

    run_one.__doc__ = cell.description
    # Named by the bare cell id (not `cell(id)` as nox.parametrize would), so that
    # `nox -s py312-flask31-admin22-sqla20-fsa31` runs it; default=False keeps a bare `nox`
    # to the one `matrix` session rather than 180 sessions one after another.
    nox.session(run_one, name=cell.id, venv_backend="none", tags=list(cell.tags), default=False)


def register_cells(path: Path) -> None:
    """One session per cell of the matrix; a bad matrix is its one line and exit status 2.

    Raised at import, a MatrixError would reach the person as nox's 30-line traceback of
    the noxfile's loading before the one line that says what is wrong. SystemExit is not
    caught by nox's loader, so the status reaches the shell as it is.
    """
    try:
        loaded = load_matrix(path)
        cells = list_cells(loaded, series_cache=series_cache_for(loaded))[0]
    except MatrixError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)
    for cell in cells:
        if cell.excluded_by is None:
            cell_session(cell)


register_cells(MATRIX)
end_runs_on_sigterm()


if __name__ == "__main__":
    nox.main()
