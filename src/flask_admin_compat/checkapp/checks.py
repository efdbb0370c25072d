"""The checks per view: the requests a view supports, and per-request, teardown, concurrency.

Row ids come from the list page, never from a query of our own through the view's Session
(which could itself be what a broken view keeps).
"""

from __future__ import annotations

import html
import itertools
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .diagnose import diagnose
from .discover import ViewInfo
from .probe import Answer, Prober
from .report import (
    CONCURRENCY,
    ISOLATION_AFTER_ERROR,
    PER_REQUEST,
    TEARDOWN,
    CheckResult,
    ViewReport,
)

READERS = 3
#: Seconds a reader waits for the others at the start line, and to finish.
WAIT_S = 10.0
#: Detail lines kept under a failing check's first line.
MORE_LINES = 2
NO_ROW_FOR_DETAILS = "details not opened: the list shows no row"
NO_ROW_FOR_EDIT = "edit form not opened: the list shows no row"
#: The labels of the writes' GETs of the pages of the row they made.
OWN_ROW_DETAILS = "details-own-row"
OWN_ROW_EDIT_FORM = "edit-form-own-row"
#: A note on a page not opened -> the request that opens it with --writes.
UNOPENED = {NO_ROW_FOR_DETAILS: OWN_ROW_DETAILS, NO_ROW_FOR_EDIT: OWN_ROW_EDIT_FORM}
#: A row's link on the view's own list page (a column may also link other views' rows).
ROW_LINK = r'href="(?P<href>[^"]*{base}{action}/\?id=[^"]*)"'


@dataclass(frozen=True)
class Requests:
    """What a view answered, in order, and what could not be sent."""

    answers: tuple[Answer, ...]
    notes: tuple[str, ...] = ()


#: Runs the --writes requests of one view after its read requests; see :mod:`.writes`.
WriteStep = Callable[[Prober, ViewInfo], tuple[Requests, CheckResult]]


def row_links(body: str, base_url: str, action: str) -> list[str]:
    """The view's ``details/?id=`` or ``edit/?id=`` links on a list page, unescaped."""
    found = re.finditer(ROW_LINK.format(base=re.escape(base_url), action=action), body)
    return [html.unescape(m.group("href")) for m in found]


def read_requests(prober: Prober, info: ViewInfo) -> Requests:
    """List (with its count query), details, create and edit forms, each ajax lookup.

    None of these change data: they are GETs of pages that only read.
    """
    listing = prober.get("list", info.base_url)
    if not listing.ok:
        return Requests((listing,))
    answers = [listing]
    notes = []
    if info.can_view_details:
        details = row_links(listing.body, info.base_url, "details")
        if details:
            answers.append(prober.get("details", details[0]))
        else:
            notes.append(NO_ROW_FOR_DETAILS)
    if info.can_create:
        answers.append(prober.get("create-form", info.base_url + "new/"))
    if info.can_edit:
        edits = row_links(listing.body, info.base_url, "edit")
        if edits:
            answers.append(prober.get("edit-form", edits[0]))
        else:
            notes.append(NO_ROW_FOR_EDIT)
    for name in info.ajax_refs:
        # Twice: a loader that keeps a Session of its own is only seen sharing it with itself.
        lookup = f"{info.base_url}ajax/lookup/?name={name}&query="
        answers.append(prober.get(f"ajax-{name}", lookup))
        answers.append(prober.get(f"ajax-{name}-again", lookup))
    return Requests(tuple(answers), tuple(notes))


def _shared(answers: Sequence[Answer]) -> tuple[Answer, Answer, Session] | None:
    for first, second in itertools.combinations(answers, 2):
        for session in first.sessions:
            if any(session is other for other in second.sessions):
                return first, second, session
    return None


def refused(check: str, answer: Answer) -> CheckResult:
    """A request that failed: turned away (skip: not the view's fault) or broken (fail)."""
    if answer.refused:
        return CheckResult(
            check,
            "skip",
            f"{answer.describe()}: the view is not accessible (is_accessible?); "
            "pass --login MODULE:CALLABLE",
        )
    return CheckResult(check, "fail", answer.describe())


def check_per_request(prober: Prober, info: ViewInfo, answers: Sequence[Answer]) -> CheckResult:
    """No Session object served two requests."""
    bad = next((a for a in answers if not a.ok), None)
    if bad is not None:
        return refused(PER_REQUEST, bad)
    if not any(a.sessions for a in answers):
        return CheckResult(PER_REQUEST, "fail", "no request ran a query through a Session")
    shared = _shared(answers)
    if shared is None:
        return CheckResult(PER_REQUEST, "pass")
    first, second, session = shared
    return CheckResult(
        PER_REQUEST,
        "fail",
        f"{first.label} and {second.label} used the same Session object",
        cause=diagnose(prober, info, session, first, second),
    )


def check_teardown(answers: Sequence[Answer], baseline: int) -> CheckResult:
    """After each response, its Sessions hold nothing and every pooled connection is back."""
    bad = next((a for a in answers if not a.ok), None)
    if bad is not None:
        return refused(TEARDOWN, bad)
    problems = []
    for answer in answers:
        found = list(answer.left)
        if answer.outstanding_after > baseline:
            found.append(
                f"{answer.outstanding_after - baseline} pooled connection(s) still checked out"
            )
        if found:
            problems.append(f"after {answer.label}: " + ", ".join(dict.fromkeys(found)))
    if problems:
        more = problems[1 : 1 + MORE_LINES]
        if len(problems) > 1 + MORE_LINES:
            more.append(f"... and after {len(problems) - 1 - MORE_LINES} more request(s)")
        return CheckResult(TEARDOWN, "fail", problems[0], tuple(more))
    return CheckResult(TEARDOWN, "pass")


def check_concurrency(prober: Prober, info: ViewInfo) -> CheckResult:
    """READERS list requests at once, behind a barrier: all answer, none share a Session."""
    start_line = threading.Barrier(READERS)
    boxes: list[list[Answer | str]] = [[] for _ in range(READERS)]

    def read(box: list[Answer | str]) -> None:
        try:
            prober.client()  # log in before the start line, not in the race
            start_line.wait(WAIT_S)
            box.append(prober.get("reader", info.base_url))
        except Exception as exc:  # noqa: BLE001 - any failure of a reader is its verdict
            box.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=read, args=(box,), daemon=True) for box in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S * 2)
    got = [box[0] if box else "a reader did not finish in time" for box in boxes]
    answers = [g for g in got if isinstance(g, Answer)]
    failed = [g for g in got if isinstance(g, str)] + [a.describe() for a in answers if not a.ok]
    if failed:
        return CheckResult(
            CONCURRENCY, "fail", f"a concurrent reader failed: {failed[0]}", tuple(failed[1:])
        )
    shared = _shared(answers)
    if shared is None:
        return CheckResult(CONCURRENCY, "pass")
    first, second, session = shared
    return CheckResult(
        CONCURRENCY,
        "fail",
        f"{READERS} readers at once shared one Session object",
        cause=diagnose(prober, info, session, first, second),
    )


def run_view(prober: Prober, info: ViewInfo, *, writes: WriteStep | None = None) -> ViewReport:
    """Every check of one view; requests first, verdicts from what they observed."""
    baseline = prober.observer.outstanding
    reads = read_requests(prober, info)
    answers = list(reads.answers)
    notes = list(reads.notes)
    listing = answers[0]
    isolation: CheckResult | None = None
    if listing.ok:
        if writes is not None:
            written, isolation = writes(prober, info)
            answers += written.answers
            notes += written.notes
            # The row the writes made opened these pages after all.
            opened = {a.label for a in written.answers}
            notes = [n for n in notes if UNOPENED.get(n) not in opened]
        answers.append(prober.get("list-again", info.base_url))
    results = [check_per_request(prober, info, answers), check_teardown(answers, baseline)]
    if writes is not None:
        results.append(isolation or refused(ISOLATION_AFTER_ERROR, listing))
    if listing.ok:
        results.append(check_concurrency(prober, info))
    else:
        results.append(refused(CONCURRENCY, listing))
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
