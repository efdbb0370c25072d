"""Reading the suite's outcomes back from JUnit XML, and telling flaky from failing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import make_grid, make_grid_cell, make_outcome, make_result

from flask_admin_compat.grid.model import FailedCheck, grid_to_json, group_failures, validate_grid
from flask_admin_compat.report.html import render_html
from flask_admin_compat.report.markdown import render_markdown
from flask_admin_compat.results.junit import JUnitError, parse_junit
from flask_admin_compat.results.model import (
    SCHEMA_VERSION,
    CheckOutcome,
    read_result,
    write_result,
)

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
 <testcase classname="test_scoping" name="test_stack_starts" time="0.10">
  <properties><property name="check" value="startup"/><property name="pattern" value="*"/></properties>
 </testcase>
 <testcase classname="test_scoping" name="test_per_request[db-at-setup]" time="0.20">
  <properties><property name="check" value="per-request"/><property name="pattern" value="db-at-setup"/></properties>
  <failure message="AssertionError: both requests used one Session &lt;script&gt;">traceback</failure>
 </testcase>
 <testcase classname="test_scoping" name="test_crud[lazy-proxy]" time="0.05">
  <properties><property name="check" value="crud"/><property name="pattern" value="lazy-proxy"/></properties>
  <skipped message="view could not be built with this pattern: TypeError"/>
 </testcase>
 <testcase classname="test_other" name="test_unrelated" time="0.01"/>
</testsuite></testsuites>
"""


def test_outcomes_and_messages_are_read() -> None:
    outcomes = parse_junit(JUNIT)
    assert [(o.pattern, o.check, o.outcome) for o in outcomes] == [
        ("*", "startup", "passed"),
        ("db-at-setup", "per-request", "failed"),
        ("lazy-proxy", "crud", "skipped"),
    ]
    assert outcomes[1].message == "both requests used one Session <script>"
    assert outcomes[1].duration_s == pytest.approx(0.2)


@pytest.mark.parametrize("text", ["", "<testsuites><testcase", "not xml"])
def test_broken_report_is_an_error(text: str) -> None:
    with pytest.raises(JUnitError):
        parse_junit(text)


def _outcome(result: str, check: str = "teardown") -> CheckOutcome:
    return CheckOutcome(
        "db-at-setup", check, result, "m" if result == "failed" else "", 0.1, (result,)
    )  # type: ignore[arg-type]


def test_a_check_that_fails_then_passes_is_flaky_and_counts_as_failed() -> None:
    merged = _outcome("failed").then(_outcome("passed"))
    assert merged.flaky
    assert merged.outcome == "failed"
    assert merged.attempts == ("failed", "passed")


def test_a_check_that_fails_twice_is_failing_not_flaky() -> None:
    merged = _outcome("failed").then(_outcome("failed"))
    assert (merged.check, merged.outcome, merged.flaky) == ("teardown", "failed", False)
    assert merged.attempts == ("failed", "failed")


RERUN_JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3">
 <testcase classname="test_checks" name="test_per_request[db-at-setup]" time="0.30">
  <properties><property name="check" value="per-request"/><property name="pattern" value="db-at-setup"/>
   <property name="surfaces" value="list,create,ajax lookup"/>
   <property name="failed_surfaces" value="ajax lookup,create"/>
   <property name="surfaces_na" value="export: no CSV export (can_export)"/></properties>
  <failure message="AssertionError: ajax lookup and create shared one Session (...)">tb</failure>
 </testcase>
 <testcase classname="test_checks" name="test_per_request[db-at-setup]" time="0.20">
  <properties><property name="check" value="per-request"/><property name="pattern" value="db-at-setup"/>
   <property name="attempt" value="2"/>
   <property name="surfaces" value="list,create,ajax lookup"/>
   <property name="failed_surfaces" value=""/>
   <property name="surfaces_na" value="export: no CSV export (can_export)"/></properties>
 </testcase>
 <testcase classname="test_checks" name="test_crud[db-at-setup]" time="0.10">
  <properties><property name="check" value="crud"/><property name="pattern" value="db-at-setup"/></properties>
 </testcase>
</testsuite></testsuites>
"""


def test_surface_evidence_is_read_from_the_suites_properties() -> None:
    per_request, crud = parse_junit(RERUN_JUNIT)
    assert per_request.surfaces == ("list", "create", "ajax lookup")
    assert per_request.failed_surfaces == ("ajax lookup", "create")
    assert per_request.surfaces_na == {"export": "no CSV export (can_export)"}
    # A check that reports no surfaces has none: old reports read as before.
    assert (crud.surfaces, crud.failed_surfaces, crud.surfaces_na) == ((), (), {})


def test_attempts_in_one_report_fold_into_one_flaky_outcome() -> None:
    outcomes = parse_junit(RERUN_JUNIT)
    assert [o.key for o in outcomes] == [("db-at-setup", "per-request"), ("db-at-setup", "crud")]
    per_request = outcomes[0]
    assert per_request.attempts == ("failed", "passed")
    assert per_request.flaky
    assert per_request.outcome == "failed"
    assert per_request.message.startswith("ajax lookup and create shared one Session")
    assert per_request.failed_surfaces == ("ajax lookup", "create")
    assert per_request.duration_s == pytest.approx(0.5)


def test_surface_evidence_round_trips_and_older_results_still_read(tmp_path: Path) -> None:
    outcome = make_outcome(
        "per-request",
        "failed",
        message="m",
        surfaces=("list", "ajax lookup"),
        failed_surfaces=("ajax lookup",),
        surfaces_na={"export": "no CSV export"},
    )
    result = make_result(checks=(outcome, make_outcome("crud")))
    path = write_result(tmp_path, result)
    assert read_result(path) == result
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["checks"][0]["failed_surfaces"] == ["ajax lookup"]
    assert "surfaces" not in data["checks"][1], "no evidence, no keys: as 1.1 wrote it"
    data["schema_version"] = "1.1"
    del data["checks"][0]["surfaces"], data["checks"][0]["failed_surfaces"]
    del data["checks"][0]["surfaces_na"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert read_result(path).checks[0].failed_surfaces == ()


def test_the_details_line_names_the_failing_surface() -> None:
    outcome = make_outcome(
        "per-request",
        "failed",
        message="ajax lookup and create shared one Session",
        surfaces=("list", "create", "ajax lookup"),
        failed_surfaces=("ajax lookup", "create"),
    )
    cell = make_grid_cell(
        "py312-flask31-admin221-sqla20-fsa31",
        {"python": "3.12", "flask-admin": "2.2.1"},
        "incompatible",
        checks=(outcome,),
    )
    markdown = render_markdown(make_grid(cell))
    assert "per-request (create, ajax lookup) with db-at-setup: ajax lookup and create" in (
        markdown
    )
    stack_wide = FailedCheck("per-request", ("*",), "", ("ajax lookup",))
    assert stack_wide.label == "per-request (ajax lookup)"
    data = grid_to_json(make_grid(cell))
    assert data["cells"][0]["checks"][0]["failed_surfaces"] == ["ajax lookup", "create"]
    validate_grid(data)


def test_failed_surfaces_follow_the_suites_order_and_all_of_them_read_every_surface() -> None:
    order = ("list", "search", "create", "edit", "export")
    some = make_outcome("per-request", "failed", surfaces=order, failed_surfaces=("export", "list"))
    every = make_outcome(
        "teardown", "failed", pattern="in-app-context", surfaces=order, failed_surfaces=order
    )
    cell = make_grid_cell("c", {"python": "3.12"}, "incompatible", checks=(some, every))
    assert {f.check: f.surfaces for f in group_failures(cell.failed_checks)} == {
        "per-request": ("list", "export"),
        "teardown": ("every surface",),
    }


def test_the_grid_page_carries_each_cells_surfaces() -> None:
    outcome = make_outcome(
        "per-request",
        "failed",
        message="two export requests shared one Session",
        surfaces=("list", "export"),
        failed_surfaces=("export",),
        surfaces_na={"ajax lookup": "no ajax lookup (form_ajax_refs)"},
    )
    cell = make_grid_cell("c", {"python": "3.12"}, "incompatible", checks=(outcome,))
    page = render_html(make_grid(cell))
    assert '"surfaces":{"exercised":["list","export"],"na":{"ajax lookup":' in page
    assert '"two export requests shared one Session",["export"]]' in page
    assert "per-request (export) with db-at-setup" in page  # the cell's hover text
