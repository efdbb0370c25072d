"""The seven scoping checks, each run once per registration pattern.

Every request goes through Flask's test client with no app context pushed around it, and
every verdict rests on what was observed (the Session objects SQLAlchemy's events saw, the
pool's checkouts, rows read back through a separate engine), never on what the test passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import pytest

from . import ids

if TYPE_CHECKING:
    from .app_factory import PatternApp
    from .probes import Answer

#: Longest a check waits for another thread; only reached when something is broken.
WAIT_S = 10.0
READERS = 3
POLL_S = 0.01


def require_ok(answer: Answer, doing: str) -> None:
    assert answer.ok, f"{doing}: {answer.describe()}"


def require_sessions(answer: Answer) -> None:
    assert answer.sessions, f"{answer.describe()} without running any query through a session"


def shared_sessions(first: Iterable[Any], second: Iterable[Any]) -> list[Any]:
    others = list(second)
    return [session for session in first if any(session is other for other in others)]


@pytest.mark.check(ids.CONSTRUCT)
def test_construct(stack_app: PatternApp) -> None:
    assert not stack_app.construct_error, (
        f"the admin views cannot be built this way: {stack_app.construct_error}"
    )


@pytest.mark.check(ids.PER_REQUEST)
def test_per_request(admin_app: PatternApp) -> None:
    admin_app.observer.add_author("per-request-author")
    # Reads and writes both: a view can reach its session by more than one path (a create
    # also runs the form's Unique validator), and each path must be fresh per request.
    pairs = (
        ("listing authors", [("GET", None), ("GET", None)]),
        (
            "creating authors",
            [("POST", {"name": "per-request-1"}), ("POST", {"name": "per-request-2"})],
        ),
    )
    for doing, requests in pairs:
        first, second = (
            admin_app.send(
                method, admin_app.url("author", "new" if data else ""), f"{doing}-{n}", data
            )
            for n, (method, data) in enumerate(requests)
        )
        for answer in (first, second):
            require_ok(answer, f"{doing} in the admin failed")
            require_sessions(answer)
        assert not shared_sessions(first.sessions, second.sessions), (
            f"two requests {doing} in the admin used the same Session object: the view keeps "
            "a session beyond its request instead of a fresh one per request"
        )


@pytest.mark.check(ids.TEARDOWN)
def test_teardown(admin_app: PatternApp) -> None:
    from .probes import leftovers

    author_id = admin_app.observer.add_author("teardown-author")
    admin_app.observer.add_post("teardown-post", author_id)
    requests = (
        ("GET", admin_app.url("author"), None),
        ("GET", admin_app.url("post"), None),
        ("GET", admin_app.url("post", "new"), None),
        ("POST", admin_app.url("author", "new"), {"name": "teardown-created"}),
    )
    problems: list[str] = []
    used: list[Any] = []
    for number, (method, path, data) in enumerate(requests):
        answer = admin_app.send(method, path, f"teardown-{number}", data)
        used.extend(answer.sessions)
        found = [item for session in answer.sessions for item in leftovers(session)]
        if admin_app.pool.outstanding:
            found.append(f"{admin_app.pool.outstanding} pooled connection(s) still checked out")
        idle = admin_app.observer.idle_in_transaction()
        if idle:
            found.append(f"{idle} server connection(s) left idle in transaction")
        if found:
            problems.append(f"after {answer.describe()}: its session " + ", ".join(found))
    assert used, "none of the admin requests ran a query through a session"
    assert not problems, "when a request ended, its session was not cleaned up: " + "; ".join(
        problems
    )


@pytest.mark.check(ids.ISOLATION_AFTER_ERROR)
def test_isolation_after_error(admin_app: PatternApp) -> None:
    taken = "isolation-taken"

    def lose_the_race(_model: Any) -> None:
        # Another connection takes the name after the admin's Unique validator passed and
        # before its commit, so the admin's INSERT breaks the constraint mid-transaction
        # (a duplicate typed in the form would only fail validation, touching nothing).
        admin_app.observer.add_author(taken)

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
    assert listing.ok, (
        f"after a request failed mid-transaction, the next request failed: "
        f"{listing.describe()} {failure}"
    )
    created = admin_app.send(
        "POST", admin_app.url("author", "new"), "isolation-create", {"name": "isolation-new"}
    )
    names = admin_app.observer.author_names()
    assert "isolation-new" in names, (
        "after a request failed mid-transaction, creating another author did not work: "
        f"{created.describe()} {failure}"
    )
    assert names == ["isolation-new", taken], (
        f"after a request failed mid-transaction, the table holds {names}: the failed write "
        f"was not undone {failure}"
    )


@pytest.mark.check(ids.CONCURRENCY)
def test_concurrency(admin_app: PatternApp) -> None:
    from sqlalchemy.orm import object_session

    admin_app.observer.add_author("concurrency-seed")
    pending = "concurrency-uncommitted"
    entered, release = threading.Event(), threading.Event()

    def hold_uncommitted(model: Any) -> None:
        # Flush so the row is in the writer's open transaction, then wait while readers run.
        object_session(model).flush()
        entered.set()
        release.wait(WAIT_S)

    assert admin_app.views is not None
    admin_app.views.author.change_hook = hold_uncommitted
    try:
        writer, answers = run_concurrently(admin_app, pending, entered, release)
    finally:
        admin_app.views.author.change_hook = None
    problems = concurrency_problems(writer, answers, pending)
    if pending not in admin_app.observer.author_names():
        problems.append(f"the writer's author was not committed ({describe(writer)})")
    assert not problems, "; ".join(problems)


def run_concurrently(
    admin_app: PatternApp, pending: str, entered: threading.Event, release: threading.Event
) -> tuple[Answer | str, list[Answer | str]]:
    """One writer paused mid-create, and readers listing authors all at once meanwhile."""
    writer_box: list[Answer | str] = []
    writer = start_thread(
        writer_box,
        lambda: admin_app.send(
            "POST", admin_app.url("author", "new"), "concurrency-writer", {"name": pending}
        ),
    )
    boxes: list[list[Answer | str]] = []
    if wait_unless_finished(entered, writer):
        start_line = threading.Barrier(READERS)
        readers = []
        for number in range(READERS):
            boxes.append([])
            readers.append(
                start_thread(boxes[-1], reader(admin_app, start_line, f"concurrency-{number}"))
            )
        for thread in readers:
            thread.join(WAIT_S)
    release.set()
    writer.join(WAIT_S)
    answers = [box[0] if box else "a reader did not finish in time" for box in boxes]
    return (writer_box[0] if writer_box else "the writer did not finish in time"), answers


def wait_unless_finished(event: threading.Event, thread: threading.Thread) -> bool:
    """Wait for ``event``, but stop early when ``thread`` ended without setting it."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if event.wait(POLL_S):
            return True
        if not thread.is_alive():
            return event.is_set()
    return False


def reader(
    admin_app: PatternApp, start_line: threading.Barrier, probe: str
) -> Callable[[], Answer]:
    def read() -> Answer:
        start_line.wait(WAIT_S)
        return admin_app.send("GET", admin_app.url("author"), probe)

    return read


def start_thread(box: list[Answer | str], work: Callable[[], Answer]) -> threading.Thread:
    """Run ``work`` in a daemon thread, putting its Answer (or its exception, as text) in box."""

    def run() -> None:
        try:
            box.append(work())
        except Exception as exc:  # noqa: BLE001 - reported in the check's message
            from .stack import describe_exception

            box.append(describe_exception(exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def describe(answer: Answer | str) -> str:
    return answer if isinstance(answer, str) else answer.describe()


def concurrency_problems(
    writer: Answer | str, readers: list[Answer | str], pending: str
) -> list[str]:
    if not readers:
        return [f"the writer never reached its open transaction: {describe(writer)}"]
    problems: list[str] = []
    everyone = [writer, *readers]
    for answer in everyone:
        if isinstance(answer, str) or not answer.ok:
            problems.append(f"a concurrent request failed: {describe(answer)}")
        elif not answer.sessions:
            problems.append(f"{answer.describe()} without running a query through a session")
    saw = [a for a in readers if not isinstance(a, str) and pending in a.body]
    if saw:
        problems.append(
            f"{len(saw)} of {len(readers)} readers' author lists showed another request's "
            "uncommitted author"
        )
    answered = [answer for answer in everyone if not isinstance(answer, str)]
    shared = [
        f"{first.probe} & {second.probe}"
        for number, first in enumerate(answered)
        for second in answered[number + 1 :]
        if shared_sessions(first.sessions, second.sessions)
    ]
    if shared:
        problems.append("requests running at once shared one Session: " + ", ".join(shared))
    return problems


@pytest.mark.check(ids.FRESH_READS)
def test_fresh_reads(admin_app: PatternApp) -> None:
    admin_app.observer.add_author("fresh-original")
    first = admin_app.send("GET", admin_app.url("author"), "fresh-1")
    require_ok(first, "listing authors in the admin failed")
    assert "fresh-original" in first.body, "the admin's author list did not show the author"
    admin_app.observer.rename_author("fresh-original", "fresh-renamed")
    admin_app.observer.add_author("fresh-newcomer")
    second = admin_app.send("GET", admin_app.url("author"), "fresh-2")
    require_ok(second, "listing authors again failed")
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
    assert not stale, (
        "after a change committed outside the admin by another connection, the admin's next "
        "author list was stale: " + "; ".join(stale)
    )


@pytest.mark.check(ids.CRUD)
def test_crud(admin_app: PatternApp) -> None:
    observer = admin_app.observer
    for name in ("crud-ada", "crud-grace"):
        created = admin_app.send(
            "POST", admin_app.url("author", "new"), f"crud-{name}", {"name": name}
        )
        assert name in observer.author_names(), (
            f"creating an author through the admin form did not persist: {created.describe()}"
        )
    authors = observer.author_ids()
    form = admin_app.send("GET", admin_app.url("post", "new"), "crud-post-form")
    require_ok(form, "the admin's create-post form (with its author select field) failed")
    assert "crud-grace" in form.body, "the author select field did not list the authors"

    created = admin_app.send(
        "POST",
        admin_app.url("post", "new"),
        "crud-post-create",
        {"title": "crud-first", "author": str(authors["crud-ada"])},
    )
    posts = observer.posts()
    assert [(title, author) for _, title, author in posts] == [
        ("crud-first", authors["crud-ada"])
    ], f"creating a post with its author through the admin did not persist: {created.describe()}"
    post_id = posts[0][0]
    assert_listed(admin_app, "crud-list-1", ["crud-first", "crud-ada"], [])

    edit_url = admin_app.url("post", "edit", f"id={post_id}")
    form = admin_app.send("GET", edit_url, "crud-edit-form")
    require_ok(form, "the admin's edit-post form failed")
    edited = admin_app.send(
        "POST",
        edit_url,
        "crud-edit",
        {"title": "crud-edited", "author": str(authors["crud-grace"])},
    )
    assert observer.posts() == [(post_id, "crud-edited", authors["crud-grace"])], (
        f"editing the post's title and author through the admin did not persist: "
        f"{edited.describe()}"
    )
    assert_listed(admin_app, "crud-list-2", ["crud-edited", "crud-grace"], ["crud-first"])

    deleted = admin_app.send(
        "POST", admin_app.url("post", "delete"), "crud-delete", {"id": str(post_id)}
    )
    assert observer.posts() == [], (
        f"deleting the post through the admin did not persist: {deleted.describe()}"
    )
    assert_listed(admin_app, "crud-list-3", [], ["crud-edited"])


def assert_listed(admin_app: PatternApp, probe: str, shown: list[str], gone: list[str]) -> None:
    """A new request to the post list shows ``shown`` and none of ``gone``."""
    listing = admin_app.send("GET", admin_app.url("post"), probe)
    require_ok(listing, "listing posts in the admin failed")
    missing = [text for text in shown if text not in listing.body]
    lingering = [text for text in gone if text in listing.body]
    assert not missing, f"a new request to the post list did not show {missing}"
    assert not lingering, f"a new request to the post list still showed {lingering}"
