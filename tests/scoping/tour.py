"""The fixture app's walk: every admin surface, each reached at least twice, over seeded rows.

``per-request``, ``teardown`` and ``crud`` ask different questions of the same requests, so a
pattern's app walks the surfaces once per attempt and the checks read the record (the engine's
:mod:`~flask_admin_compat.checks.walk`). Each request is built from the engine's declaration
of its surface; what this module adds is the fixture's own knowledge: the rows it seeded, and
what each page must show or each write must have done (read back through the suite's own
engine, never the admin's Session).

Every surface is reached by two requests or more within the app's life (two edit saves, two
inline saves, two exports, ...): a Session that one path keeps is only seen serving a second
request of that path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask_admin_compat.checks import surfaces as s
from flask_admin_compat.checks.pages import inline_rows
from flask_admin_compat.checks.walk import Walked, Walker, shows

if TYPE_CHECKING:
    from .app_factory import PatternApp

AUTHORS = ("ada", "grace", "linus")
#: Two posts per author: six rows, over two pages of ``PAGE_SIZE``.
POSTS = tuple(f"{author}-{n}" for author in AUTHORS for n in (1, 2))
#: The inline form list of the author view.
INLINE_RELATION = "posts"

Effect = Callable[[], str]


def walk(app: PatternApp, label: str) -> Walked:
    """Seed the rows, then visit every surface the installed Flask-Admin offers, in order."""
    database = app.database
    authors = {name: database.add_author(name) for name in AUTHORS}
    posts = {title: database.add_post(title, authors[title.split("-")[0]]) for title in POSTS}
    walker = Walker(
        app.prober, app.pool, label, unavailable=app.unavailable, server_idle=app.server_idle
    )
    _reads(walker, app, posts)
    _writes(walker, app, authors, posts)
    _ajax_inline_export(walker, app, authors)
    return walker.walked()


def _url(app: PatternApp, surface: str, endpoint: str, **fields: object) -> str:
    return s.BY_NAME[surface].url(app.base_url(endpoint), **fields)


def _reads(walker: Walker, app: PatternApp, posts: dict[str, int]) -> None:
    from .app_factory import filter_key

    v = walker.visit

    def url(surface: str, **fields: object) -> str:
        return _url(app, surface, "post", **fields)

    v(s.LIST, "GET", url(s.LIST), expect=shows("ada-1"))
    v(s.LIST, "GET", _url(app, s.LIST, "author"), expect=shows("grace"))
    v(s.SEARCH, "GET", url(s.SEARCH, term="ada"), expect=shows("ada-1", hidden=("grace-1",)))
    v(s.SEARCH, "GET", url(s.SEARCH, term="grace"), expect=shows("grace-2", hidden=("linus-1",)))
    key = filter_key(app.views.post) if app.views is not None else None
    if key is not None:
        v(
            s.FILTER,
            "GET",
            url(s.FILTER, key=key, value="linus"),
            expect=shows("linus-1", hidden=("ada-1",)),
        )
        v(
            s.FILTER,
            "GET",
            url(s.FILTER, key=key, value="grace"),
            expect=shows("grace-1", hidden=("linus-2",)),
        )
    # Sorted by title (column 0): the first page of four, descending then ascending.
    v(
        s.SORT,
        "GET",
        url(s.SORT, column=0, extra="desc=1"),
        expect=shows("linus-2", hidden=("ada-1",)),
    )
    v(s.SORT, "GET", url(s.SORT, column=0), expect=shows("ada-1", hidden=("linus-2",)))
    # The second page: what is on it depends on the count query and the offset.
    v(
        s.PAGINATION,
        "GET",
        url(s.PAGINATION, page=1, extra="sort=0"),
        expect=shows("linus-1", "linus-2", hidden=("ada-1",)),
    )
    v(
        s.PAGINATION,
        "GET",
        url(s.PAGINATION, page=1, extra="sort=0&desc=1"),
        expect=shows("ada-1", "ada-2", hidden=("linus-2",)),
    )
    v(s.DETAILS, "GET", url(s.DETAILS, id=posts["ada-1"]), expect=shows("ada-1"))
    v(s.DETAILS, "GET", url(s.DETAILS, id=posts["grace-1"]), expect=shows("grace-1"))


def _writes(
    walker: Walker, app: PatternApp, authors: dict[str, int], posts: dict[str, int]
) -> None:
    v, database = walker.visit, app.database

    def url(surface: str, endpoint: str = "post", **fields: object) -> str:
        return _url(app, surface, endpoint, **fields)

    def post_is(title: str, author: str) -> Effect:
        def check() -> str:
            rows = [(t, a) for _, t, a in database.posts() if t == title]
            if rows == [(title, authors[author])]:
                return ""
            return f"the post {title!r} by {author} was not saved as asked (rows: {rows})"

        return check

    def author_saved(name: str) -> Effect:
        return lambda: (
            "" if name in database.author_names() else f"the author {name!r} was not saved"
        )

    def gone(*titles: str) -> Effect:
        def check() -> str:
            left = [t for _, t, _ in database.posts() if t in titles]
            return f"{left} were not deleted" if left else ""

        return check

    # create: the relationship select's query on the form and on its POST; the Unique
    # validator twice, as a release that captured its session at setup shows only then.
    v(s.CREATE, "GET", url(s.CREATE), expect=shows("grace", "linus"))
    v(
        s.CREATE,
        "POST",
        url(s.CREATE),
        {"title": "crud-first", "author": str(authors["ada"])},
        effect=post_is("crud-first", "ada"),
    )
    for name in ("crud-author-1", "crud-author-2"):
        v(s.CREATE, "POST", url(s.CREATE, "author"), {"name": name}, effect=author_saved(name))
    first = next((i for i, t, _ in database.posts() if t == "crud-first"), None)
    if first is not None:
        edit = url(s.EDIT, id=first)
        v(s.EDIT, "GET", edit, expect=shows("crud-first"))
        # Saved twice: a save path that keeps its Session is seen serving the second save.
        v(
            s.EDIT,
            "POST",
            edit,
            {"title": "crud-edited", "author": str(authors["grace"])},
            effect=post_is("crud-edited", "grace"),
        )
        v(
            s.EDIT,
            "POST",
            edit,
            {"title": "crud-edited-again", "author": str(authors["linus"])},
            effect=post_is("crud-edited-again", "linus"),
        )
        # A new request to the list shows the edit, and no longer shows the deleted post.
        v(
            s.SEARCH,
            "GET",
            url(s.SEARCH, term="crud"),
            expect=shows("crud-edited-again", hidden=("crud-first",)),
        )
        v(s.DELETE, "POST", url(s.DELETE), {"id": str(first)}, effect=gone("crud-edited-again"))
        v(s.SEARCH, "GET", url(s.SEARCH, term="crud"), expect=shows(hidden=("crud-edited-again",)))
    v(s.DELETE, "POST", url(s.DELETE), {"id": str(posts["linus-1"])}, effect=gone("linus-1"))
    v(
        s.BATCH_DELETE,
        "POST",
        url(s.BATCH_DELETE),
        [("action", "delete"), ("rowid", str(posts["linus-2"])), ("rowid", str(posts["grace-2"]))],
        effect=gone("linus-2", "grace-2"),
    )
    v(
        s.BATCH_DELETE,
        "POST",
        url(s.BATCH_DELETE),
        [("action", "delete"), ("rowid", str(posts["grace-1"]))],
        effect=gone("grace-1"),
    )


def _ajax_inline_export(walker: Walker, app: PatternApp, authors: dict[str, int]) -> None:
    v, database = walker.visit, app.database
    lookup = s.BY_NAME[s.AJAX_LOOKUP]
    ajax_base = app.base_url("postajax")
    v(s.AJAX_LOOKUP, "GET", lookup.url(ajax_base, field="author", query="ad"), expect=shows("ada"))
    v(
        s.AJAX_LOOKUP,
        "GET",
        lookup.url(ajax_base, field="author", query="gr"),
        expect=shows("grace"),
    )

    def via_ajax() -> str:
        rows = [(t, a) for _, t, a in database.posts() if t == "via-ajax"]
        if rows == [("via-ajax", authors["ada"])]:
            return ""
        return f"the post chosen through the ajax select was not saved as asked (rows: {rows})"

    # The ajax select's POST loads the chosen author through the loader's session.
    v(
        s.AJAX_LOOKUP,
        "POST",
        _url(app, s.CREATE, "postajax"),
        {"title": "via-ajax", "author": str(authors["ada"])},
        effect=via_ajax,
    )

    # Two inline saves: each renames the author and changes its posts through the inline form.
    edit = _url(app, s.INLINE_MODELS, "author", id=authors["ada"])
    for name, drop, added, wanted in (
        ("ada-renamed", "ada-2", "ada-inline-new", ["ada-1", "ada-inline-new", "via-ajax"]),
        (
            "ada-renamed-again",
            "ada-1",
            "ada-inline-newer",
            ["ada-inline-new", "ada-inline-newer", "via-ajax"],
        ),
    ):
        form = v(s.INLINE_MODELS, "GET", edit, expect=shows(*wanted_before(wanted, added, drop)))
        if form is None or not form.ok:
            break
        v(
            s.INLINE_MODELS,
            "POST",
            edit,
            inline_form(form.body, name, drop, added),
            effect=inline_saved(app, authors["ada"], name, wanted),
        )
    export = s.BY_NAME[s.EXPORT]
    v(s.EXPORT, "GET", export.url(app.base_url("post")), expect=shows("via-ajax"))
    v(
        s.EXPORT,
        "GET",
        export.url(app.base_url("post"), extra="search=ada"),
        expect=shows("ada-inline-new"),
    )


def wanted_before(wanted: list[str], added: str, dropped: str) -> list[str]:
    """The inline posts the edit form must show before a save that adds and drops these."""
    return sorted({*[t for t in wanted if t not in (added, "via-ajax")], dropped})


def inline_saved(app: PatternApp, author: int, name: str, wanted: list[str]) -> Effect:
    def check() -> str:
        names = app.database.author_names()
        titles = sorted(t for _, t, a in app.database.posts() if a == author)
        if name in names and titles == wanted:
            return ""
        return f"the author's inline edit was not saved as asked (names {names}, posts {titles})"

    return check


def inline_form(body: str, new_name: str, drop_title: str, added: str) -> list[tuple[str, str]]:
    """The author's edit form posted back: renamed, one inline post deleted, one added.

    Read from the form as rendered, so that the inline rows' ids and prefixes are whatever
    the installed release made.
    """
    rows = inline_rows(body, INLINE_RELATION)
    data = [("name", new_name)]
    for row in rows:
        data.extend((f"{row.prefix}-{name}", value) for name, value in sorted(row.values.items()))
        if row.values.get("title") == drop_title:
            data.append((f"del-{row.prefix}", "on"))
    data.append((f"{INLINE_RELATION}-{len(rows)}-title", added))
    return data
