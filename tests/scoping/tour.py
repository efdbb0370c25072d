"""One request sequence over every admin surface, observed once and judged by three checks.

``per-request`` (no Session serves two requests), ``teardown`` (each request ends clean) and
``crud`` (each request did what it says) ask different questions of the same requests, so a
pattern's app walks the surfaces once per attempt and the checks read the record: the suite's
coverage grows with the surfaces while its requests are paid for once.

Each visit is recorded right when its request ended: the sessions it used, what they still
held, the pooled connections it left checked out (counted as a change, so a connection kept
by one surface is not blamed on every later one), and whether its effect is what was asked,
read through the observer's own engine.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import surfaces as s

if TYPE_CHECKING:
    from .app_factory import PatternApp
    from .probes import Answer, FormData

AUTHORS = ("ada", "grace", "linus")
#: Two posts per author: six rows, over two pages of ``PAGE_SIZE``.
POSTS = tuple(f"{author}-{n}" for author in AUTHORS for n in (1, 2))

INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
ATTRIBUTE = re.compile(r'\b(name|value)="([^"]*)"', re.IGNORECASE)
INLINE_FIELD = re.compile(r"^(posts-\d+)-(id|title)$")


@dataclass(frozen=True)
class Visit:
    """One request of the sequence and what was seen when it ended."""

    surface: str
    answer: Answer
    #: What its sessions still held, and connections or server transactions it left open.
    leftovers: tuple[str, ...]
    #: Why its effect is not what was asked (crud's question); empty when it is.
    effect: str = ""


@dataclass(frozen=True)
class Tour:
    visits: tuple[Visit, ...]
    #: The surfaces it visited, in order; those the installed Flask-Admin lacks are not here.
    exercised: tuple[str, ...]
    unavailable: dict[str, str] = field(default_factory=dict)


Expect = Callable[["Answer"], str]


def shows(*present: str, hidden: tuple[str, ...] = ()) -> Expect:
    """The page must show every text of ``present`` and none of ``hidden``."""

    def check(answer: Answer) -> str:
        missing = [text for text in present if text not in answer.body]
        lingering = [text for text in hidden if text in answer.body]
        said = []
        if missing:
            said.append(f"did not show {missing}")
        if lingering:
            said.append(f"still showed {lingering}")
        return " and ".join(said)

    return check


class Walker:
    """Sends the sequence's requests and records each visit as it ends."""

    def __init__(self, app: PatternApp, label: str) -> None:
        self.app = app
        self.label = label
        self.visits: list[Visit] = []

    def visit(
        self,
        surface: str,
        method: str,
        path: str,
        data: FormData | None = None,
        *,
        expect: Expect | None = None,
        effect: Callable[[], str] | None = None,
    ) -> Answer | None:
        """One request on ``surface``; skipped (None) when the installed admin lacks it."""
        if surface in self.app.unavailable:
            return None
        from sqlalchemy.orm import close_all_sessions

        from .probes import leftovers

        app = self.app
        pool_before = app.pool.outstanding
        idle_before = app.observer.idle_in_transaction() or 0
        probe = f"{self.label}-{len(self.visits)}"
        answer = app.send(method, path, probe, data)
        found = [item for session in answer.sessions for item in leftovers(session)]
        pool_after = app.pool.outstanding
        if pool_after > pool_before:
            found.append(f"{pool_after - pool_before} pooled connection(s) still checked out")
        idle = (app.observer.idle_in_transaction() or 0) - idle_before
        if idle > 0:
            found.append(f"{idle} server connection(s) left idle in transaction")
        problem = ""
        if not answer.ok:
            problem = answer.describe()
        elif expect is not None and (said := expect(answer)):
            problem = f"{method} {path} {said} ({answer.describe()})"
        elif effect is not None and (said := effect()):
            problem = f"{said} ({answer.describe()})"
        self.visits.append(Visit(surface, answer, tuple(found), problem))
        # Recorded: now close whatever a broken stack left open, as each check used to start
        # clean. Otherwise a stack that leaks one connection a request starves the pool
        # halfway through the sequence, and every later request waits out the pool's timeout.
        # A Session kept across requests is still the same object, and is caught next time.
        close_all_sessions()
        return answer


def walk(app: PatternApp, label: str) -> Tour:
    """Seed the rows, then visit every surface the installed Flask-Admin offers, in order."""
    observer = app.observer
    authors = {name: observer.add_author(name) for name in AUTHORS}
    posts = {title: observer.add_post(title, authors[title.split("-")[0]]) for title in POSTS}
    walker = Walker(app, label)
    _reads(walker, app, posts)
    _writes(walker, app, authors, posts)
    _ajax_inline_export(walker, app, authors)
    exercised = s.in_order(v.surface for v in walker.visits)
    return Tour(tuple(walker.visits), tuple(exercised), dict(app.unavailable))


def _reads(walker: Walker, app: PatternApp, posts: dict[str, int]) -> None:
    from .app_factory import filter_key

    url, v = app.url, walker.visit
    v(s.LIST, "GET", url("post"), expect=shows("ada-1"))
    v(s.LIST, "GET", url("author"), expect=shows("grace"))
    v(s.SEARCH, "GET", url("post", query="search=ada"), expect=shows("ada-1", hidden=("grace-1",)))
    v(s.SEARCH, "GET", url("post", query="search=grace"),
      expect=shows("grace-2", hidden=("linus-1",)))  # fmt: skip
    key = filter_key(app.views.post) if app.views is not None else None
    if key is not None:
        v(s.FILTER, "GET", url("post", query=f"{key}=linus"),
          expect=shows("linus-1", hidden=("ada-1",)))  # fmt: skip
        v(s.FILTER, "GET", url("post", query=f"{key}=grace"),
          expect=shows("grace-1", hidden=("linus-2",)))  # fmt: skip
    # Sorted by title (column 0): the first page of four, descending then ascending.
    v(s.SORT, "GET", url("post", query="sort=0&desc=1"), expect=shows("linus-2", hidden=("ada-1",)))
    v(s.SORT, "GET", url("post", query="sort=0"), expect=shows("ada-1", hidden=("linus-2",)))
    # The second page: what is on it depends on the count query and the offset.
    v(s.PAGINATION, "GET", url("post", query="sort=0&page=1"),
      expect=shows("linus-1", "linus-2", hidden=("ada-1",)))  # fmt: skip
    v(s.PAGINATION, "GET", url("post", query="sort=0&desc=1&page=1"),
      expect=shows("ada-1", "ada-2", hidden=("linus-2",)))  # fmt: skip
    v(s.DETAILS, "GET", url("post", "details", f"id={posts['ada-1']}"), expect=shows("ada-1"))
    v(s.DETAILS, "GET", url("post", "details", f"id={posts['grace-1']}"), expect=shows("grace-1"))


def _writes(
    walker: Walker, app: PatternApp, authors: dict[str, int], posts: dict[str, int]
) -> None:
    url, v, observer = app.url, walker.visit, app.observer

    def post_is(title: str, author: str) -> Callable[[], str]:
        def check() -> str:
            rows = [(t, a) for _, t, a in observer.posts() if t == title]
            return (
                ""
                if rows == [(title, authors[author])]
                else (f"the post {title!r} by {author} was not saved as asked (rows: {rows})")
            )

        return check

    def author_saved(name: str) -> Callable[[], str]:
        return lambda: (
            "" if name in observer.author_names() else f"the author {name!r} was not saved"
        )

    def gone(*titles: str) -> Callable[[], str]:
        def check() -> str:
            left = [t for _, t, _ in observer.posts() if t in titles]
            return f"{left} were not deleted" if left else ""

        return check

    # create: the relationship select's query on the form and on its POST; the Unique
    # validator twice, as a release that captured its session at setup shows only then.
    v(s.CREATE, "GET", url("post", "new"), expect=shows("grace", "linus"))
    v(s.CREATE, "POST", url("post", "new"), {"title": "crud-first", "author": str(authors["ada"])},
      effect=post_is("crud-first", "ada"))  # fmt: skip
    for name in ("crud-author-1", "crud-author-2"):
        v(s.CREATE, "POST", url("author", "new"), {"name": name}, effect=author_saved(name))
    first = next((i for i, t, _ in observer.posts() if t == "crud-first"), None)
    if first is not None:
        edit = url("post", "edit", f"id={first}")
        v(s.EDIT, "GET", edit, expect=shows("crud-first"))
        v(s.EDIT, "POST", edit, {"title": "crud-edited", "author": str(authors["grace"])},
          effect=post_is("crud-edited", "grace"))  # fmt: skip
        # A new request to the list shows the edit, and no longer shows the deleted post.
        v(s.SEARCH, "GET", url("post", query="search=crud"),
          expect=shows("crud-edited", hidden=("crud-first",)))  # fmt: skip
        v(s.DELETE, "POST", url("post", "delete"), {"id": str(first)}, effect=gone("crud-edited"))
        v(s.SEARCH, "GET", url("post", query="search=crud"), expect=shows(hidden=("crud-edited",)))
    v(s.DELETE, "POST", url("post", "delete"), {"id": str(posts["linus-1"])},
      effect=gone("linus-1"))  # fmt: skip
    v(s.BATCH_DELETE, "POST", url("post", "action"),
      [("action", "delete"), ("rowid", str(posts["linus-2"])), ("rowid", str(posts["grace-2"]))],
      effect=gone("linus-2", "grace-2"))  # fmt: skip
    v(s.BATCH_DELETE, "POST", url("post", "action"),
      [("action", "delete"), ("rowid", str(posts["grace-1"]))], effect=gone("grace-1"))  # fmt: skip


def _ajax_inline_export(walker: Walker, app: PatternApp, authors: dict[str, int]) -> None:
    url, v, observer = app.url, walker.visit, app.observer
    lookup = url("postajax", "ajax/lookup")
    v(s.AJAX_LOOKUP, "GET", f"{lookup}?name=author&query=ad", expect=shows("ada"))
    v(s.AJAX_LOOKUP, "GET", f"{lookup}?name=author&query=gr", expect=shows("grace"))

    def via_ajax() -> str:
        rows = [(t, a) for _, t, a in observer.posts() if t == "via-ajax"]
        return (
            ""
            if rows == [("via-ajax", authors["ada"])]
            else (f"the post chosen through the ajax select was not saved as asked (rows: {rows})")
        )

    # The ajax select's POST loads the chosen author through the loader's session.
    v(s.AJAX_LOOKUP, "POST", url("postajax", "new"),
      {"title": "via-ajax", "author": str(authors["ada"])}, effect=via_ajax)  # fmt: skip

    edit = url("author", "edit", f"id={authors['ada']}")
    form = v(s.INLINE_MODELS, "GET", edit, expect=shows("ada-1", "ada-2"))
    if form is not None and form.ok:

        def inline_saved() -> str:
            names = observer.author_names()
            titles = sorted(t for _, t, a in observer.posts() if a == authors["ada"])
            wanted = ["ada-1", "ada-inline-new", "via-ajax"]
            if "ada-renamed" in names and titles == wanted:
                return ""
            return (
                f"the author's inline edit was not saved as asked (names {names}, posts {titles})"
            )

        v(s.INLINE_MODELS, "POST", edit, inline_form(form.body, "ada-renamed", "ada-2"),
          effect=inline_saved)  # fmt: skip
    v(s.EXPORT, "GET", url("post", "export/csv"), expect=shows("ada-1", "via-ajax"))
    v(s.EXPORT, "GET", url("post", "export/csv", "search=ada"), expect=shows("ada-1"))


def inline_form(body: str, new_name: str, drop_title: str) -> list[tuple[str, str]]:
    """The author's edit form posted back: renamed, one inline post deleted, one added.

    Read from the form as rendered (attribute order differs between Flask-Admin's templates),
    so that the inline rows' ids and prefixes are whatever the installed release made.
    """
    rows: dict[str, dict[str, str]] = {}
    for tag in INPUT.findall(body):
        attributes = {k.lower(): html.unescape(val) for k, val in ATTRIBUTE.findall(tag)}
        match = INLINE_FIELD.match(attributes.get("name", ""))
        if match:
            rows.setdefault(match.group(1), {})[match.group(2)] = attributes.get("value", "")
    data = [("name", new_name)]
    for prefix, fields in sorted(rows.items()):
        data.extend((f"{prefix}-{name}", value) for name, value in sorted(fields.items()))
        if fields.get("title") == drop_title:
            data.append((f"del-{prefix}", "on"))
    data.append((f"posts-{len(rows)}-title", f"{new_name.split('-')[0]}-inline-new"))
    return data
