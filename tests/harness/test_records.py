"""Reading the suite's records back (results/records.py), and telling flaky from failing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from factories import make_grid, make_grid_cell, make_outcome, make_result

from flask_admin_compat.checks.ids import Outcome
from flask_admin_compat.grid.model import FailedCheck, grid_to_json, group_failures, validate_grid
from flask_admin_compat.report.html import render_html
from flask_admin_compat.report.markdown import render_markdown
from flask_admin_compat.results.model import (
    SCHEMA_VERSION,
    CheckOutcome,
    read_result,
    write_result,
)
from flask_admin_compat.results.records import RecordsError, parse_records


def line(event: str, nodeid: str, check: str, pattern: str, **fields: object) -> str:
    """One record as the suite's plugin writes it."""
    return json.dumps(
        {
            "format": 1,
            "event": event,
            "nodeid": nodeid,
            "check": check,
            "pattern": pattern,
            **fields,
        }
    )


def ended(
    nodeid: str,
    check: str,
    pattern: str,
    outcome: str,
    message: str = "",
    *,
    seconds: float = 0.1,
    attempt: int = 1,
    **props: Any,
) -> str:
    properties = [["check", check], ["pattern", pattern], *([k, v] for k, v in props.items())]
    start = line("start", nodeid, check, pattern, attempt=attempt)
    return (
        start
        + "\n"
        + line(
            "outcome",
            nodeid,
            check,
            pattern,
            attempt=attempt,
            outcome=outcome,
            message=message,
            duration_s=seconds,
            properties=properties,
        )
    )


RECORDS = (
    "\n".join(
        [
            ended("test_startup.py::test_stack_starts", "startup", "*", "passed"),
            ended(
                "test_checks.py::test_per_request[db-at-setup]",
                "per-request",
                "db-at-setup",
                "failed",
                "both requests used one Session <script>",
                seconds=0.2,
            ),
            ended(
                "test_checks.py::test_crud[lazy-proxy]",
                "crud",
                "lazy-proxy",
                "skipped",
                "view could not be built with this pattern: TypeError",
                seconds=0.05,
            ),
        ]
    )
    + "\n"
)


def test_outcomes_and_messages_are_read() -> None:
    outcomes = parse_records(RECORDS).outcomes
    assert [(o.pattern, o.check, o.outcome) for o in outcomes] == [
        ("*", "startup", "passed"),
        ("db-at-setup", "per-request", "failed"),
        ("lazy-proxy", "crud", "skipped"),
    ]
    assert outcomes[1].message == "both requests used one Session <script>"
    assert outcomes[1].duration_s == pytest.approx(0.2)


@pytest.mark.parametrize("text", ["not json\n{}\n", '{"format": 99}\n', "[1, 2]\n{}\n"])
def test_records_that_are_not_the_suites_are_an_error(text: str) -> None:
    with pytest.raises(RecordsError):
        parse_records(text)


def test_a_kill_leaves_the_finished_checks_and_names_the_one_running() -> None:
    running = line(
        "start", "test_checks.py::test_teardown[lazy-proxy]", "teardown", "lazy-proxy", attempt=1
    )
    read = parse_records(RECORDS + running + "\n" + '{"format": 1, "event": "outc')
    assert [o.check for o in read.outcomes] == ["startup", "per-request", "crud"]
    assert read.running is not None
    assert read.running.describe() == "teardown (lazy-proxy)"
    assert parse_records(RECORDS).running is None


def _outcome(result: Outcome, check: str = "teardown") -> CheckOutcome:
    return CheckOutcome(
        "db-at-setup", check, result, "m" if result == "failed" else "", 0.1, (result,)
    )


def test_a_check_that_fails_then_passes_is_flaky_and_counts_as_failed() -> None:
    merged = _outcome("failed").then(_outcome("passed"))
    assert merged.flaky
    assert merged.outcome == "failed"
    assert merged.attempts == ("failed", "passed")


def test_a_check_that_fails_twice_is_failing_not_flaky() -> None:
    merged = _outcome("failed").then(_outcome("failed"))
    assert (merged.check, merged.outcome, merged.flaky) == ("teardown", "failed", False)
    assert merged.attempts == ("failed", "failed")


NODE = "test_checks.py::test_per_request[db-at-setup]"
EVIDENCE: dict[str, Any] = {
    "surfaces": "list,create,ajax lookup",
    "surfaces_na": "export: no CSV export (can_export)",
}
RERUN_RECORDS = "\n".join(
    [
        ended(
            NODE,
            "per-request",
            "db-at-setup",
            "failed",
            "ajax lookup and create shared one Session (...)",
            seconds=0.3,
            failed_surfaces="ajax lookup,create",
            **EVIDENCE,
        ),
        ended(
            NODE,
            "per-request",
            "db-at-setup",
            "passed",
            seconds=0.2,
            attempt=2,
            failed_surfaces="",
            **EVIDENCE,
        ),
        ended("test_checks.py::test_crud[db-at-setup]", "crud", "db-at-setup", "passed"),
    ]
)


def test_surface_evidence_is_read_from_the_suites_properties() -> None:
    per_request, crud = parse_records(RERUN_RECORDS).outcomes
    assert per_request.surfaces == ("list", "create", "ajax lookup")
    assert per_request.failed_surfaces == ("ajax lookup", "create")
    assert per_request.surfaces_na == {"export": "no CSV export (can_export)"}
    # A check that reports no surfaces has none: old reports read as before.
    assert (crud.surfaces, crud.failed_surfaces, crud.surfaces_na) == ((), (), {})


def test_attempts_in_one_report_fold_into_one_flaky_outcome() -> None:
    outcomes = parse_records(RERUN_RECORDS).outcomes
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
