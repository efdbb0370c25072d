"""Machine paths out of the grid: ``<site-packages>/flask/__init__.py``, never a checkout's path.

A traceback's ``from 'flask' (/home/ci/checkout/.venvs/py310-.../flask/__init__.py)`` says which
file was imported, which is worth keeping, and where the machine that ran it keeps its
environments, which is not: it leaks a home folder into a published report and makes the same
failure read differently on every machine, so that no two cells' messages could ever be compared.
The merge passes every cell through :func:`scrub_cell`, those carried from an older grid too.
"""

from __future__ import annotations

import re
from dataclasses import replace

from flask_admin_compat.grid.model import Grid, GridCell, LogRef
from flask_admin_compat.results.model import CheckOutcome, UpstreamFailure, UpstreamResult

SITE_PACKAGES = "<site-packages>"
STDLIB = "<stdlib>"
ENVIRONMENT = "<venv>"
SOMEWHERE = "<path>"

# An absolute POSIX path of two or more parts, or a Windows one, that does not continue a word,
# a URL (``http://host/...``) or a relative path. The admin's own URLs (``/admin/author/``) are
# paths the suite asked for, the same on every machine: kept.
_ABSOLUTE = re.compile(
    r"(?<![\w.:/\\<>-])"
    r"(?:[A-Za-z]:[\\/]|/(?!admin/))"
    r"[\w.+~@-]+(?:[\\/][\w.+~@-]+)+[\\/]?…?"
)
_SITE = re.compile(r"[\\/](?:site|dist)-packages[\\/]")
_STDLIB = re.compile(r"[\\/]lib[\\/]python\d+(?:\.\d+)?[\\/]")
# Where an environment lives, for a path cut short before its site-packages part.
_ENVIRONMENT = re.compile(r"[\\/](?:\.?venvs?|\.nox|\.tox|envs)[\\/]|[\\/]lib[\\/]python")


def scrub_paths(text: str) -> str:
    """``text`` with every absolute path made machine-free; relative paths are left alone."""
    if "/" not in text and "\\" not in text:
        return text
    return _ABSOLUTE.sub(lambda m: _scrub_one(m.group()), text)


def _scrub_one(path: str) -> str:
    site = list(_SITE.finditer(path))
    if site:  # the last one: a vendored copy inside a package names the package's own folder
        return f"{SITE_PACKAGES}/{_posix(path[site[-1].end() :])}"
    stdlib = _STDLIB.search(path)
    if stdlib:
        return f"{STDLIB}/{_posix(path[stdlib.end() :])}"
    if _ENVIRONMENT.search(path):
        return ENVIRONMENT + ("…" if path.endswith("…") else "")
    if len(re.split(r"[\\/]", path.strip("/\\…"))) < 3:
        return path  # ``/tmp/x``, ``/usr/bin``: too short to say where anyone's files are
    name = re.split(r"[\\/]", path.rstrip("/\\"))[-1]
    return f"{SOMEWHERE}/{name}"


def _posix(rest: str) -> str:
    return rest.replace("\\", "/")


def scrub_cell(cell: GridCell) -> GridCell:
    """The cell with every run-made text scrubbed: reason, checks, log lines, upstream tests."""
    result = cell.result
    scrubbed = replace(
        result,
        reason=scrub_paths(result.reason),
        checks=tuple(_scrub_check(c) for c in result.checks),
        upstream=_scrub_upstream(result.upstream) if result.upstream is not None else None,
        deprecation=scrub_paths(result.deprecation) if result.deprecation else result.deprecation,
    )
    log = cell.log
    if log is not None:
        log = replace(log, excerpt=tuple(scrub_paths(line) for line in log.excerpt))
    return replace(
        cell,
        result=scrubbed,
        log=log if isinstance(log, LogRef) else None,
        unreadable=scrub_paths(cell.unreadable) if cell.unreadable else cell.unreadable,
    )


def _scrub_check(check: CheckOutcome) -> CheckOutcome:
    message = scrub_paths(check.message)
    return check if message == check.message else replace(check, message=message)


def _scrub_upstream(upstream: UpstreamResult) -> UpstreamResult:
    return replace(
        upstream,
        reason=scrub_paths(upstream.reason),
        failures=tuple(
            UpstreamFailure(f.nodeid, f.outcome, scrub_paths(f.message)) for f in upstream.failures
        ),
    )


def scrub_grid(grid: Grid) -> Grid:
    """Every cell scrubbed: those just run, and those carried from a grid merged before."""
    return replace(grid, cells=tuple(scrub_cell(c) for c in grid.cells))
