"""The check functions: what was observed in, a :class:`Finding` out.

They send no request and read no page of their own: the walks (:mod:`.walk`) and the
observer's ledger (:mod:`.observe`) hold everything they judge, so the suite in the cells and
check-app on a user's app reach their verdicts by the same code, in the same words.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import ids
from . import surfaces as s
from .describe import describe_exception
from .observe import Shared
from .probe import Answer
from .walk import Walked

#: How many examples of one kind of problem a message quotes before "and N more".
EXAMPLES = 2
#: Longest a concurrent request is waited for; only reached when something is broken.
WAIT_S = 10.0
POLL_S = 0.01


@dataclass(frozen=True)
class Finding:
    """What one check found: its outcome, a message, and the surfaces it judged."""

    check: str
    outcome: ids.Outcome
    message: str = ""
    surfaces: tuple[str, ...] = ()
    failed_surfaces: tuple[str, ...] = ()
    surfaces_na: Mapping[str, str] = field(default_factory=dict)
    #: Lines under the message (check-app shows them; the suite's message holds them).
    details: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.outcome == ids.FAILED


def finding(
    check: str,
    problems: Sequence[str],
    *,
    exercised: Iterable[str],
    failed: Iterable[str] = (),
    unavailable: Mapping[str, str] | None = None,
    prefix: str = "",
) -> Finding:
    """Passed when there is no problem; else failed, the problems joined after ``prefix``."""
    return Finding(
        check,
        ids.FAILED if problems else ids.PASSED,
        prefix + "; ".join(problems) if problems else "",
        tuple(s.in_order(exercised)),
        tuple(s.in_order(failed)) if problems else (),
        dict(unavailable or {}),
    )


def skipped(check: str, why: str, *, unavailable: Mapping[str, str] | None = None) -> Finding:
    """A check that could not run: never a failure, its reason kept."""
    return Finding(check, ids.SKIPPED, why, surfaces_na=dict(unavailable or {}))


def quoted(examples: Sequence[str]) -> str:
    more = len(examples) - EXAMPLES
    return ", ".join(examples[:EXAMPLES]) + (f" and {more} more" if more > 0 else "")


def shared_sessions(first: Iterable[Any], second: Iterable[Any]) -> list[Any]:
    """The Sessions of ``first`` that are, by identity, also in ``second``."""
    others = list(second)
    return [session for session in first if any(session is other for other in others)]


def _pair_words(pair: tuple[str, ...]) -> str:
    return s.joined(pair) if len(pair) > 1 else f"two {pair[0]} requests"


def per_request(
    walked: Walked,
    shared: Sequence[Shared],
    where: Mapping[str, str],
    *,
    every_surface_queries: bool = True,
) -> Finding:
    """No Session object served two requests, over the app's whole life.

    ``shared`` comes from the observer's ledger (every request of the app so far, any check,
    any thread); ``where`` names each request by its probe (``GET /admin/post/``). A request
    that failed is still judged on its Sessions; that it failed is crud's finding.
    ``every_surface_queries``: the app is known to query on every surface it was walked over
    (the suite's fixture), so a surface that ran no query is a failure; on an unknown app
    (check-app) such a surface is only left unjudged, and nothing queried at all fails.
    """
    failed: list[str] = []
    by_pair: dict[tuple[str, ...], list[str]] = {}
    for kept in shared:
        surfaces = tuple(s.in_order(use.surface or "an unclassified request" for use in kept.uses))
        said = [where.get(use.probe, use.probe) for use in kept.uses]
        by_pair.setdefault(surfaces, []).append(
            " and ".join(said[:2]) + (f" (+{len(said) - 2} more)" if len(said) > 2 else "")
        )
        failed += surfaces
    problems = [
        f"{_pair_words(pair)} shared one Session ({quoted(examples)})"
        for pair, examples in by_pair.items()
    ]
    if problems:
        problems[-1] += (
            ": a view keeps a session beyond its request instead of a fresh one per request"
        )
    blind = _blind(walked)
    exercised = list(walked.exercised)
    if not every_surface_queries:
        exercised = [name for name in exercised if name not in blind]
        if walked.visits and not exercised:
            problems.append("no request ran a query through a Session")
        blind = []
    problems += [
        f"the {name} requests ran no query through a session: "
        + quoted([v.answer.describe() for v in walked.visits if v.surface == name])
        for name in blind
    ]
    if not walked.visits:
        problems.append("no admin surface could be visited")
    return finding(
        ids.PER_REQUEST,
        problems,
        exercised=exercised,
        failed=[*failed, *blind],
        unavailable=walked.unavailable,
    )


def _blind(walked: Walked) -> list[str]:
    used = {v.surface for v in walked.visits if v.answer.sessions}
    return [name for name in walked.exercised if name not in used]


def teardown(walked: Walked, *, every_surface_queries: bool = True) -> Finding:
    """Each request's Sessions end clean: no objects, no transaction, no connection out.

    ``every_surface_queries`` as for :func:`per_request`.
    """
    dirty: dict[str, list[str]] = {}
    for visit in walked.visits:
        if visit.leftovers:
            said = f"after {visit.where}: {', '.join(visit.leftovers)}"
            dirty.setdefault(visit.surface, []).append(said)
    unqueried = _blind(walked)
    blind = unqueried if every_surface_queries else []
    problems: list[str] = []
    if walked.visits and len(unqueried) == len(walked.exercised):
        problems.append("none of the admin requests ran a query through a session")
    elif dirty:
        problems.append(
            "when a request ended, its session was not cleaned up: "
            + "; ".join(f"{surface} ({quoted(said)})" for surface, said in dirty.items())
        )
    elif blind:
        problems.append(
            f"the {s.joined(blind)} requests ran no query through a session: nothing to judge"
        )
    return finding(
        ids.TEARDOWN,
        problems,
        exercised=walked.exercised,
        failed=[*dirty, *blind],
        unavailable=walked.unavailable,
    )


def crud(walked: Walked) -> Finding:
    """Each request did what it says: its page showed what was asked, its write was made."""
    wrong: dict[str, list[str]] = {}
    for visit in walked.visits:
        if visit.effect:
            wrong.setdefault(visit.surface, []).append(visit.effect)
    problems = [f"{surface}: {quoted(said)}" for surface, said in wrong.items()]
    return finding(
        ids.CRUD,
        ["; ".join(problems)] if problems else [],
        exercised=walked.exercised,
        failed=wrong,
        unavailable=walked.unavailable,
        prefix=f"the admin's {s.joined(wrong)} did not do what was asked: ",
    )


# Requests at once ------------------------------------------------------------------------

#: (surface, what came back or what went wrong, whether it was a reader).
Concurrent = tuple[str, "Answer | str", bool]


def run_concurrently(
    writers: Sequence[tuple[str, Callable[[], Answer]]],
    readers: Sequence[tuple[str, Callable[[], Answer]]],
    entered: Sequence[threading.Event],
    release: threading.Event,
) -> list[Concurrent]:
    """Each writer started and paused in turn (it sets its ``entered`` event), then every
    reader at once behind a start line, then all let go."""
    writer_threads: list[tuple[str, threading.Thread, list[Answer | str]]] = []
    reached = True
    for (surface, work), event in zip(writers, entered, strict=True):
        box: list[Answer | str] = []
        thread = _start(box, work)
        writer_threads.append((surface, thread, box))
        if not _wait_unless_finished(event, thread):
            reached = False
            break
    reader_threads: list[tuple[str, threading.Thread, list[Answer | str]]] = []
    if reached and readers:
        start_line = threading.Barrier(len(readers))
        for surface, work in readers:
            box = []
            reader_threads.append((surface, _start(box, _after(start_line, work)), box))
        for _, thread, _ in reader_threads:
            thread.join(WAIT_S)
    release.set()
    for _, thread, _ in writer_threads:
        thread.join(WAIT_S)
    late = {True: "a reader did not finish in time", False: "a writer did not finish in time"}
    outcomes: list[Concurrent] = []
    for is_reader, threads in ((False, writer_threads), (True, reader_threads)):
        outcomes += [
            (surface, box[0] if box else late[is_reader], is_reader) for surface, _, box in threads
        ]
    if not reached:
        outcomes.append(
            (writer_threads[-1][0], "the writer never reached its open transaction", False)
        )
    return outcomes


def _after(start_line: threading.Barrier, work: Callable[[], Answer]) -> Callable[[], Answer]:
    def run() -> Answer:
        start_line.wait(WAIT_S)
        return work()

    return run


def _wait_unless_finished(event: threading.Event, thread: threading.Thread) -> bool:
    """Wait for ``event``, but stop early when ``thread`` ended without setting it."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if event.wait(POLL_S):
            return True
        if not thread.is_alive():
            return event.is_set()
    return False


def _start(box: list[Answer | str], work: Callable[[], Answer]) -> threading.Thread:
    """Run ``work`` in a daemon thread, putting its Answer (or its exception, as text) in box."""

    def run() -> None:
        try:
            box.append(work())
        except Exception as exc:  # noqa: BLE001 - reported in the check's message
            box.append(describe_exception(exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _describe(answer: Answer | str) -> str:
    return answer if isinstance(answer, str) else answer.describe()


def concurrency_problems(
    outcomes: Sequence[Concurrent], pending: Sequence[str]
) -> tuple[list[str], list[str]]:
    """What went wrong among requests run at once, and on which surfaces.

    ``pending``: texts only an unfinished writer holds, which no reader may show.
    """
    problems: list[str] = []
    failed: list[str] = []
    if not any(is_reader for _, _, is_reader in outcomes):
        problems.append("the readers never ran: the writers did not reach their open transaction")
    for surface, answer, _ in outcomes:
        if isinstance(answer, str) or not answer.ok:
            problems.append(f"a concurrent {surface} request failed: {_describe(answer)}")
            failed.append(surface)
        elif not answer.sessions:
            problems.append(f"{answer.describe()} without running a query through a session")
            failed.append(surface)
    saw = [
        (surface, [text for text in pending if text in answer.body])
        for surface, answer, is_reader in outcomes
        if is_reader and not isinstance(answer, str)
    ]
    saw = [(surface, texts) for surface, texts in saw if texts]
    if saw:
        problems.append(
            f"readers on {s.joined(surface for surface, _ in saw)} showed another request's "
            f"uncommitted change ({', '.join(t for _, texts in saw for t in texts)})"
        )
        failed += [surface for surface, _ in saw]
    answered = [(surface, a) for surface, a, _ in outcomes if not isinstance(a, str)]
    shared = [
        (first, second)
        for number, (first, one) in enumerate(answered)
        for second, other in answered[number + 1 :]
        if shared_sessions(one.sessions, other.sessions)
    ]
    if shared:
        problems.append(
            "requests running at once shared one Session: "
            + ", ".join(
                dict.fromkeys(
                    s.joined({a, b}) if a != b else f"two {a} requests" for a, b in shared
                )
            )
        )
        failed += [name for pair in shared for name in pair]
    return problems, failed


def concurrency(
    outcomes: Sequence[Concurrent],
    pending: Sequence[str],
    *,
    unavailable: Mapping[str, str] | None = None,
    also: Sequence[tuple[str, str]] = (),
) -> Finding:
    """Requests at once: none failed, none showed a writer's uncommitted change, none shared
    a Session. ``also``: further (surface, problem) pairs a front end found afterwards."""
    problems, failed = concurrency_problems(outcomes, pending)
    problems += [problem for _, problem in also]
    failed += [surface for surface, _ in also]
    exercised = [surface for surface, _, _ in outcomes]
    return finding(
        ids.CONCURRENCY, problems, exercised=exercised, failed=failed, unavailable=unavailable
    )
