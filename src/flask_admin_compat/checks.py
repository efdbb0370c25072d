"""Check and pattern outcomes of the scoping suite, read back from its JUnit XML report.

The suite (tests/scoping) tags every test with two JUnit properties, ``check`` and
``pattern``; this module is the harness's only reader of that report, so the suite and the
harness agree on nothing but these property names and the ids below.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["passed", "failed", "skipped", "error"]

#: The seven checks, in the order the grid shows them.
CHECK_IDS: tuple[str, ...] = (
    "construct",
    "per-request",
    "teardown",
    "isolation-after-error",
    "concurrency",
    "fresh-reads",
    "crud",
)
#: The ways of registering a ModelView that the suite tries.
PATTERN_IDS: tuple[str, ...] = ("session-at-setup", "db-at-setup", "in-app-context", "lazy-proxy")
#: The suite's one test that is about the stack rather than a pattern: does it import and start?
STARTUP_CHECK = "startup"
ANY_PATTERN = "*"

MESSAGE_LIMIT = 2000


@dataclass(frozen=True)
class CheckOutcome:
    """One pattern x check outcome; ``attempts`` keeps every run's outcome, first to last."""

    pattern: str
    check: str
    outcome: Outcome
    message: str = ""
    duration_s: float = 0.0
    attempts: tuple[Outcome, ...] = field(default=())
    nodeid: str = ""

    @property
    def flaky(self) -> bool:
        """True when a re-run gave a different outcome than the first run."""
        return len(set(self.attempts)) > 1

    @property
    def key(self) -> tuple[str, str]:
        return (self.pattern, self.check)

    def to_json(self) -> dict[str, Any]:
        """The form result.json and grid.json both keep an outcome in."""
        return {
            "pattern": self.pattern,
            "check": self.check,
            "outcome": self.outcome,
            "message": self.message,
            "attempts": list(self.attempts),
            "duration_s": self.duration_s,
            "nodeid": self.nodeid,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckOutcome:
        return cls(
            pattern=data["pattern"],
            check=data["check"],
            outcome=data["outcome"],
            message=data["message"],
            duration_s=data["duration_s"],
            attempts=tuple(data["attempts"]),
            nodeid=data.get("nodeid", ""),
        )


class JUnitError(ValueError):
    """The JUnit report is missing, unreadable or not the suite's."""


def parse_junit(xml_text: str) -> list[CheckOutcome]:
    """Read the suite's outcomes from JUnit XML text; tests without a ``check`` are ignored."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise JUnitError(f"JUnit XML is not well-formed: {exc}") from exc
    outcomes: list[CheckOutcome] = []
    for case in root.iter("testcase"):
        props = {p.get("name"): p.get("value", "") for p in case.iter("property")}
        check = props.get("check")
        if not check:
            continue
        outcome, message = _case_outcome(case)
        outcomes.append(
            CheckOutcome(
                pattern=props.get("pattern") or ANY_PATTERN,
                check=check,
                outcome=outcome,
                message=message[:MESSAGE_LIMIT],
                duration_s=float(case.get("time") or 0.0),
                attempts=(outcome,),
                nodeid=f"{case.get('classname', '')}::{case.get('name', '')}",
            )
        )
    return outcomes


def read_junit(path: Path) -> list[CheckOutcome]:
    """Like :func:`parse_junit`, from a file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JUnitError(f"{path}: cannot read the JUnit report: {exc.strerror}") from exc
    return parse_junit(text)


def _case_outcome(case: ET.Element) -> tuple[Outcome, str]:
    for tag, outcome in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
        node = case.find(tag)
        if node is not None:
            return outcome, _first_words(node)  # type: ignore[return-value]
    return "passed", ""


def _first_words(node: ET.Element) -> str:
    """The assertion's own message where pytest gave one, else the start of the traceback.

    The suite words its assertions for users, so the ``AssertionError:`` pytest puts before
    them is dropped; any other exception keeps its name, which says what went wrong.
    """
    message = (node.get("message") or "").strip().removeprefix("AssertionError: ")
    return message or (node.text or "").strip()


def merge_rerun(first: list[CheckOutcome], rerun: list[CheckOutcome]) -> list[CheckOutcome]:
    """Fold a re-run of the failed checks into the first run's outcomes.

    A check that fails and then passes is flaky: both outcomes are kept, and it still counts
    as failed, so that a flaky cell is never shown as plainly compatible.
    """
    again = {o.key: o for o in rerun}
    merged: list[CheckOutcome] = []
    for outcome in first:
        second = again.get(outcome.key)
        if second is None:
            merged.append(outcome)
            continue
        attempts = (*outcome.attempts, *second.attempts)
        effective: Outcome = "failed" if len(set(attempts)) > 1 else outcome.outcome
        message = outcome.message or second.message
        merged.append(
            CheckOutcome(
                pattern=outcome.pattern,
                check=outcome.check,
                outcome=effective,
                message=message,
                duration_s=outcome.duration_s + second.duration_s,
                attempts=attempts,
                nodeid=outcome.nodeid,
            )
        )
    return merged
