"""Install-set tables say which backend is under test and what is installed beside it."""

from __future__ import annotations

from pathlib import Path

from factories import make_grid, make_grid_cell

from flask_admin_compat.grid.model import GridCell
from flask_admin_compat.matrix.matrix import load_matrix
from flask_admin_compat.matrix.series import list_cells
from flask_admin_compat.report.html import render_html
from flask_admin_compat.report.markdown import md_text, render_markdown
from flask_admin_compat.report.view import beside, layout, table_title

MATRIX = """
[axes]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.0", "2.2.1"]
sqlalchemy = ["2.0.*"]

[backends]
flask-sqlalchemy = ["3.1.*"]
flask-sqlalchemy-lite = ["0.2.*", { version = "0.2.*", with = { flask-sqlalchemy = "3.1.*" } }]
"""
LITE_WITH_FSA = (
    "Flask-SQLAlchemy-Lite 0.2.* under test, with Flask-SQLAlchemy 3.1.* installed beside"
)


def matrix_cells(tmp_path: Path) -> list[GridCell]:
    """The cells a real matrix with an install set makes, ids and axes as the runner has them."""
    path = tmp_path / "matrix.toml"
    path.write_text(MATRIX, encoding="utf-8")
    cells, _ = list_cells(load_matrix(path), series_cache=tmp_path / "none.json")
    return [make_grid_cell(c.id, c.requested) for c in cells]


def titles(cells: list[GridCell]) -> list[str]:
    return [table_title(t, name=str, escape=str) for t in layout(cells)]


def test_the_install_set_is_read_from_the_id(tmp_path: Path) -> None:
    cells = {c.cell_id: c for c in matrix_cells(tmp_path)}
    both = cells["py312-flask31-admin221-sqla20-lite02fsa31"]
    assert set(both.requested) >= {"flask-sqlalchemy", "flask-sqlalchemy-lite"}
    assert beside(both) == ("flask-sqlalchemy",)
    assert beside(cells["py312-flask31-admin221-sqla20-lite02"]) == ()
    assert beside(cells["py312-flask31-admin221-sqla20-fsa31"]) == ()


def test_titles_name_the_backend_under_test_and_what_is_beside(tmp_path: Path) -> None:
    cells = matrix_cells(tmp_path)
    names = {
        "flask-sqlalchemy": "Flask-SQLAlchemy",
        "flask-sqlalchemy-lite": "Flask-SQLAlchemy-Lite",
    }
    shown = [table_title(t, name=lambda a: names.get(a, a), escape=str) for t in layout(cells)]
    # The install set's table follows lite's own, not Flask-SQLAlchemy 3.1's.
    assert shown == [
        "python 3.12 · Flask-SQLAlchemy 3.1.* · database sqlite",
        "python 3.12 · database sqlite · Flask-SQLAlchemy-Lite 0.2.*",
        f"python 3.12 · database sqlite · {LITE_WITH_FSA}",
    ]
    tables = layout(cells)
    assert {c.cell_id for c in tables[0].cells[(("2.2.1",), ("3.1.*", "2.0.*"))]} == {
        "py312-flask31-admin221-sqla20-fsa31"
    }
    assert tables[2].beside == ("flask-sqlalchemy",)

    markdown = render_markdown(make_grid(*cells))
    assert f"## Python 3.12 · Database sqlite · {md_text(LITE_WITH_FSA)}\n" in markdown
    assert f"<h2>Python 3.12 · Database sqlite · {LITE_WITH_FSA}</h2>" in render_html(
        make_grid(*cells)
    )


def test_without_an_install_set_id_the_order_of_the_axes_says() -> None:
    requested = {"python": "3.12", "flask-sqlalchemy-lite": "0.2.*", "flask-sqlalchemy": "3.1.*"}
    cell = make_grid_cell("some-cell", requested)
    assert beside(cell) == ("flask-sqlalchemy",)
    title = "python 3.12 · flask-sqlalchemy-lite 0.2.* under test, with flask-sqlalchemy 3.1.*"
    assert titles([cell]) == [f"{title} installed beside"]


def test_hostile_specs_in_an_install_set_title_stay_escaped() -> None:
    evil = "<script>x</script>|*"
    requested = {"python": "3.12", "flask-sqlalchemy-lite": "0.2.*", "flask-sqlalchemy": evil}
    grid = make_grid(make_grid_cell("c", requested))
    markdown = render_markdown(grid)
    assert f"with Flask-SQLAlchemy {md_text(evil)} installed beside" in markdown
    assert "<script>x" not in markdown
    html = render_html(grid)
    assert "<script>x" not in html
    assert "with Flask-SQLAlchemy &lt;script&gt;x&lt;/script&gt;|* installed beside" in html
