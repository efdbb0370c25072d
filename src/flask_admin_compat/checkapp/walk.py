"""One view of a user's app, walked over every surface it offers, and judged by the engine.

Every surface the view offers (the engine's declarations, asked of the built view) is reached
by two requests at least; row ids come from the list page, never from a query of our own
through the view's Session (which could itself be what a broken view keeps). The checks are
the engine's: per-request over every request of the app's life that touched this view,
teardown over this view's requests, concurrency over readers sent at once.
"""

from __future__ import annotations

import html
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from flask_admin_compat.checks import ids, judge
from flask_admin_compat.checks import surfaces as s
from flask_admin_compat.checks.judge import Finding
from flask_admin_compat.checks.observe import Shared
from flask_admin_compat.checks.probe import Answer
from flask_admin_compat.checks.walk import Walked, Walker

from .diagnose import diagnose
from .discover import ViewInfo
from .report import COULD_NOT_CHECK, TRACEBACK, CheckResult, ViewReport, WritesRecord

READERS = 3
NO_ROW_FOR_DETAILS = "details not opened: the list shows no row"
NO_ROW_FOR_EDIT = "edit form not opened: the list shows no row"
#: A row's link on the view's own list page (a column may also link other views' rows).
ROW_LINK = r'href="(?P<href>[^"]*{base}{action}/\?id=[^"]*)"'
#: Search terms and filter values: any text makes the view build its query.
TERMS = ("a", "e")


@dataclass(frozen=True)
class Wrote:
    """What the --writes step found: isolation's verdict and notes on rows left or not made."""

    isolation: Finding
    record: WritesRecord
    notes: tuple[str, ...] = ()
    #: Pages the writes opened after all (their own row's details or edit form).
    opened: tuple[str, ...] = ()


#: Runs the --writes requests of one view after its read requests; see :mod:`.writes`.
WriteStep = Callable[[Walker, ViewInfo], Wrote]


def answered(answer: Answer) -> bool:
    """The view answered the request itself: not an error, not turned away to a login page."""
    return answer.ok and not answer.refused


def row_links(body: str, base_url: str, action: str) -> list[str]:
    """The view's ``details/?id=`` or ``edit/?id=`` links on a list page, unescaped."""
    found = re.finditer(ROW_LINK.format(base=re.escape(base_url), action=action), body)
    return list(dict.fromkeys(html.unescape(m.group("href")) for m in found))


def edit_surface(info: ViewInfo) -> str:
    return s.INLINE_MODELS if not s.BY_NAME[s.INLINE_MODELS].offered(info.view) else s.EDIT


def read_walk(walker: Walker, info: ViewInfo) -> tuple[Answer | None, list[str]]:
    """Every surface the view offers that only reads, each twice; the first list and notes."""
    base, view, v = info.base_url, info.view, walker.visit
    listing = v(s.LIST, "GET", base)
    if listing is None or not answered(listing):
        return listing, []
    notes: list[str] = []
    for term in TERMS:
        v(s.SEARCH, "GET", s.BY_NAME[s.SEARCH].url(base, term=term))
    key = filter_key(view)
    if key is not None:
        for term in TERMS:
            v(s.FILTER, "GET", s.BY_NAME[s.FILTER].url(base, key=key, value=term))
    v(s.SORT, "GET", s.BY_NAME[s.SORT].url(base, column=0))
    v(s.SORT, "GET", s.BY_NAME[s.SORT].url(base, column=0, extra="desc=1"))
    for page in (1, 0):
        v(s.PAGINATION, "GET", s.BY_NAME[s.PAGINATION].url(base, page=page))
    if info.can_view_details:
        details = row_links(listing.body, base, "details")
        for link in (details * 2)[:2]:
            v(s.DETAILS, "GET", link)
        if not details:
            notes.append(NO_ROW_FOR_DETAILS)
    if info.can_create:
        for _ in range(2):
            v(s.CREATE, "GET", base + "new/")
    if info.can_edit:
        edits = row_links(listing.body, base, "edit")
        for link in (edits * 2)[:2]:
            v(edit_surface(info), "GET", link)
        if not edits:
            notes.append(NO_ROW_FOR_EDIT)
    for name in info.ajax_refs:
        for _ in range(2):
            v(s.AJAX_LOOKUP, "GET", s.BY_NAME[s.AJAX_LOOKUP].url(base, field=name, query=""))
    for _ in range(2):
        v(s.EXPORT, "GET", s.BY_NAME[s.EXPORT].url(base))
    return listing, notes


def filter_key(view: object) -> str | None:
    """``flt0_<arg>`` of the view's first filter that takes a short text, if any."""
    for index, flt in enumerate(getattr(view, "_filters", None) or ()):
        try:
            if all(flt.validate(term) for term in TERMS):
                return f"flt0_{view.get_filter_arg(index, flt)}"  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001, S112 - a filter that cannot say: not ours to send
            continue
    return None


#: What a request's error says when a kept Session broke it: a scoping observation, so a
#: failure. Any other error (a missing table, a template, the app's own code) is not.
SCOPING_ERRORS = (
    "PendingRollbackError",
    "DetachedInstanceError",
    "ResourceClosedError",
    "is already attached to session",
    "another operation is in progress",
    "objects created in a thread can only be used in that same thread",
    "This session is in",
    "Can't reconnect until invalid transaction is rolled back",
    "This transaction is inactive",
    "concurrent operations are not permitted",
    "is not bound to a Session",
)
LOGIN_HINT = "pass --login MODULE:CALLABLE"


def login_reason(answer: Answer, *, logged_in: bool) -> str:
    """``behind a login (redirected to /login): pass --login MODULE:CALLABLE``."""
    if 300 <= answer.status < 400:
        where = urlsplit(answer.location).path or answer.location
        said = f"behind a login (redirected to {where})"
    else:
        said = f"behind a login (answered {answer.status})"
    if logged_in:
        return f"{said}, with --login: log in a user the view accepts"
    return f"{said}: {LOGIN_HINT}"


def scoping_error(answer: Answer) -> bool:
    return any(symptom in answer.error for symptom in SCOPING_ERRORS)


def refused(check: str, answer: Answer, *, logged_in: bool = False, trace: str = "") -> Finding:
    """A request that did not answer: a skip with its reason, unless a kept Session broke it.

    Turned away (a login page, 401, 403) is skipped with the --login hint; an error of the
    app's own (a missing table, a template, its hooks) is skipped as "could not check", its
    traceback kept in the details for --json and --verbose. Only an error that a kept Session
    causes is a failure: the checks fail on scoping observations alone.
    """
    if answer.refused:
        return judge.skipped(check, login_reason(answer, logged_in=logged_in))
    if scoping_error(answer):
        return Finding(check, ids.FAILED, answer.describe())
    cause = answer.error or answer.describe()
    details = (TRACEBACK + trace,) if trace else ()
    return replace(judge.skipped(check, f"{COULD_NOT_CHECK}: {cause}"), details=details)


def touching(shared: Sequence[Shared], probes: set[str]) -> list[Shared]:
    """The Sessions kept across requests of which at least one was this view's."""
    return [kept for kept in shared if any(use.probe in probes for use in kept.uses)]


def _no_trace(probe: str) -> str:
    return ""


@dataclass(frozen=True)
class Unanswered:
    """How a request that did not answer is judged: whether --login is in use, and where the
    tracebacks of the app's errors are kept (by probe)."""

    logged_in: bool = False
    trace: Callable[[str], str] = _no_trace

    def __call__(self, check: str, answer: Answer) -> Finding:
        return refused(check, answer, logged_in=self.logged_in, trace=self.trace(answer.probe))


def per_request(
    walker: Walker, walked: Walked, info: ViewInfo, unanswered: Unanswered
) -> CheckResult:
    """A Session kept across requests fails it, whatever else happened; else a request that
    did not answer skips it (nothing else was seen to judge by)."""
    probes = {v.answer.probe for v in walked.visits}
    kept = touching(walker.prober.observer.ledger.shared(), probes)
    bad = next((v.answer for v in walked.visits if not answered(v.answer)), None)
    if bad is not None and not kept:
        return CheckResult(unanswered(ids.PER_REQUEST, bad))
    finding = judge.per_request(walked, kept, walker.prober.sent, every_surface_queries=False)
    if not kept:
        return CheckResult(finding)
    by_probe = {v.answer.probe: v.answer for v in walked.visits}
    answers = [by_probe[use.probe] for use in kept[0].uses if use.probe in by_probe]
    return CheckResult(finding, diagnose(walker.prober, info, kept[0].session, *answers))


def teardown(walked: Walked, unanswered: Unanswered) -> CheckResult:
    """What a request left open fails it; else a request that did not answer skips it (and
    so does a walk with no query at all to judge, when a request did not answer)."""
    bad = next((v.answer for v in walked.visits if not answered(v.answer)), None)
    queried = any(v.answer.sessions for v in walked.visits)
    found = judge.teardown(walked, every_surface_queries=False) if queried or bad is None else None
    if bad is not None and (found is None or not found.failed):
        return CheckResult(unanswered(ids.TEARDOWN, bad))
    assert found is not None
    return CheckResult(found)


def concurrency(walker: Walker, info: ViewInfo, unanswered: Unanswered) -> CheckResult:
    """READERS list requests at once, behind a start line: all answer, none share a Session.

    A reader that failed with an error of the app's own, with no Session shared, skips it
    ("could not check"), as any other check: only a scoping observation fails it.
    """
    prober = walker.prober

    def read() -> Answer:
        return prober.send("GET", info.base_url, label="reader")

    readers = [(s.LIST, read) for _ in range(READERS)]
    answers = judge.run_concurrently([], readers, [], threading.Event())
    finding = judge.concurrency(answers, ())
    if not finding.failed:
        return CheckResult(finding)
    answered = [a for _, a, _ in answers if isinstance(a, Answer)]
    shared = next(
        (
            (one, other, session)
            for i, one in enumerate(answered)
            for other in answered[i + 1 :]
            for session in judge.shared_sessions(one.sessions, other.sessions)
        ),
        None,
    )
    if shared is None:
        broken = [a for a in answered if not a.ok]
        quiet = [a for a in answered if a.ok and not a.sessions]
        every_one_finished = len(answered) == len(answers)
        apps_own = not any(scoping_error(answer) for answer in broken)
        if broken and not quiet and every_one_finished and apps_own:
            return CheckResult(unanswered(ids.CONCURRENCY, broken[0]))
        return CheckResult(finding)
    first, second, session = shared
    return CheckResult(finding, diagnose(prober, info, session, first, second))


def run_view(
    walker: Walker,
    info: ViewInfo,
    *,
    writes: WriteStep | None = None,
    unanswered: Unanswered | None = None,
    not_at_once: str = "",
) -> ViewReport:
    """Every check of one view; requests first, verdicts from what they observed.

    ``not_at_once``: why requests sent at once would say nothing of scoping here (the
    database is one connection): concurrency is skipped with that reason.
    """
    unanswered = unanswered or Unanswered()
    wrote: Wrote | None = None
    listing, notes = read_walk(walker, info)
    isolation: Finding | None = None
    if listing is not None and answered(listing):
        if writes is not None:
            wrote = writes(walker, info)
            isolation = wrote.isolation
            notes += wrote.notes
            unopened = {NO_ROW_FOR_DETAILS: "details", NO_ROW_FOR_EDIT: "edit"}
            notes = [n for n in notes if unopened.get(n) not in wrote.opened]
        walker.visit(s.LIST, "GET", info.base_url)
    walked = walker.walked()
    results = [per_request(walker, walked, info, unanswered), teardown(walked, unanswered)]
    record = wrote.record if wrote is not None else None
    if writes is not None:
        if isolation is None:
            first = listing or walked.visits[0].answer
            isolation = unanswered(ids.ISOLATION_AFTER_ERROR, first)
            record = WritesRecord(why=isolation.message)
        results.append(CheckResult(isolation))
    if listing is not None and answered(listing) and not_at_once:
        results.append(CheckResult(judge.skipped(ids.CONCURRENCY, not_at_once)))
    elif listing is not None and answered(listing):
        results.append(concurrency(walker, info, unanswered))
    elif listing is not None:
        results.append(CheckResult(unanswered(ids.CONCURRENCY, listing)))
    return ViewReport(
        admin=info.admin,
        endpoint=info.endpoint,
        url=info.url,
        view_class=info.view_class,
        defined_at=info.defined_at,
        model=info.model,
        built_over=info.session_kind,
        checks=tuple(results),
        notes=tuple(notes),
        writes=record,
    )
