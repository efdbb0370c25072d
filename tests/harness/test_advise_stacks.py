"""advise on the new axes: Python version, patch release, install set."""

from __future__ import annotations

from typing import Any

from factories import make_grid_cell

from flask_admin_compat.advise import Stack, advise, matching_cells, render_advice
from flask_admin_compat.grid.model import Grid, GridCell, axis_order
from flask_admin_compat.results.model import Verdict

LITE = "flask-sqlalchemy-lite"
FSA = "flask-sqlalchemy"


def cell(
    cell_id: str,
    verdict: Verdict,
    *,
    python: str = "3.12",
    admin: str = "2.2.*",
    backends: dict[str, str] | None = None,
    **kwargs: Any,
) -> GridCell:
    backends = backends or {LITE: "0.2.*"}
    requested = {
        "python": python,
        "flask": "3.1.*",
        "flask-admin": admin,
        "sqlalchemy": "2.0.*",
        **backends,
    }
    installed = {
        "flask": "3.1.3",
        "flask-admin": "2.2.1" if admin == "2.2.*" else admin,
        "sqlalchemy": "2.0.58",
        LITE: "0.2.1",
        FSA: "3.1.1",
    }
    return make_grid_cell(
        cell_id, requested, verdict, installed=installed, python_version=f"{python}.1", **kwargs
    )


GRID = Grid(
    "2026-12-01T00:00:00+00:00",
    "0.1.0",
    (
        cell("series", "incompatible", reason="the stack did not start: ImportError T_SESSION"),
        cell("p220", "workaround", admin="2.2.0", recommended_pattern="lazy-proxy"),
        cell("p221", "incompatible", admin="2.2.1", reason="the stack did not start"),
        cell("p221-py310", "incompatible", python="3.10", admin="2.2.1"),
        cell(
            "p221-set",
            "workaround",
            admin="2.2.1",
            backends={LITE: "0.2.*", FSA: "3.1.*"},
            recommended_pattern="in-app-context",
        ),
        cell("p221-fsa", "compatible", admin="2.2.1", backends={FSA: "3.1.*"}),
    ),
)
BASE = {"flask": "3.1.3", "sqlalchemy": "2.0.58", LITE: "0.2.1"}


def _ids(stack: Stack) -> list[str]:
    return [c.cell_id for c in matching_cells(GRID, stack)]


def test_an_exact_patch_cell_answers_before_its_series() -> None:
    assert _ids(Stack({**BASE, "flask-admin": "2.2.1"}, python="3.12.4")) == ["p221"]
    assert _ids(Stack({**BASE, "flask-admin": "2.2.0"}, python="3.12.4")) == ["p220"]


def test_the_series_answers_where_no_patch_has_a_cell() -> None:
    assert _ids(Stack({**BASE, "flask-admin": "2.2.7"}, python="3.12.4")) == ["series"]


def test_the_python_version_picks_its_cells() -> None:
    assert _ids(Stack({**BASE, "flask-admin": "2.2.1"}, python="3.10.13")) == ["p221-py310"]
    assert _ids(Stack({**BASE, "flask-admin": "2.2.1"}, python="3.11.2")) == []
    unknown = _ids(Stack({**BASE, "flask-admin": "2.2.1"}, python=None))
    assert unknown == ["p221", "p221-py310"]  # every Python the grid has, each its own answer


def test_an_install_set_answers_for_a_stack_with_both_backends() -> None:
    both = Stack({**BASE, FSA: "3.1.1", "flask-admin": "2.2.1"}, python="3.12.4")
    assert _ids(both) == ["p221-set"]
    only_fsa = Stack(
        {"flask": "3.1.3", "sqlalchemy": "2.0.58", FSA: "3.1.1", "flask-admin": "2.2.1"},
        python="3.12.4",
    )
    assert _ids(only_fsa) == ["p221-fsa"]


def test_advice_for_a_lite_user_on_220_asking_about_221() -> None:
    stack = Stack({**BASE, "flask-admin": "2.2.0"}, python="3.12.4", source="pins")
    advice = advise(GRID, stack, {"flask-admin": "2.2.1"})
    assert [c.cell_id for c in advice.now] == ["p220"]
    assert [p.after.cell_id for p in advice.after] == ["p221"]
    text = render_advice(advice, grid_axes=axis_order(GRID.cells))
    assert "cell p221]" in text
    assert "cell series]" not in text
