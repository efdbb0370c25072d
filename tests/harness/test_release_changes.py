"""The grid names the release where a cell's answer changed, from neighbouring patch cells."""

from __future__ import annotations

from factories import make_grid, make_grid_cell

from flask_admin_compat.grid.releases import release_changes
from flask_admin_compat.report.markdown import render_markdown
from flask_admin_compat.results.model import CheckOutcome, Verdict

LITE = {"python": "3.12", "flask": "3.1.*", "sqlalchemy": "2.0.*", "flask-sqlalchemy-lite": "0.2.*"}


def _cell(admin: str, verdict: Verdict, startup: str = "passed", **extra: str):  # type: ignore[no-untyped-def]
    requested = {**LITE, **extra, "flask-admin": admin}
    message = (
        "the stack did not start: ImportError: cannot import name 'T_SESSION' from "
        "'flask_admin.contrib.sqla._types' (/root/.venvs/x/site-packages/_types.py)"
        if startup == "failed"
        else ""
    )
    checks = (CheckOutcome("*", "startup", startup, message),)  # type: ignore[arg-type]
    cell_id = "-".join(v.replace(".", "").replace("*", "") for v in requested.values())
    return make_grid_cell(cell_id, requested, verdict, checks=checks, reason=message)


def test_the_first_bad_release_is_named_on_its_cell() -> None:
    cells = (
        _cell("2.1.0", "workaround"),
        _cell("2.2.0", "workaround"),
        _cell("2.2.1", "incompatible", "failed"),
        _cell("2.2.*", "incompatible", "failed"),  # a series: not a release of its own
    )
    changed = release_changes(cells)
    assert list(changed) == [cells[2].cell_id]
    words = changed[cells[2].cell_id].words()
    assert words.startswith("first bad: flask-admin 2.2.1 (after 2.2.0): verdict: workaround → ")
    assert "ImportError: cannot import name 'T_SESSION'" in words
    assert "/root/.venvs" not in words  # a path of the machine that ran it
    assert words in render_markdown(make_grid(*cells)).replace("&#39;", "'").replace("&#95;", "_")


def test_only_cells_that_differ_in_that_release_alone_are_neighbours() -> None:
    cells = (
        _cell("2.2.0", "workaround"),
        _cell("2.2.1", "incompatible", "failed", wtforms="3.1.*"),
    )
    assert release_changes(cells) == {}


def test_a_fix_is_a_change_not_a_first_bad() -> None:
    cells = (_cell("2.2.0", "incompatible", "failed"), _cell("2.2.1", "workaround"))
    (change,) = release_changes(cells).values()
    assert change.words().startswith("changed: flask-admin 2.2.1 (after 2.2.0)")
    assert not change.worse


def test_cells_that_were_not_measured_explain_nothing() -> None:
    cells = (_cell("2.2.0", "workaround"), _cell("2.2.1", "error"))
    assert release_changes(cells) == {}
