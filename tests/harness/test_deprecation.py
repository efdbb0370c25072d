"""The deprecated flag: a pattern that works while Flask-Admin warns it will not for long."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from factories import make_grid, make_result
from test_scoping_suite import run_suite

from flask_admin_compat.checks.ids import CHECK_IDS, PATTERN_IDS
from flask_admin_compat.grid.model import GridCell, grid_from_json, render_json
from flask_admin_compat.report.html import hover_text
from flask_admin_compat.report.markdown import cell_markdown
from flask_admin_compat.results.model import CheckOutcome, read_result, write_result
from flask_admin_compat.results.records import parse_records, read_records
from flask_admin_compat.results.verdict import judge

SESSION_WARNING = (
    "DeprecationWarning: Passing a session object directly is deprecated and will be removed "
    "in version 3.0. Please pass the SQLAlchemy db object instead."
)
INSTALLED_22 = {"flask-admin": "2.2.0"}


def _outcomes(failing: dict[str, str]) -> list[CheckOutcome]:
    """Every pattern x check passing, except ``failing`` (pattern -> check)."""
    startup = [CheckOutcome("*", "startup", "passed")]
    return startup + [
        CheckOutcome(p, c, "failed" if failing.get(p) == c else "passed", "broken")
        for p in PATTERN_IDS
        for c in CHECK_IDS
    ]


def test_a_workaround_flask_admin_deprecates_is_flagged_with_its_words() -> None:
    outcomes = _outcomes(
        {"session-at-setup": "construct", "db-at-setup": "construct", "in-app-context": "teardown"}
    )
    judgement = judge(
        outcomes, installed=INSTALLED_22, deprecations={"lazy-proxy": (SESSION_WARNING,)}
    )
    assert judgement.verdict == "workaround"
    assert judgement.recommended_pattern == "lazy-proxy"
    assert judgement.flags == ("deprecated",)
    assert judgement.deprecation == SESSION_WARNING


def test_no_flag_when_the_recommended_pattern_gave_no_warning() -> None:
    warned = {"session-at-setup": (SESSION_WARNING,), "lazy-proxy": (SESSION_WARNING,)}
    judgement = judge(_outcomes({}), installed=INSTALLED_22, deprecations=warned)
    assert judgement.verdict == "compatible"  # db-at-setup, which warned nothing
    assert judgement.flags == ()
    assert judgement.deprecation is None


def test_no_flag_on_a_verdict_that_recommends_nothing() -> None:
    every = {p: "per-request" for p in PATTERN_IDS}
    outcomes = [o for o in _outcomes({}) if o.pattern == "*"] + [
        CheckOutcome(p, c, "failed" if c == every[p] else "passed")
        for p in PATTERN_IDS
        for c in CHECK_IDS
    ]
    warned = {p: (SESSION_WARNING,) for p in PATTERN_IDS}
    judgement = judge(outcomes, installed=INSTALLED_22, deprecations=warned)
    assert judgement.verdict == "incompatible"
    assert judgement.deprecation is None


def outcome_line(check: str, pattern: str, *props: tuple[str, str]) -> str:
    properties = [["check", check], ["pattern", pattern], *map(list, props)]
    return json.dumps(
        {
            "format": 1,
            "event": "outcome",
            "nodeid": f"test_checks.py::{check}",
            "check": check,
            "pattern": pattern,
            "outcome": "passed",
            "properties": properties,
        }
    )


RECORDS = "\n".join(
    [
        outcome_line(
            "construct",
            "lazy-proxy",
            ("deprecation", "DeprecationWarning: going"),
            ("warning", "UserWarning: not a deprecation"),
        ),
        outcome_line("crud", "lazy-proxy", ("deprecation", "DeprecationWarning: going")),
        outcome_line("crud", "db-at-setup"),
    ]
)


def test_the_records_give_each_patterns_deprecations() -> None:
    found = parse_records(RECORDS).deprecations
    assert found == {"lazy-proxy": ("DeprecationWarning: going",)}


def test_the_flag_and_its_words_survive_result_and_grid_files(tmp_path: Path) -> None:
    result = make_result(
        verdict="workaround",
        recommended_pattern="lazy-proxy",
        flags=("deprecated",),
        reason="db-at-setup fails; use lazy-proxy, which passes every check",
    )
    result = replace(result, deprecation=SESSION_WARNING)
    write_result(tmp_path, result)
    assert read_result(tmp_path / "result.json").deprecation == SESSION_WARNING
    cell = GridCell(result, result_path="cells/x/result.json", log=None)
    grid = grid_from_json(json.loads(render_json(make_grid(cell))))
    (again,) = grid.cells
    assert again.deprecation == SESSION_WARNING
    assert "deprecated" in cell_markdown(again)
    assert f"deprecated: {SESSION_WARNING}" in hover_text(again)


def test_the_suite_reports_flask_admins_deprecation_per_pattern(tmp_path: Path) -> None:
    # This environment has Flask-Admin 2.1+ and Flask-SQLAlchemy: passing db.session (the
    # session-at-setup and lazy-proxy patterns) warns, passing db does not.
    run_suite(tmp_path)
    found = read_records(tmp_path / "records.jsonl").deprecations
    assert set(found) == {"session-at-setup", "lazy-proxy"}
    for texts in found.values():
        assert any("will be removed in version 3.0" in t for t in texts)
        assert all(t.startswith("DeprecationWarning: ") for t in texts)
