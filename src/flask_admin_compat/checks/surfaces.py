"""The admin surfaces as data: one declaration each, read by every front end.

A surface is one way Flask-Admin reaches the session (the list's row count, the ajax lookup of
``form_ajax_refs``, the batch delete action, ...). Each has held a session too long in some
release, so every check is judged per surface and its outcome names the surfaces. A
declaration says how an app offers the surface (:attr:`Surface.offered`, asked of a built
view, never of a version table), the view method Flask-Admin serves it with, and the request
that reaches it (:meth:`Surface.url`). The suite's walk and check-app's walk both build their
requests from these declarations and classify what Flask matched with :func:`surface_of`.

Only the standard library is imported: the views are read through ``getattr``, so this module
also serves the harness, which never imports the stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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

#: How many requests of one app's life must reach a surface before a check may judge it: a
#: Session kept by one path is only seen serving two of that path's requests.
VISITS_PER_SURFACE = 2


def _searchable(view: Any) -> str:
    ok = bool(getattr(view, "_search_supported", False))
    return "" if ok else "the list view has no search (column_searchable_list)"


def _filterable(view: Any) -> str:
    return (
        "" if getattr(view, "_filters", None) else "the list view has no filters (column_filters)"
    )


def _sortable(view: Any) -> str:
    ok = bool(getattr(view, "_sortable_columns", None))
    return "" if ok else "the list view cannot sort (column_sortable_list)"


def _pages(view: Any) -> str:
    ok = bool(getattr(view, "page_size", 0)) and not getattr(view, "simple_list_pager", False)
    return "" if ok else "the list view does not page"


def _flag(attribute: str, reason: str) -> Callable[[Any], str]:
    return lambda view: "" if getattr(view, attribute, False) else reason


def _exports_csv(view: Any) -> str:
    ok = bool(getattr(view, "can_export", False)) and "csv" in (
        getattr(view, "export_types", None) or ()
    )
    return "" if ok else "no CSV export (can_export)"


def _batch_delete(view: Any) -> str:
    actions = getattr(view, "_actions_data", None) or {}
    return "" if "delete" in actions else "no batch delete action"


def _ajax(view: Any) -> str:
    return "" if getattr(view, "_form_ajax_refs", None) else "no ajax lookup (form_ajax_refs)"


def _inline(view: Any) -> str:
    return "" if getattr(view, "inline_models", None) else "no inline models (inline_models)"


def _always(_view: Any) -> str:
    return ""


@dataclass(frozen=True)
class Surface:
    """One admin surface: what serves it, what reaches it, and how a view offers it."""

    name: str
    #: The view method Flask-Admin serves it with (the endpoint's part after the dot).
    served_by: str
    #: The view's URL for it, below the view's own, and its query (``{name}`` fields filled
    #: by :meth:`url`).
    action: str
    query: str
    #: Why a built view does not offer it; empty when it does.
    offered: Callable[[Any], str]
    #: Whether its requests change rows (a front end that must not write skips it).
    writes: bool = False

    @property
    def id(self) -> str:
        """The name as a command-line word: ``ajax lookup`` -> ``ajax-lookup``."""
        return surface_id(self.name)

    def url(self, base: str, **fields: object) -> str:
        """The request's path on the view at ``base`` (``/admin/post/``), its query filled."""
        path = base.rstrip("/") + "/" + self.action
        query = self.query.format(**fields) if self.query else ""
        extra = fields.get("extra")
        query = "&".join(part for part in (query, str(extra) if extra else "") if part)
        return f"{path}?{query}" if query else path


#: Every surface, in the order the walks visit them.
DECLARED: tuple[Surface, ...] = (
    Surface(LIST, "index_view", "", "", _always),
    Surface(SEARCH, "index_view", "", "search={term}", _searchable),
    Surface(FILTER, "index_view", "", "{key}={value}", _filterable),
    Surface(SORT, "index_view", "", "sort={column}", _sortable),
    Surface(PAGINATION, "index_view", "", "page={page}", _pages),
    Surface(DETAILS, "details_view", "details/", "id={id}",
            _flag("can_view_details", "no details view (can_view_details)")),
    Surface(CREATE, "create_view", "new/", "", _flag("can_create", "no create (can_create)"),
            writes=True),
    Surface(EDIT, "edit_view", "edit/", "id={id}", _flag("can_edit", "no edit (can_edit)"),
            writes=True),
    Surface(DELETE, "delete_view", "delete/", "", _flag("can_delete", "no delete (can_delete)"),
            writes=True),
    Surface(BATCH_DELETE, "action_view", "action/", "", _batch_delete, writes=True),
    Surface(AJAX_LOOKUP, "ajax_lookup", "ajax/lookup/", "name={field}&query={query}", _ajax),
    Surface(INLINE_MODELS, "edit_view", "edit/", "id={id}", _inline, writes=True),
    Surface(EXPORT, "export", "export/csv/", "", _exports_csv),
)  # fmt: skip
BY_NAME: Mapping[str, Surface] = {surface.name: surface for surface in DECLARED}
SURFACES: tuple[str, ...] = tuple(surface.name for surface in DECLARED)


def surface_id(name: str) -> str:
    """The name as a command-line word: ``ajax lookup`` -> ``ajax-lookup``."""
    return name.replace(" ", "-")


def by_id(word: str) -> str | None:
    """The surface a command-line word names (``ajax-lookup`` or ``ajax lookup``), if any."""
    return next((s for s in SURFACES if word in (s, surface_id(s))), None)


def unavailable(views: Mapping[str, Any]) -> dict[str, str]:
    """The surfaces the given views do not offer, with why: ``views`` maps a surface to its view.

    Feature detection on the built views, never a version table: a surface that is absent is
    ``n/a`` in every outcome, never a failure.
    """
    return {
        name: why
        for name, view in views.items()
        if (why := BY_NAME[name].offered(view) if view is not None else "no view offers it")
    }


def list_surface(args: Mapping[str, str]) -> str:
    """Which of the list's surfaces a request is, by the query it builds.

    Search before filter before pagination before sort, so that a request that pages a sorted
    list counts as pagination.
    """
    if args.get("search"):
        return SEARCH
    if any(key.startswith("flt") for key in args):
        return FILTER
    if "page" in args:
        return PAGINATION
    if "sort" in args:
        return SORT
    return LIST


def surface_of(method_name: str, args: Mapping[str, str], view: Any, *, posted: bool) -> str | None:
    """Which surface a request to a view is, from the view method Flask matched.

    The edit view of a view with inline models is the inline models surface; a form posted to
    a view whose fields are ajax selects loads its choices through the ajax loader, so it is
    that surface (the suite's ``postajax`` view); off the admin, None.
    """
    if method_name == "index_view":
        return list_surface(args)
    if method_name in ("create_view", "edit_view") and posted and not _ajax(view):
        return AJAX_LOOKUP
    if method_name == "edit_view" and not _inline(view):
        return INLINE_MODELS
    return next((s.name for s in DECLARED if s.served_by == method_name), None)


def in_order(names: Iterable[str]) -> list[str]:
    """Distinct surface names in the walks' order (unknown names last, as given)."""
    given = list(dict.fromkeys(names))
    return [s for s in SURFACES if s in given] + [n for n in given if n not in SURFACES]


def joined(names: Iterable[str]) -> str:
    """``create``, ``ajax lookup and create``, ``list, search and create``."""
    ordered = in_order(names)
    if len(ordered) <= 1:
        return "".join(ordered)
    return ", ".join(ordered[:-1]) + " and " + ordered[-1]
