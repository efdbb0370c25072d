"""Every id the checks are known by, and the words for their outcomes: spelled once, here.

The scoping suite's records, ``result.json``, the grid, check-app's report and its pytest
plugin all use these strings. Only the standard library is imported: a cell has nothing but
the stack under test and pytest, and the harness reads these without importing the stack.
"""

from __future__ import annotations

from typing import Final, Literal

#: The one check about the stack rather than a pattern: does it import and start at all?
STARTUP: Final = "startup"
#: The pattern of a check that belongs to no registration pattern (``startup``).
ANY_PATTERN: Final = "*"

CONSTRUCT: Final = "construct"
PER_REQUEST: Final = "per-request"
TEARDOWN: Final = "teardown"
ISOLATION_AFTER_ERROR: Final = "isolation-after-error"
CONCURRENCY: Final = "concurrency"
FRESH_READS: Final = "fresh-reads"
CRUD: Final = "crud"

#: Every check of a pattern, in the order the grid and the reports show them.
CHECK_IDS: tuple[str, ...] = (
    CONSTRUCT,
    PER_REQUEST,
    TEARDOWN,
    ISOLATION_AFTER_ERROR,
    CONCURRENCY,
    FRESH_READS,
    CRUD,
)

SESSION_AT_SETUP: Final = "session-at-setup"
DB_AT_SETUP: Final = "db-at-setup"
IN_APP_CONTEXT: Final = "in-app-context"
LAZY_PROXY: Final = "lazy-proxy"

#: The ways of registering a ModelView that the suite tries.
PATTERN_IDS: tuple[str, ...] = (SESSION_AT_SETUP, DB_AT_SETUP, IN_APP_CONTEXT, LAZY_PROXY)

#: What a check came to: pytest's own words, in every report.
Outcome = Literal["passed", "failed", "skipped", "error"]
PASSED: Final = "passed"
FAILED: Final = "failed"
SKIPPED: Final = "skipped"
ERROR: Final = "error"
OUTCOMES: tuple[Outcome, ...] = (PASSED, FAILED, SKIPPED, ERROR)
