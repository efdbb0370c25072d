"""The seven scoping checks, each run once per registration pattern, over every admin surface.

Every request goes through Flask's test client with no app context pushed around it, and
every verdict rests on what was observed (the Session objects SQLAlchemy's events saw over
the app's whole life, the pool's checkouts, rows read back through a separate engine), never
on what the test passed. The checks themselves are the engine's
(:mod:`flask_admin_compat.checks.judge`); this module gives them the fixture app's requests
and reports what they found. ``per-request`` runs last of a pattern's checks, so that it
judges every request the app served, whichever check sent it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from flask_admin_compat.checks import ids, judge
from flask_admin_compat.checks import surfaces as s

if TYPE_CHECKING:
    from flask_admin_compat.checks.judge import Finding
    from flask_admin_compat.checks.probe import Answer
    from flask_admin_compat.checks.walk import Walked

    from .app_factory import PatternApp

    #: The ``report`` fixture: records a finding's surfaces, then passes, fails or skips.
    Report = Callable[[Finding], None]


@pytest.mark.check(ids.CONSTRUCT)
def test_construct(stack_app: PatternApp, report: Report) -> None:
    available = [name for name in s.SURFACES if name not in stack_app.unavailable]
    problems = (
        [f"the admin views cannot be built this way: {stack_app.construct_error}"]
        if stack_app.construct_error
        else []
    )
    report(
        judge.finding(
            ids.CONSTRUCT,
            problems,
            exercised=available,
            failed=available,
            unavailable=stack_app.unavailable,
        )
    )


@pytest.mark.check(ids.TEARDOWN)
def test_teardown(tour: Walked, report: Report) -> None:
    report(judge.teardown(tour))


@pytest.mark.check(ids.CRUD)
def test_crud(tour: Walked, report: Report) -> None:
    report(judge.crud(tour))


@pytest.mark.check(ids.ISOLATION_AFTER_ERROR)
def test_isolation_after_error(admin_app: PatternApp, report: Report) -> None:
    taken = "isolation-taken"

    def lose_the_race(_model: Any) -> None:
        # Another connection takes the name after the admin's Unique validator passed and
        # before its commit, so the admin's INSERT breaks the constraint mid-transaction
        # (a duplicate typed in the form would only fail validation, touching nothing).
        admin_app.database.add_author(taken)

    assert admin_app.views is not None
    admin_app.views.author.change_hook = lose_the_race
    try:
        failed = admin_app.send(
            "POST", admin_app.url("author", "new"), "isolation-failing", {"name": taken}
        )
    finally:
        admin_app.views.author.change_hook = None
    # How the admin answers the failure (its form again with a message, or a 500) is not
    # the question; what the next requests meet is. The failed request is quoted last: the
    # report keeps a message's start.
    failure = f"(the create that broke the unique constraint: {failed.describe()})"
    listing = admin_app.send("GET", admin_app.url("author"), "isolation-next")
    created = admin_app.send(
        "POST", admin_app.url("author", "new"), "isolation-create", {"name": "isolation-new"}
    )
    names = admin_app.database.author_names()
    problems = []
    if not listing.ok:
        problems.append(
            "after a request failed mid-transaction, the next request failed: "
            f"{listing.describe()} {failure}"
        )
    elif "isolation-new" not in names:
        problems.append(
            "after a request failed mid-transaction, creating another author did not work: "
            f"{created.describe()} {failure}"
        )
    elif names != ["isolation-new", taken]:
        problems.append(
            f"after a request failed mid-transaction, the table holds {names}: the failed "
            f"write was not undone {failure}"
        )
    failed_on = [s.LIST] if not listing.ok else []
    failed_on += [s.CREATE] if names != ["isolation-new", taken] else []
    report(
        judge.finding(
            ids.ISOLATION_AFTER_ERROR,
            problems,
            exercised=[s.CREATE, s.LIST],
            failed=failed_on,
            unavailable=admin_app.unavailable,
        )
    )


@pytest.mark.check(ids.CONCURRENCY)
def test_concurrency(admin_app: PatternApp, report: Report) -> None:
    """Two writers paused mid-transaction on two surfaces, and readers on five at once.

    The author create flushes its row and waits; the post edit changes its row in its session
    and waits unflushed (SQLite allows one writer's flush at a time). Meanwhile readers list
    authors, search posts, show the edited post's details, look authors up through the ajax
    select and export posts: none may see either writer's uncommitted change, fail, or share
    a Session with any other request.
    """
    from sqlalchemy.orm import object_session

    database = admin_app.database
    seed = database.add_author("concurrency-seed")
    post_id = database.add_post("concurrency-post", seed)
    pending_author, pending_title = "concurrency-uncommitted", "concurrency-pending-title"
    entered = (threading.Event(), threading.Event())
    release = threading.Event()

    def hold(number: int, *, flush: bool) -> Callable[[Any], None]:
        def pause(model: Any) -> None:
            if flush:
                object_session(model).flush()
            entered[number].set()
            release.wait(judge.WAIT_S)

        return pause

    url, send = admin_app.url, admin_app.send
    writers = [
        (
            s.CREATE,
            lambda: send(
                "POST", url("author", "new"), "concurrency-writer-create", {"name": pending_author}
            ),
        ),
        (
            s.EDIT,
            lambda: send(
                "POST",
                url("post", "edit", f"id={post_id}"),
                "concurrency-writer-edit",
                {"title": pending_title, "author": str(seed)},
            ),
        ),
    ]
    readers = [
        (surface, reader(admin_app, path, f"concurrency-{surface}"))
        for surface, path in (
            (s.LIST, url("author")),
            (s.SEARCH, url("post", query="search=concurrency")),
            (s.DETAILS, url("post", "details", f"id={post_id}")),
            (s.AJAX_LOOKUP, url("postajax", "ajax/lookup") + "?name=author&query=concurrency"),
            (s.EXPORT, url("post", "export/csv")),
        )
        if surface not in admin_app.unavailable
    ]
    assert admin_app.views is not None
    admin_app.views.author.change_hook = hold(0, flush=True)
    admin_app.views.post.change_hook = hold(1, flush=False)
    try:
        answers = judge.run_concurrently(writers, readers, entered, release)
    finally:
        admin_app.views.author.change_hook = None
        admin_app.views.post.change_hook = None
    also = []
    if pending_author not in database.author_names():
        also.append((s.CREATE, "the writer's author was not committed"))
    if (post_id, pending_title, seed) not in database.posts():
        also.append((s.EDIT, "the writer's post edit was not committed"))
    report(
        judge.concurrency(
            answers, (pending_author, pending_title), unavailable=admin_app.unavailable, also=also
        )
    )


def reader(admin_app: PatternApp, path: str, label: str) -> Callable[[], Answer]:
    return lambda: admin_app.send("GET", path, label)


@pytest.mark.check(ids.FRESH_READS)
def test_fresh_reads(admin_app: PatternApp, report: Report) -> None:
    database, url = admin_app.database, admin_app.url
    database.add_author("fresh-original")
    first = admin_app.send("GET", url("author"), "fresh-1")
    problems = []
    if not first.ok:
        problems.append(f"listing authors in the admin failed: {first.describe()}")
    elif "fresh-original" not in first.body:
        problems.append("the admin's author list did not show the author")
    else:
        database.rename_author("fresh-original", "fresh-renamed")
        database.add_author("fresh-newcomer")
        second = admin_app.send("GET", url("author"), "fresh-2")
        stale = [
            f"{what} was not shown"
            for what, shown in (
                ("the renamed author", "fresh-renamed" in second.body),
                ("the new author", "fresh-newcomer" in second.body),
            )
            if not shown
        ]
        if "fresh-original" in second.body:
            stale.append("the author's old name was still shown")
        if not second.ok:
            problems.append(f"listing authors again failed: {second.describe()}")
        elif stale:
            problems.append(
                "after a change committed outside the admin by another connection, the "
                "admin's next author list was stale: " + "; ".join(stale)
            )
    report(
        judge.finding(
            ids.FRESH_READS,
            problems,
            exercised=[s.LIST],
            failed=[s.LIST],
            unavailable=admin_app.unavailable,
        )
    )


@pytest.mark.check(ids.PER_REQUEST)
def test_per_request(tour: Walked, admin_app: PatternApp, report: Report) -> None:
    """No Session served two requests of the app's life: the walk's, or any other check's."""
    report(judge.per_request(tour, admin_app.observer.ledger.shared(), admin_app.prober.sent))
