"""Verdicts come from outcomes alone; only the *documented* pattern depends on a version."""

from __future__ import annotations

from flask_admin_compat.checks.ids import CHECK_IDS, PATTERN_IDS
from flask_admin_compat.results.model import CheckOutcome
from flask_admin_compat.results.verdict import documented_pattern, judge, missing_checks


def _run(
    failing: dict[str, set[str]], *, flaky: tuple[str, str] | None = None
) -> list[CheckOutcome]:
    outcomes = [CheckOutcome("*", "startup", "passed", attempts=("passed",))]
    for pattern in PATTERN_IDS:
        for check in CHECK_IDS:
            failed = check in failing.get(pattern, set())
            attempts: tuple[str, ...] = ("failed",) if failed else ("passed",)
            if flaky == (pattern, check):
                attempts = ("failed", "passed")
            outcomes.append(
                CheckOutcome(
                    pattern,
                    check,
                    "failed" if failed or flaky == (pattern, check) else "passed",
                    "Both requests used one Session." if failed else "",
                    0.0,
                    attempts,  # type: ignore[arg-type]
                )
            )
    return outcomes


def test_documented_pattern_follows_flask_admin() -> None:
    assert documented_pattern({"flask-admin": "1.6.1"}) == "session-at-setup"
    assert documented_pattern({"flask-admin": "2.0.2"}) == "session-at-setup"
    assert documented_pattern({"flask-admin": "2.1.0"}) == "db-at-setup"
    assert documented_pattern({}) == "session-at-setup"


def test_compatible_when_the_documented_pattern_passes() -> None:
    judged = judge(_run({"lazy-proxy": {"crud"}}), installed={"flask-admin": "2.2.1"})
    assert (judged.verdict, judged.recommended_pattern, judged.flaky) == (
        "compatible",
        "db-at-setup",
        False,
    )


def test_workaround_names_the_pattern_that_passes() -> None:
    failing = {
        "session-at-setup": {"per-request", "teardown", "fresh-reads"},
        "db-at-setup": {"construct"},
    }
    judged = judge(_run(failing), installed={"flask-admin": "2.0.2"})
    assert judged.verdict == "workaround"
    assert judged.recommended_pattern == "in-app-context"
    assert "per-request: Both requests used one Session." in judged.reason


def test_incompatible_when_no_pattern_passes() -> None:
    judged = judge(_run({p: {"crud"} for p in PATTERN_IDS}), installed={"flask-admin": "1.6.1"})
    assert judged.verdict == "incompatible"
    assert judged.recommended_pattern is None


def test_a_stack_that_does_not_start_is_incompatible_with_its_exception() -> None:
    outcomes = [
        CheckOutcome(
            "*",
            "startup",
            "failed",
            "ImportError: cannot import name '_app_ctx_stack'",
            0.0,
            ("failed",),
        )
    ]
    judged = judge(outcomes, installed={})
    assert judged.verdict == "incompatible"
    assert (
        judged.reason == "the stack did not start: ImportError: cannot import name '_app_ctx_stack'"
    )
    assert missing_checks(outcomes) == []


def test_a_flaky_check_is_never_plainly_compatible() -> None:
    judged = judge(
        _run({}, flaky=("db-at-setup", "concurrency")), installed={"flask-admin": "2.2.1"}
    )
    assert judged.flaky
    assert judged.verdict == "workaround"


def test_missing_outcomes_are_a_harness_fault() -> None:
    partial = _run({})[:5]
    assert "db-at-setup/construct" in missing_checks(partial)
    assert missing_checks([]) == ["startup"]


def test_the_suites_own_startup_words_are_not_repeated() -> None:
    message = "the stack did not start: ImportError: no module named flask_sqlalchemy"
    judged = judge(
        [CheckOutcome("*", "startup", "failed", message, 0.0, ("failed",))], installed={}
    )
    assert judged.reason == message
