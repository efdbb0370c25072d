"""``stale``: the cells a new release makes stale, against the committed grid, offline.

The index is a local one on 127.0.0.1 (conftest's ``fake_index``) that gains one release
between two asks, as PyPI does between two days.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import RELEASE_MATRIX, UPLOADED, index_releases, make_grid, make_grid_cell

from flask_admin_compat.cli import main
from flask_admin_compat.grid.model import render_json
from flask_admin_compat.matrix.matrix import SCOPING, load_matrix
from flask_admin_compat.stale import current_keys

Serve = Callable[[dict[str, list[tuple[str, str]]]], tuple[str, list[str]]]


@pytest.fixture
def index(fake_index: Serve, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[tuple[str, str]]]:
    """The release lists the local index serves; a test adds to them between runs."""
    releases = index_releases()
    url, _ = fake_index(releases)
    monkeypatch.setenv("UV_DEFAULT_INDEX", url)
    return releases


def _stale(project: Path) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main(["stale", "--matrix", str(project / "matrix.toml")], out=out)
    return code, out.getvalue().splitlines()


def _commit_grid(project: Path) -> None:
    """The grid as CI committed it after a full run: every cell with its fingerprint of now."""
    matrix = load_matrix(project / "matrix.toml")
    cells, keys = current_keys(matrix, project, project / "reports", suites=(SCOPING,))
    grid = make_grid(
        *(make_grid_cell(c.id, c.requested, fingerprint=keys[SCOPING][c.id]) for c in cells)
    )
    (project / "reports").mkdir(exist_ok=True)
    (project / "reports" / "grid.json").write_text(render_json(grid), encoding="utf-8")


def test_a_new_release_makes_exactly_the_cells_it_touches_stale(
    index: dict[str, list[tuple[str, str]]], tmp_path: Path
) -> None:
    (tmp_path / "matrix.toml").write_text(RELEASE_MATRIX, encoding="utf-8")
    code, stale = _stale(tmp_path)
    assert code == 0
    assert len(stale) == 4  # no committed grid yet: every cell
    _commit_grid(tmp_path)
    assert _stale(tmp_path) == (0, [])  # nothing new on the index: nothing to run

    index["flask"].append(("3.1.3", UPLOADED))
    assert _stale(tmp_path) == (
        0,
        ["py312-flask31-admin210-sqla20-fsa31", "py312-flask31-admin22-sqla20-fsa31"],
    )
    _commit_grid(tmp_path)  # the job ran them and published the grid
    assert _stale(tmp_path) == (0, [])

    index["flask-admin"].append(("2.2.2", UPLOADED))  # 2.1.0 is exact: never touched
    assert _stale(tmp_path) == (
        0,
        ["py312-flask30-admin22-sqla20-fsa31", "py312-flask31-admin22-sqla20-fsa31"],
    )


def test_an_error_in_the_committed_grid_runs_again(
    index: dict[str, list[tuple[str, str]]], tmp_path: Path
) -> None:
    (tmp_path / "matrix.toml").write_text(RELEASE_MATRIX, encoding="utf-8")
    _commit_grid(tmp_path)
    grid_file = tmp_path / "reports" / "grid.json"
    text = grid_file.read_text(encoding="utf-8")
    first = text.index('"verdict": "compatible"')
    grid_file.write_text(
        text[:first] + '"verdict": "error"' + text[first + len('"verdict": "compatible"') :],
        encoding="utf-8",
    )
    code, stale = _stale(tmp_path)
    assert (code, len(stale)) == (0, 1)
