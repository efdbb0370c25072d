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
from dataclasses import dataclass

from flask_admin_compat.checks import ids, judge
from flask_admin_compat.checks import surfaces as s
from flask_admin_compat.checks.judge import Finding
from flask_admin_compat.checks.observe import Shared
from flask_admin_compat.checks.probe import Answer
from flask_admin_compat.checks.walk import Walked, Walker

from .diagnose import diagnose
from .discover import ViewInfo
from .report import CheckResult, ViewReport

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
    notes: tuple[str, ...] = ()
    #: Pages the writes opened after all (their own row's details or edit form).
    opened: tuple[str, ...] = ()


#: Runs the --writes requests of one view after its read requests; see :mod:`.writes`.
WriteStep = Callable[[Walker, ViewInfo], Wrote]


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
    if listing is None or not listing.ok:
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


def refused(check: str, answer: Answer) -> Finding:
    """A request that failed: turned away (skipped: not the view's fault) or broken (failed)."""
    if answer.refused:
        return judge.skipped(
            check,
            f"{answer.describe()}: the view is not accessible (is_accessible?); "
            "pass --login MODULE:CALLABLE",
        )
    return Finding(check, ids.FAILED, answer.describe())


def touching(shared: Sequence[Shared], probes: set[str]) -> list[Shared]:
    """The Sessions kept across requests of which at least one was this view's."""
    return [kept for kept in shared if any(use.probe in probes for use in kept.uses)]


def per_request(walker: Walker, walked: Walked, info: ViewInfo) -> CheckResult:
    bad = next((v.answer for v in walked.visits if not v.answer.ok), None)
    if bad is not None:
        return CheckResult(refused(ids.PER_REQUEST, bad))
    probes = {v.answer.probe for v in walked.visits}
    kept = touching(walker.prober.observer.ledger.shared(), probes)
    finding = judge.per_request(walked, kept, walker.prober.sent, every_surface_queries=False)
    if not kept:
        return CheckResult(finding)
    by_probe = {v.answer.probe: v.answer for v in walked.visits}
    answers = [by_probe[use.probe] for use in kept[0].uses if use.probe in by_probe]
    return CheckResult(finding, diagnose(walker.prober, info, kept[0].session, *answers))


def teardown(walked: Walked) -> CheckResult:
    bad = next((v.answer for v in walked.visits if not v.answer.ok), None)
    if bad is not None:
        return CheckResult(refused(ids.TEARDOWN, bad))
    return CheckResult(judge.teardown(walked, every_surface_queries=False))


def concurrency(walker: Walker, info: ViewInfo) -> CheckResult:
    """READERS list requests at once, behind a start line: all answer, none share a Session."""
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
        return CheckResult(finding)
    first, second, session = shared
    return CheckResult(finding, diagnose(prober, info, session, first, second))


def run_view(walker: Walker, info: ViewInfo, *, writes: WriteStep | None = None) -> ViewReport:
    """Every check of one view; requests first, verdicts from what they observed."""
    listing, notes = read_walk(walker, info)
    isolation: Finding | None = None
    if listing is not None and listing.ok:
        if writes is not None:
            wrote = writes(walker, info)
            isolation = wrote.isolation
            notes += wrote.notes
            unopened = {NO_ROW_FOR_DETAILS: "details", NO_ROW_FOR_EDIT: "edit"}
            notes = [n for n in notes if unopened.get(n) not in wrote.opened]
        walker.visit(s.LIST, "GET", info.base_url)
    walked = walker.walked()
    results = [per_request(walker, walked, info), teardown(walked)]
    if writes is not None:
        if isolation is None:
            first = listing or walked.visits[0].answer
            isolation = refused(ids.ISOLATION_AFTER_ERROR, first)
        results.append(CheckResult(isolation))
    if listing is not None and listing.ok:
        results.append(concurrency(walker, info))
    elif listing is not None:
        results.append(CheckResult(refused(ids.CONCURRENCY, listing)))
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
    )
