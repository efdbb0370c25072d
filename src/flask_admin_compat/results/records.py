"""The scoping suite's records, read back: outcomes, Flask-Admin's warnings, what was running.

The suite writes one JSON line as each check's attempt starts and one as it ends
(:mod:`flask_admin_compat.checks.records`, its only writer), flushed at once; this is the
harness's only reader of them. A run killed mid-way leaves every finished check here, and
the last ``start`` without its ``outcome`` names the check that was running. A last line cut
short by the kill is not an error: it is what a kill leaves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_admin_compat.checks import ids, records
from flask_admin_compat.checks.ids import Outcome
from flask_admin_compat.results.model import CheckOutcome

MESSAGE_LIMIT = 2000


class RecordsError(ValueError):
    """The records file is missing or is not the suite's."""


@dataclass(frozen=True)
class Running:
    """The check an interrupted run was in: its id and pattern (a test with none: its node)."""

    check: str
    pattern: str
    nodeid: str = ""

    def describe(self) -> str:
        if not self.check:
            return self.nodeid
        return self.check if self.pattern == ids.ANY_PATTERN else f"{self.check} ({self.pattern})"


@dataclass(frozen=True)
class SuiteRecords:
    """What the suite recorded: one outcome per pattern x check, attempts folded in order."""

    outcomes: tuple[CheckOutcome, ...]
    #: Pattern -> the DeprecationWarnings Flask-Admin gave for it, first seen first.
    deprecations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The check that started and never ended (the run was killed in it), if any.
    running: Running | None = None


def parse_records(text: str) -> SuiteRecords:
    """Read the suite's records from their text; a line cut short at the end is left out."""
    outcomes: dict[tuple[str, str], CheckOutcome] = {}
    deprecations: dict[str, dict[str, None]] = {}
    open_attempts: dict[str, Running] = {}
    for event in _events(text):
        nodeid = str(event.get("nodeid", ""))
        if event.get("event") == records.START:
            open_attempts[nodeid] = Running(str(event["check"]), str(event["pattern"]), nodeid)
            continue
        if event.get("event") != records.OUTCOME or not event.get("check"):
            continue
        open_attempts.pop(nodeid, None)
        read = _outcome(event)
        earlier = outcomes.get(read.key)
        outcomes[read.key] = earlier.then(read) if earlier is not None else read
        for name, value in event.get("properties", ()):
            if name == records.DEPRECATION and value and read.pattern != ids.ANY_PATTERN:
                deprecations.setdefault(read.pattern, {})[value] = None
    running = next(reversed(open_attempts.values()), None)
    return SuiteRecords(
        tuple(outcomes.values()),
        {pattern: tuple(texts) for pattern, texts in deprecations.items()},
        running,
    )


def read_records(path: Path) -> SuiteRecords:
    """Like :func:`parse_records`, from a file; a missing or unreadable file is an error."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise RecordsError(f"{path.name}: cannot read the suite's records: {exc.strerror}") from exc
    return parse_records(text)


def _events(text: str) -> Iterator[dict[str, Any]]:
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            if number == len(lines):  # cut short by a kill: the rest was never written
                return
            raise RecordsError(f"line {number} of the suite's records is not JSON") from None
        if not isinstance(event, dict) or event.get("format") != records.FORMAT:
            raise RecordsError(f"line {number} of the suite's records is not in its format")
        yield event


def _outcome(event: Mapping[str, Any]) -> CheckOutcome:
    props = {str(name): str(value) for name, value in event.get("properties", ())}
    said = str(event.get("outcome", ids.ERROR))
    outcome: Outcome = next((word for word in ids.OUTCOMES if word == said), ids.ERROR)
    return CheckOutcome(
        pattern=str(event.get("pattern") or ids.ANY_PATTERN),
        check=str(event["check"]),
        outcome=outcome,
        message=str(event.get("message", ""))[:MESSAGE_LIMIT],
        duration_s=float(event.get("duration_s", 0.0)),
        attempts=(outcome,),
        nodeid=str(event.get("nodeid", "")),
        surfaces=records.split_names(props.get(records.SURFACES)),
        failed_surfaces=records.split_names(props.get(records.FAILED_SURFACES)),
        surfaces_na=records.split_reasons(props.get(records.SURFACES_NA)),
    )
