"""The admin surfaces the suite exercises: their names, which request is which, which exist.

A surface is one way Flask-Admin reaches the session (the list's row count, the ajax lookup of
``form_ajax_refs``, the batch delete action, ...). Each has held a session too long in some
release, so every session check is judged per surface, and its outcome names the surfaces.

Only the standard library is imported here: the fakes and the checks classify requests with
:func:`surface_of`, and the harness reads the names back from the JUnit report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LIST = "list"
SEARCH = "search"
FILTER = "filter"
SORT = "sort"
PAGINATION = "pagination"
DETAILS = "details"
CREATE = "create"
EDIT = "edit"
DELETE = "delete"
BATCH_DELETE = "batch delete"
AJAX_LOOKUP = "ajax lookup"
INLINE_MODELS = "inline models"
EXPORT = "export"

#: Every surface, in the order the suite's request sequence visits them.
SURFACES: tuple[str, ...] = (
    LIST, SEARCH, FILTER, SORT, PAGINATION, DETAILS, CREATE, EDIT, DELETE, BATCH_DELETE,
    AJAX_LOOKUP, INLINE_MODELS, EXPORT,
)  # fmt: skip

#: The views' endpoints (the app under test registers exactly these).
AUTHOR_ENDPOINT = "author"
POST_ENDPOINT = "post"
#: A second view over posts whose author field is an ajax select: on the post view itself
#: ``form_ajax_refs`` would replace the relationship select the create surface needs.
AJAX_ENDPOINT = "postajax"

#: The JUnit properties a check's evidence is reported in (comma-separated surface names;
#: ``surfaces_na`` as ``name: reason`` joined by ``; ``).
SURFACES_PROPERTY = "surfaces"
FAILED_SURFACES_PROPERTY = "failed_surfaces"
SURFACES_NA_PROPERTY = "surfaces_na"


def surface_id(name: str) -> str:
    """The name as a command-line word: ``ajax lookup`` -> ``ajax-lookup``."""
    return name.replace(" ", "-")


def by_id(word: str) -> str | None:
    """The surface a command-line word names (``ajax-lookup`` or ``ajax lookup``), if any."""
    return next((s for s in SURFACES if word in (s, surface_id(s))), None)


def surface_of(endpoint: str | None, args: Mapping[str, str]) -> str | None:
    """Which surface a request to the admin is, from its Flask endpoint and query arguments.

    By what Flask-Admin runs for it, as a real app's request would be told apart: the list
    view is five surfaces, by the query it builds (search before filter before pagination
    before sort, so that a request that pages a sorted list counts as pagination).
    """
    if not endpoint or "." not in endpoint:
        return None
    view, method = endpoint.split(".", 1)
    if view == AJAX_ENDPOINT:
        return AJAX_LOOKUP
    if method == "index_view":
        return list_surface(args)
    if method == "edit_view":
        return INLINE_MODELS if view == AUTHOR_ENDPOINT else EDIT
    return {
        "details_view": DETAILS,
        "create_view": CREATE,
        "delete_view": DELETE,
        "action_view": BATCH_DELETE,
        "export": EXPORT,
    }.get(method)


def list_surface(args: Mapping[str, str]) -> str:
    if args.get("search"):
        return SEARCH
    if any(key.startswith("flt") for key in args):
        return FILTER
    if "page" in args:
        return PAGINATION
    if "sort" in args:
        return SORT
    return LIST


def in_order(names: Iterable[str]) -> list[str]:
    """Distinct surface names in the suite's order (unknown names last, as given)."""
    given = list(dict.fromkeys(names))
    return [s for s in SURFACES if s in given] + [n for n in given if n not in SURFACES]


def joined(names: Iterable[str]) -> str:
    """``create``, ``ajax lookup and create``, ``list, search and create``."""
    ordered = in_order(names)
    if len(ordered) <= 1:
        return "".join(ordered)
    return ", ".join(ordered[:-1]) + " and " + ordered[-1]
