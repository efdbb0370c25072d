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
