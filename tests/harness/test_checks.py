"""Reading the suite's outcomes back from JUnit XML, and telling flaky from failing."""

from __future__ import annotations

import pytest

from flask_admin_compat.results.junit import JUnitError, parse_junit
from flask_admin_compat.results.model import CheckOutcome
from flask_admin_compat.run.scoping import merge_rerun

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
    (merged,) = merge_rerun([_outcome("failed")], [_outcome("passed")])
    assert merged.flaky
    assert merged.outcome == "failed"
    assert merged.attempts == ("failed", "passed")


def test_a_check_that_fails_twice_is_failing_not_flaky() -> None:
    first = [_outcome("failed"), _outcome("passed", "crud")]
    merged = merge_rerun(first, [_outcome("failed")])
    assert [(m.check, m.outcome, m.flaky) for m in merged] == [
        ("teardown", "failed", False),
        ("crud", "passed", False),
    ]
