"""The check-app report: per view, per check; rendered as a text table and as JSON.

A check's result is the engine's :class:`~flask_admin_compat.checks.judge.Finding` (its
outcome in the same words as ``result.json`` and pytest), with the cause check-app's
diagnosis names when it can tell.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass

from flask_admin_compat.checks import ids
from flask_admin_compat.checks.judge import Finding

#: The reason a page the app's own code broke was not checked (see walk.refused).
COULD_NOT_CHECK = "could not check"
#: Marks a detail line that is a traceback: in --json always, in the text with --verbose only.
TRACEBACK = "traceback: "

#: Every check, in report order; isolation-after-error only runs with --writes.
CHECKS = (ids.PER_REQUEST, ids.TEARDOWN, ids.ISOLATION_AFTER_ERROR, ids.CONCURRENCY)
READ_CHECKS = (ids.PER_REQUEST, ids.TEARDOWN, ids.CONCURRENCY)
MARKS: dict[str, str] = {ids.PASSED: "✓", ids.FAILED: "✗", ids.SKIPPED: "-", ids.ERROR: "!"}
REPORT_VERSION = 2


@dataclass(frozen=True)
class CheckResult:
    """One check of one view: what the engine found, and the cause when it can be told."""

    finding: Finding
    #: The registration pattern or override that caused a failure, when it can be told.
    cause: str = ""

    @property
    def check(self) -> str:
        return self.finding.check

    @property
    def outcome(self) -> str:
        return self.finding.outcome

    @property
    def message(self) -> str:
        return self.finding.message


#: What became of one write step of --writes.
SAVED = "saved"
NOT_SAVED = "not saved"
NOT_SENT = "not sent"


@dataclass(frozen=True)
class WritesRecord:
    """What ``--writes`` reached for one view: each step saved, not saved or not sent, and
    why not (the field and its validator's message, or the page's)."""

    create: str = NOT_SENT
    edit: str = NOT_SENT
    delete: str = NOT_SENT
    why: str = ""

    @property
    def saved(self) -> bool:
        """A real create, edit and delete, each one saved by the app."""
        return all(step == SAVED for step in (self.create, self.edit, self.delete))


@dataclass(frozen=True)
class ViewReport:
    admin: str
    endpoint: str
    url: str
    view_class: str
    defined_at: str
    model: str
    built_over: str
    checks: tuple[CheckResult, ...]
    notes: tuple[str, ...] = ()
    #: With --writes: what its writes reached.
    writes: WritesRecord | None = None

    @property
    def failed(self) -> bool:
        return any(c.outcome == ids.FAILED for c in self.checks)

    @property
    def checked(self) -> bool:
        """At least one check reached a verdict (all skipped: the view was never checked)."""
        return any(c.outcome != ids.SKIPPED for c in self.checks)

    def result(self, check: str) -> CheckResult | None:
        return next((c for c in self.checks if c.check == check), None)


@dataclass(frozen=True)
class AppReport:
    app: str
    databases: tuple[str, ...]
    versions: tuple[tuple[str, str], ...]
    writes: bool
    views: tuple[ViewReport, ...]

    @property
    def failed(self) -> bool:
        return any(v.failed for v in self.views)

    @property
    def checked(self) -> bool:
        return any(v.checked for v in self.views)


def databases_text(databases: tuple[str, ...]) -> str:
    """Printed before any request runs, so a user sees which database will be touched."""
    return "databases: " + (", ".join(databases) if databases else "(no engine found)")


def writes_text(record: WritesRecord) -> str:
    steps = f"create {record.create}, edit {record.edit}, delete {record.delete}"
    return f"{steps}: {record.why}" if record.why else steps


def render_views(report: AppReport, *, verbose: bool = False) -> str:
    """A table per view: a mark per check, the first line of why, and the cause under it."""
    blocks = []
    for view in report.views:
        lines = [f"{view.endpoint}  {view.url}  {view.view_class}  ({view.defined_at})"]
        lines.append(f"  model {view.model}, built over {view.built_over}")
        width = max(len(c.check) for c in view.checks) if view.checks else 0
        for result in view.checks:
            why = f"  {result.message}" if result.message else ""
            lines.append(f"  {MARKS[result.outcome]} {result.check:<{width}}{why}".rstrip())
            if result.cause:
                lines.append(f"      cause: {result.cause}")
            for detail in result.finding.details:
                if detail.startswith(TRACEBACK) and not verbose:
                    continue
                lines.extend(f"      {line}" for line in detail.splitlines())
        if view.writes is not None:
            lines.append(f"  writes: {writes_text(view.writes)}")
        lines.extend(f"  note: {note}" for note in view.notes)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def skip_group(message: str) -> str:
    """What skipped checks are counted under: their reason without its particulars.

    ``behind a login (redirected to /login): pass --login ...`` -> ``behind a login
    (redirected to /login)``; ``could not check: OperationalError: no such table: x`` ->
    ``could not check: OperationalError``.
    """
    parts = message.split(": ")
    return ": ".join(parts[: 2 if parts[0] == COULD_NOT_CHECK else 1])


def skipped_by_reason(report: AppReport) -> dict[str, int]:
    """How many checks were skipped for each reason, most first."""
    counts = Counter(
        skip_group(result.message)
        for view in report.views
        for result in view.checks
        if result.outcome == ids.SKIPPED
    )
    return dict(counts.most_common())


#: How SQLite, PostgreSQL and MySQL say a table, or a column, is not there.
MISSING_TABLE = re.compile(
    r"no such table: (?P<sqlite>[\w.]+)|relation \"(?P<pg>[^\"]+)\" does not exist"
    r"|Table '(?P<mysql>[^']+)' doesn't exist"
)
MISSING_COLUMN = re.compile(
    r"no such column: (?P<sqlite>[\w.]+)|column (?P<pg>[\w.\"]+) does not exist"
    r"|Unknown column '(?P<mysql>[^']+)'"
)


def missing(report: AppReport, pattern: re.Pattern[str]) -> list[str]:
    """What the skipped checks' errors say is not in the database, in the order first met."""
    found: dict[str, None] = {}
    for view in report.views:
        for result in view.checks:
            if result.outcome == ids.SKIPPED:
                for match in pattern.finditer(result.message):
                    found[next(name for name in match.groups() if name)] = None
    return list(found)


def database_hints(report: AppReport) -> list[str]:
    """A line for a database that is not ready: tables not created, a schema behind."""
    hints = []
    tables, columns = missing(report, MISSING_TABLE), missing(report, MISSING_COLUMN)
    if tables:
        hints.append(
            f"hint: the app's database has no table {', '.join(tables)} yet: create its "
            "tables first (db.create_all(), `flask db upgrade`, or the app's own command)"
        )
    if columns:
        hints.append(
            f"hint: the app's database has no column {', '.join(columns)}: its schema is "
            "older than the models; migrate it (or point the app at a fresh database) first"
        )
    return hints


def summary_text(report: AppReport) -> str:
    counts: dict[str, int] = dict.fromkeys(ids.OUTCOMES, 0)
    for view in report.views:
        for result in view.checks:
            counts[result.outcome] += 1
    failing = [v.endpoint for v in report.views if v.failed]
    unchecked = [v.endpoint for v in report.views if not v.checked]
    said = f"{len(report.views)} view(s): {counts[ids.PASSED]} passed, {counts[ids.FAILED]} failed"
    said += f", {counts[ids.SKIPPED]} skipped"
    named = [f"failing: {', '.join(failing)}"] if failing else []
    named += [f"not checked: {', '.join(unchecked)}"] if unchecked else []
    lines = [said + (f" ({'; '.join(named)})" if named else "")]
    lines += [f"  {n} skipped: {reason}" for reason, n in skipped_by_reason(report).items()]
    lines += [f"  {hint}" for hint in database_hints(report)]
    if report.writes:
        saved = [v for v in report.views if v.writes is not None and v.writes.saved]
        lines.append(
            f"  writes: {len(saved)} of {len(report.views)} view(s) saved a real "
            "create, edit and delete"
        )
        lines += [
            f"    not saved: {v.endpoint}: {v.writes.why}"
            for v in report.views
            if v.writes is not None and not v.writes.saved
        ]
    return "\n".join(lines)


def check_json(result: CheckResult) -> dict[str, object]:
    finding = asdict(result.finding)
    return {**finding, "surfaces_na": dict(result.finding.surfaces_na), "cause": result.cause}


def to_json(report: AppReport) -> str:
    """The same report as JSON, one document (``schema/checkapp-v2.schema.json``)."""
    data = {
        "version": REPORT_VERSION,
        "app": report.app,
        "databases": list(report.databases),
        "versions": dict(report.versions),
        "writes": report.writes,
        "failed": report.failed,
        "views": [
            {
                **{k: v for k, v in asdict(view).items() if k not in ("checks", "writes")},
                "checks": [check_json(result) for result in view.checks],
                "writes": asdict(view.writes) if view.writes is not None else None,
                "failed": view.failed,
            }
            for view in report.views
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
