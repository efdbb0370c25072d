"""The check-app report: per view, per check; rendered as a text table and as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["pass", "fail", "skip"]
PER_REQUEST = "per-request"
TEARDOWN = "teardown"
ISOLATION_AFTER_ERROR = "isolation-after-error"
CONCURRENCY = "concurrency"
#: Every check, in report order; isolation-after-error only runs with --writes.
CHECKS = (PER_REQUEST, TEARDOWN, ISOLATION_AFTER_ERROR, CONCURRENCY)
READ_CHECKS = (PER_REQUEST, TEARDOWN, CONCURRENCY)
MARKS: dict[Status, str] = {"pass": "✓", "fail": "✗", "skip": "-"}
REPORT_VERSION = 1


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: Status
    #: The first line of why (empty for a pass).
    why: str = ""
    details: tuple[str, ...] = ()
    #: The registration pattern or override that caused a failure, when it can be told.
    cause: str = ""


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

    @property
    def failed(self) -> bool:
        return any(c.status == "fail" for c in self.checks)

    @property
    def checked(self) -> bool:
        """At least one check reached a verdict (all skipped: the view was never checked)."""
        return any(c.status != "skip" for c in self.checks)

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


def render_views(report: AppReport) -> str:
    """A table per view: a mark per check, the first line of why, and the cause under it."""
    blocks = []
    for view in report.views:
        where = view.defined_at
        lines = [f"{view.endpoint}  {view.url}  {view.view_class}  ({where})"]
        lines.append(f"  model {view.model}, built over {view.built_over}")
        width = max(len(c.check) for c in view.checks) if view.checks else 0
        for check in view.checks:
            why = f"  {check.why}" if check.why else ""
            lines.append(f"  {MARKS[check.status]} {check.check:<{width}}{why}".rstrip())
            if check.cause:
                lines.append(f"      cause: {check.cause}")
            lines.extend(f"      {detail}" for detail in check.details)
        lines.extend(f"  note: {note}" for note in view.notes)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def summary_text(report: AppReport) -> str:
    counts = {status: 0 for status in MARKS}
    for view in report.views:
        for check in view.checks:
            counts[check.status] += 1
    failing = [v.endpoint for v in report.views if v.failed]
    unchecked = [v.endpoint for v in report.views if not v.checked]
    said = f"{len(report.views)} view(s): {counts['pass']} passed, {counts['fail']} failed"
    said += f", {counts['skip']} skipped"
    named = [f"failing: {', '.join(failing)}"] if failing else []
    named += [f"not checked: {', '.join(unchecked)}"] if unchecked else []
    return said + (f" ({'; '.join(named)})" if named else "")


def to_json(report: AppReport) -> str:
    """The same report as JSON, one document."""
    data = asdict(report)
    data["version"] = REPORT_VERSION
    data["versions"] = dict(report.versions)
    data["failed"] = report.failed
    for view, raw in zip(report.views, data["views"], strict=True):
        raw["failed"] = view.failed
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
