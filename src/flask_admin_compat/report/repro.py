"""One-file reproductions: a PEP 723 script per cause that pins its cell and shows the failure.

Upstream asks for single-file reproductions (pallets-eco/flask-admin#2592). Each script pins
the exact versions its cell installed, builds the smallest app that shows the cause (the
registration pattern it fails under, the requests on the surfaces it fails on, the observation
that fails) and exits 1 while the failure is there, 0 once it is gone:
``uv run --script reports/repro/<cause>.py``. It imports nothing of this project: the body is
``static/repro_body.py.txt``, the same for every cause, and the cause's data goes above it as
one JSON literal, so that no run-made text is ever spliced into code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path

from flask_admin_compat.grid.cause import Cause
from flask_admin_compat.grid.model import Grid, GridCell
from flask_admin_compat.matrix.matrix import BACKENDS

REPRO_DIR = "repro"
#: What the suite itself needs inside a cell, which the reproduction does not.
_SUITE_ONLY = frozenset({"pytest", "iniconfig", "pluggy", "pygments"})
# A distribution name and an exact version, as uv writes them: anything else is left out
# rather than written into a dependency line.
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_VERSION = re.compile(
    r"^[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?$"
)
_PYTHON = re.compile(r"^[0-9]+\.[0-9]+")


@dataclass(frozen=True)
class ReproSpec:
    """What one reproduction shows, and the environment it pins."""

    cause_id: str
    summary: str
    signature: str
    pattern: str
    surfaces: tuple[str, ...]
    backend: str  # the backend under test in the cell it pins
    python: str  # ``3.13``: the series of the cell's interpreter
    pins: tuple[tuple[str, str], ...]  # (distribution, exact version), sorted
    cell_id: str
    upstream: str | None = None

    def pinned_to(self, cell: GridCell) -> ReproSpec:
        """The same reproduction with another cell's environment: a neighbour's, to pass."""
        return replace(self, pins=_pins(cell.installed), python=_python(cell), cell_id=cell.cell_id)


def repro_spec(cause: Cause, grid: Grid) -> ReproSpec | None:
    """The reproduction of ``cause`` from its example cell; None when that cell is not there."""
    cell = grid.cell(cause.example)
    if cell is None or not cell.installed:
        return None
    return ReproSpec(
        cause_id=cause.id,
        summary=cause.summary,
        signature=cause.signature,
        pattern=cause.example_pattern,
        surfaces=cause.example_surfaces,
        backend=backend_under_test(cell),
        python=_python(cell),
        pins=_pins(cell.installed),
        cell_id=cell.cell_id,
        upstream=cause.upstream.url if cause.upstream is not None else None,
    )


def backend_under_test(cell: GridCell) -> str:
    """Lite where it is installed (Flask-SQLAlchemy is only ever put beside it), else FSA."""
    present = [b for b in BACKENDS if b in cell.requested]
    return present[-1] if present else BACKENDS[0]


def _python(cell: GridCell) -> str:
    found = _PYTHON.match(cell.python_version or cell.requested.get("python", ""))
    return found.group() if found else ""


def _pins(installed: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted(
            (name, version)
            for name, version in installed.items()
            if name not in _SUITE_ONLY and _NAME.match(name) and _VERSION.match(version)
        )
    )


@cache
def _body() -> str:
    path = resources.files("flask_admin_compat").joinpath("report/static/repro_body.py.txt")
    return path.read_text(encoding="utf-8")


def render_repro(spec: ReproSpec) -> str:
    """The script's text: PEP 723 block, what it shows in comments, its data, the body."""
    lines = ["#!/usr/bin/env -S uv run --script", "# /// script"]
    if spec.python:
        lines.append(f'# requires-python = "=={spec.python}.*"')
    lines.append("# dependencies = [")
    lines += [f'#     "{name}=={version}",' for name, version in spec.pins]
    lines += ["# ]", "# ///", '"""Reproduction of one cause of the flask-admin-compat grid.']
    lines += [
        "",
        "Exits 1 while the failure is there and 0 once it is gone; run it with",
        "``uv run --script`` and nothing else installed. Its cause, cell and pins are in",
        "SPEC below.",
        '"""',
        "",
        "import json",
        "",
    ]
    data = {
        "cause": spec.cause_id,
        "summary": spec.summary,
        "signature": spec.signature,
        "cell": spec.cell_id,
        "pattern": spec.pattern,
        "surfaces": list(spec.surfaces),
        "backend": spec.backend,
        "upstream": spec.upstream,
    }
    # A JSON text in a Python string literal: repr() escapes whatever the run wrote.
    lines.append(f"SPEC = json.loads({json.dumps(data, ensure_ascii=True)!r})")
    return "\n".join(lines) + _body()


def repro_path(out_dir: Path, cause_id: str) -> Path:
    return out_dir / REPRO_DIR / f"{cause_id}.py"


def repro_texts(grid: Grid, out_dir: Path) -> dict[Path, str]:
    """Every cause's reproduction by the path it is written to."""
    texts: dict[Path, str] = {}
    for cause in grid.causes:
        spec = repro_spec(cause, grid)
        if spec is not None:
            texts[repro_path(out_dir, cause.id)] = render_repro(spec)
    return texts
