"""Check and pattern ids, spelled exactly as the harness's report reader expects them.

The harness keeps its own copy in ``flask_admin_compat.checks``; the suite must not import
it (a cell has only the stack under test and pytest), so the two agree through these strings
and the harness's tests compare them on a real report.
"""

from __future__ import annotations

STARTUP = "startup"
ANY_PATTERN = "*"

CONSTRUCT = "construct"
PER_REQUEST = "per-request"
TEARDOWN = "teardown"
ISOLATION_AFTER_ERROR = "isolation-after-error"
CONCURRENCY = "concurrency"
FRESH_READS = "fresh-reads"
CRUD = "crud"

SESSION_AT_SETUP = "session-at-setup"
DB_AT_SETUP = "db-at-setup"
IN_APP_CONTEXT = "in-app-context"
LAZY_PROXY = "lazy-proxy"

PATTERN_IDS: tuple[str, ...] = (SESSION_AT_SETUP, DB_AT_SETUP, IN_APP_CONTEXT, LAZY_PROXY)
