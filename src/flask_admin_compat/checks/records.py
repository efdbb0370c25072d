"""The suite's records: one JSON line per event, written and flushed as each check runs.

A cell's suite writes a ``start`` line when a check's attempt begins and an ``outcome`` line
when it ends, so that a run killed at its timeout keeps every check that finished and names
the one that was running (the harness reads these; JUnit XML is only written at the end).
The same names label the evidence a check reports about the surfaces it judged. Only the
standard library is used: the writer runs inside the cell, the reader in the harness
(:mod:`flask_admin_compat.results.records`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, Final

#: The suite's option naming the file.
RECORDS_OPTION: Final = "--records"
FORMAT: Final = 1

START: Final = "start"
OUTCOME: Final = "outcome"

#: Properties every check's items carry (also in the JUnit report, for people).
CHECK: Final = "check"
PATTERN: Final = "pattern"
ATTEMPT: Final = "attempt"
#: A check's evidence: comma-separated surface names, and ``name: reason`` joined by ``; ``.
SURFACES: Final = "surfaces"
FAILED_SURFACES: Final = "failed_surfaces"
SURFACES_NA: Final = "surfaces_na"
EVIDENCE: tuple[str, ...] = (SURFACES, FAILED_SURFACES, SURFACES_NA)
#: Flask-Admin's own warnings noted for a pattern: ``Category: message``.
DEPRECATION: Final = "deprecation"
WARNING: Final = "warning"


def joined_names(names: list[str] | tuple[str, ...]) -> str:
    return ",".join(names)


def split_names(value: str | None) -> tuple[str, ...]:
    """``list,ajax lookup`` -> ("list", "ajax lookup")."""
    return tuple(name.strip() for name in (value or "").split(",") if name.strip())


def joined_reasons(reasons: dict[str, str]) -> str:
    return "; ".join(f"{name}: {why}" for name, why in reasons.items())


def split_reasons(value: str | None) -> dict[str, str]:
    """``ajax lookup: no form_ajax_refs; export: no can_export`` -> {surface: reason}."""
    pairs = (item.partition(": ") for item in (value or "").split("; ") if item.strip())
    return {name.strip(): reason.strip() for name, _, reason in pairs}


class RecordWriter:
    """Appends one JSON object a line, flushed at once: a killed writer loses nothing written."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = path.open("w", encoding="utf-8")

    def write(self, event: str, **fields: Any) -> None:
        line = json.dumps({"format": FORMAT, "event": event, **fields}, ensure_ascii=False)
        self._file.write(line + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


# The pytest plugin that writes them -------------------------------------------------------
# A suite loads it with ``pytest_plugins = ["flask_admin_compat.checks.records"]`` in its
# conftest.py; it stays inert unless ``--records PATH`` is given. pytest is imported only for
# annotations: this module is also the harness's, which reads the names above.


def pytest_addoption(parser: Any) -> None:
    parser.addoption(
        RECORDS_OPTION,
        default=None,
        metavar="PATH",
        help="write each check's start and outcome to PATH as JSON lines, as they happen",
    )


def pytest_configure(config: Any) -> None:
    path = config.getoption(RECORDS_OPTION)
    if path:
        config.pluginmanager.register(Recorder(RecordWriter(Path(path))), "scoping-records")


class Recorder:
    """Writes a start line as each attempt of a check begins, an outcome line as it ends.

    The outcome is written when the attempt's teardown has reported, when its properties
    (evidence, Flask-Admin's warnings) are final; the phase that decided it is the first that
    did not pass (a failed or skipped setup or call), else the teardown.
    """

    def __init__(self, writer: RecordWriter) -> None:
        self.writer = writer
        self._decided: dict[str, Any] = {}
        self._seconds: dict[str, float] = {}

    def pytest_runtest_setup(self, item: Any) -> None:
        props = dict(item.user_properties)
        self.writer.write(
            START,
            nodeid=item.nodeid,
            check=str(props.get(CHECK, "")),
            pattern=str(props.get(PATTERN, "*")),
            attempt=int(str(props.get(ATTEMPT, 1))),
        )

    def pytest_runtest_logreport(self, report: Any) -> None:
        nodeid = report.nodeid
        self._seconds[nodeid] = self._seconds.get(nodeid, 0.0) + report.duration
        if report.when != "teardown":
            if not report.passed:
                self._decided.setdefault(nodeid, report)
            return
        decided = self._decided.pop(nodeid, None)
        outcome, message = outcome_of(decided if decided is not None else report)
        props = dict(report.user_properties)
        self.writer.write(
            OUTCOME,
            nodeid=nodeid,
            check=str(props.get(CHECK, "")),
            pattern=str(props.get(PATTERN, "*")),
            attempt=int(str(props.get(ATTEMPT, 1))),
            outcome=outcome,
            message=message,
            duration_s=round(self._seconds.pop(nodeid, 0.0), 4),
            properties=[[str(k), str(v)] for k, v in report.user_properties],
        )

    def pytest_unconfigure(self, config: Any) -> None:
        self.writer.close()


def outcome_of(report: Any) -> tuple[str, str]:
    """pytest's outcome in the checks' words, and the message a person reads first.

    As pytest's JUnit report words them: a skip's reason, a failure's crash line (without the
    ``AssertionError:`` the suite's own messages do not need), an error's.
    """
    if report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        return "skipped", str(reason).removeprefix("Skipped: ")
    if report.passed:
        return "passed", ""
    crash = getattr(report.longrepr, "reprcrash", None)
    message = str(getattr(crash, "message", "") or report.longreprtext)
    if report.when == "call":
        return "failed", message.removeprefix("AssertionError: ")
    return "error", message
