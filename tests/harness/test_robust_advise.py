"""advise answers only from evidence: a package that is no axis was never tested by the grid."""

from __future__ import annotations

from pathlib import Path

from factories import make_grid_cell

from flask_admin_compat.advise import Stack, advise, include_snippet, render_advice
from flask_admin_compat.grid.model import Grid, GridCell, axis_order
from flask_admin_compat.matrix.matrix import load_matrix

REQUESTED = {
    "python": "3.12",
    "flask": "3.1.*",
    "flask-admin": "2.2.*",
    "sqlalchemy": "2.0.*",
    "flask-sqlalchemy": "3.1.*",
}
INSTALLED = {
    "flask": "3.1.1",
    "flask-admin": "2.2.1",
    "sqlalchemy": "2.0.40",
    "flask-sqlalchemy": "3.1.1",
    "werkzeug": "3.1.3",
}
MINE = Stack(
    {
        "flask": "3.1.1",
        "flask-admin": "2.2.1",
        "sqlalchemy": "2.0.40",
        "flask-sqlalchemy": "3.1.1",
        "werkzeug": "3.1.3",
    },
    python="3.12.4",
    source="pins",
)


def _cell(installed: dict[str, str] | None = None, **requested: str) -> GridCell:
    req = {**REQUESTED, **requested}
    cell_id = "py312-flask31-admin22-sqla20-fsa31" + "".join(f"-{v}" for v in requested.values())
    return make_grid_cell(
        cell_id.replace(".", "").replace("*", "x"),
        req,
        "compatible",
        installed=installed or INSTALLED,
        python_version="3.12.7",
    )


def _grid(*cells: GridCell) -> Grid:
    return Grid("2026-12-01T00:00:00+00:00", "0.1.0", cells)


def _text(grid: Grid, upgrades: dict[str, str]) -> str:
    return render_advice(advise(grid, MINE, upgrades), grid_axes=axis_order(grid.cells))


def test_a_package_that_is_no_axis_is_untested_not_safe() -> None:
    grid = _grid(_cell())
    advice = advise(grid, MINE, {"werkzeug": "2.0.0"})
    assert advice.after == ()
    assert not advice.settled
    assert advice.nearest is None
    (untested,) = advice.untested
    assert untested.package == "werkzeug"
    assert untested.installed == ((grid.cells[0].cell_id, "3.1.3"),)
    text = _text(grid, {"werkzeug": "2.0.0"})
    assert "No check that passes now would fail" not in text
    assert "Nothing else to change" not in text
    assert "Untested: werkzeug is not an axis of the grid" in text
    assert f"installed werkzeug 3.1.3 [cell {grid.cells[0].cell_id}]" in text
    assert "cannot say whether it is safe" in text


def test_a_package_no_cell_ever_installed_is_said_so() -> None:
    text = _text(_grid(_cell()), {"django": "5.0"})
    assert "Untested: django is not an axis of the grid, and no cell installed django 5.0" in text
    assert "installed no django at all" in text
    assert "No check that passes now would fail" not in text


def test_a_cell_that_installed_exactly_that_version_is_evidence() -> None:
    grid = _grid(_cell(), _cell({**INSTALLED, "werkzeug": "3.1.4"}, flask="3.1.*"))
    advice = advise(grid, MINE, {"werkzeug": "3.1.4"})
    assert advice.untested == ()
    assert [p.after.installed["werkzeug"] for p in advice.after] == ["3.1.4"]


def test_the_include_for_an_untested_package_pins_it_and_loads(tmp_path: Path) -> None:
    grid = _grid(_cell())
    advice = advise(grid, MINE, {"werkzeug": "2.0.0"})
    assert advice.include_after is not None
    assert 'pins = { werkzeug = "2.0.0" }' in advice.include_after
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(
        '[axes]\npython = ["3.12"]\nflask = ["3.1.*"]\nflask-admin = ["2.2.*"]\n'
        'sqlalchemy = ["2.0.*"]\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n\n'
        + advice.include_after
        + "\n",
        encoding="utf-8",
    )
    (include,) = load_matrix(matrix).includes
    assert ("werkzeug", "2.0.0") in [(n, s.text) for n, s in include.values]


def test_an_unknown_python_still_makes_an_include_that_loads(tmp_path: Path) -> None:
    snippet = include_snippet(_grid(_cell()), Stack(dict(MINE.packages), python=None))
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(
        '[axes]\npython = ["3.12"]\nflask = ["3.1.*"]\nflask-admin = ["2.2.*"]\n'
        'sqlalchemy = ["2.0.*"]\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n\n' + snippet + "\n",
        encoding="utf-8",
    )
    assert load_matrix(matrix).includes


def test_moves_are_counted_in_plain_english() -> None:
    grid = _grid(
        _cell(),
        make_grid_cell(
            "py312-flask30-admin21-sqla20-fsa31",
            {**REQUESTED, "flask": "3.0.*", "flask-admin": "2.1.*"},
            "compatible",
            installed={**INSTALLED, "flask": "3.0.3", "flask-admin": "2.1.1"},
            python_version="3.12.7",
        ),
    )
    far = Stack({**MINE.packages, "flask": "2.3.3", "flask-admin": "2.0.0"}, python="3.12.4")
    text = render_advice(
        advise(grid, far, {"sqlalchemy": "2.0.41"}), grid_axes=axis_order(grid.cells)
    )
    assert "(2 axes changed)" in text
    assert "axises" not in text
