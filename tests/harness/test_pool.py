"""The pool starts the cells that took longest last time first, so none runs alone at the end."""

from __future__ import annotations

from factories import make_result

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import FLASK_SQLALCHEMY
from flask_admin_compat.matrix.specs import parse_spec
from flask_admin_compat.run.pool import longest_first
from flask_admin_compat.run.session import past_durations


def _cell(admin: str) -> Cell:
    packages = (("flask-admin", parse_spec(admin)), (FLASK_SQLALCHEMY, parse_spec("3.1.*")))
    return Cell(parse_spec("3.12"), packages, FLASK_SQLALCHEMY)


def test_longest_first_with_cells_never_run_before_them_all() -> None:
    short, long, new, also_short = (_cell(v) for v in ("1.6.*", "2.1.*", "2.2.*", "2.0.*"))
    past = {short.id: 1.0, long.id: 5.0, also_short.id: 1.0}

    ordered = longest_first([short, long, new, also_short], past)

    assert [c.id for c in ordered] == [new.id, long.id, short.id, also_short.id]


def test_past_durations_are_the_totals_of_cells_that_ran() -> None:
    ran = make_result("a", durations={"resolve": 0.1, "total": 4.2})
    refused = make_result("b", verdict="excluded", durations={})

    assert past_durations({"a": ran, "b": refused}) == {"a": 4.2}
