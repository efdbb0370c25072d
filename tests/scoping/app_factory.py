"""The small real app under test: one Flask app, its session extension, Flask-Admin views.

Built with an app factory and ``db.init_app`` as every backend's docs show. Imported only
inside fixtures, so a stack that cannot import fails the startup check instead of collection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from sqlalchemy.engine import Engine

from flask_admin_compat.checks import surfaces
from flask_admin_compat.checks.describe import describe_exception
from flask_admin_compat.checks.observe import Observer, PoolCount
from flask_admin_compat.checks.probe import Answer, FormData, Prober

from .backends import Backend, Models
from .database import Database
from .template_cache import CompiledTemplates, cache_folder

#: The views' endpoints (the app under test registers exactly these).
AUTHOR_ENDPOINT = "author"
POST_ENDPOINT = "post"
#: A second view over posts whose author field is an ajax select: on the post view itself
#: ``form_ajax_refs`` would replace the relationship select the create surface needs.
AJAX_ENDPOINT = "postajax"
ADMIN_URL = "/admin"
#: Small enough that the seeded posts span two pages: the count query decides how many.
PAGE_SIZE = 4

ChangeHook = Callable[[Any], None]


class HookedView(ModelView):
    """A view with a hook the checks use to pause or break a write mid-transaction."""

    change_hook: ChangeHook | None = None

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        # Called after the row is added to (or changed in) the session and before the
        # commit: the one moment a request holds uncommitted state no other may see.
        if self.change_hook is not None:
            self.change_hook(model)


class AuthorView(HookedView):
    """Authors; their posts are edited inside the author's form (inline models)."""

    column_list = ("name",)
    form_columns = ("name",)

    def __init__(self, model: Any, session: Any, *, inline: Any, **kwargs: Any) -> None:
        # The inline model is the backend's own Post class, known only once models exist.
        self.inline_models = (inline,)
        super().__init__(model, session, **kwargs)


class PostView(HookedView):
    """Posts, over every list and row surface Flask-Admin offers.

    The ``author`` form field is a select filled by a query through the session; the list
    searches titles and author names, filters and sorts on the author relationship, pages
    by ``PAGE_SIZE`` (so it runs the count query), shows details and exports CSV.
    """

    column_list = ("title", "author")
    form_columns = ("title", "author")
    column_searchable_list = ("title", "author.name")
    column_filters = ("author",)
    column_sortable_list = ("title", ("author", "author.name"))
    page_size = PAGE_SIZE
    can_view_details = True
    can_export = True


class AjaxPostView(ModelView):
    """Posts again, their author chosen through an ajax lookup (``form_ajax_refs``)."""

    form_columns = ("title", "author")
    form_ajax_refs = {"author": {"fields": ("name",)}}  # noqa: RUF012 - Flask-Admin's API


@dataclass(frozen=True)
class BaseApp:
    """An app with its extension initialised and an empty Admin, before any view exists."""

    app: flask.Flask
    db: Any
    models: Models
    admin: Admin
    engine: Engine
    backend: Backend


@dataclass(frozen=True)
class Views:
    author: AuthorView
    post: PostView
    ajax: AjaxPostView


def build_base_app(backend: Backend, database_url: str) -> BaseApp:
    """The app factory: config, ``db.init_app``, ``Admin``; views come from a pattern."""
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="scoping-suite", **backend.config(database_url))
    # Every pattern's app renders the same Flask-Admin templates: compile each once, not per
    # app (a third of the suite's time when every app compiled its own).
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    db, models = backend.new_db()
    db.init_app(app)
    admin = Admin(app, name="scoping", url=ADMIN_URL)
    with app.app_context():
        engine = db.engine
    return BaseApp(app=app, db=db, models=models, admin=admin, engine=engine, backend=backend)


def add_views(base: BaseApp, session_or_db: Any) -> Views:
    """Build the three ModelViews over ``session_or_db`` and register them.

    Which view failed is said in the error: a pattern that cannot build the ajax view, say,
    cannot offer that surface, and the construct check says so.
    """
    models = base.models
    built: dict[str, Any] = {}
    for what, make in (
        (
            "author view (inline posts)",
            lambda: AuthorView(
                models.author, session_or_db, inline=models.post, endpoint=AUTHOR_ENDPOINT
            ),
        ),
        ("post view", lambda: PostView(models.post, session_or_db, endpoint=POST_ENDPOINT)),
        (
            "post view with form_ajax_refs",
            lambda: AjaxPostView(models.post, session_or_db, endpoint=AJAX_ENDPOINT),
        ),
    ):
        try:
            built[what] = make()
        except Exception as exc:
            raise ViewError(f"the {what}: {describe_exception(exc)}") from exc
    views = Views(*built.values())
    for view in built.values():
        base.admin.add_view(view)
    return views


class ViewError(RuntimeError):
    """One of the views could not be built; the message names which."""


#: One per run: every pattern's app renders the same templates.
COMPILED_TEMPLATES = CompiledTemplates(cache_folder())


def admin_accepts_db(base: BaseApp) -> bool:
    """Whether the installed Flask-Admin resolves a session from this backend's ``db``.

    Asked by behaviour, not by version: a throwaway view over ``db`` must produce a query.
    Flask-Admin before 2.1 treats ``db`` as the session itself and fails here. Needs an
    app context (lite's ``db.session`` does).
    """
    try:
        probe = ModelView(base.models.author, base.db, endpoint="accepts-db-probe")
        query = probe.get_query()
    except Exception:  # noqa: BLE001 - any failure means "does not accept db"
        return False
    return hasattr(query, "all")


def unavailable_surfaces(views: Views) -> dict[str, str]:
    """The surfaces the installed Flask-Admin does not offer on these views, with why.

    Each surface is asked of the view the walk reaches it on (the engine's declarations),
    and the filter must be the one the walk sends: "author name equals".
    """
    post = views.post
    on_view = {name: post for name in surfaces.SURFACES}
    on_view[surfaces.AJAX_LOOKUP] = views.ajax
    on_view[surfaces.INLINE_MODELS] = views.author
    missing = surfaces.unavailable(on_view)
    if surfaces.FILTER not in missing and filter_key(post) is None:
        missing[surfaces.FILTER] = (
            "the list view has no equals filter on the author relationship (column_filters)"
        )
    return {name: missing[name] for name in surfaces.SURFACES if name in missing}


def filter_key(view: ModelView) -> str | None:
    """The query key of the post list's "author name equals" filter, as Flask-Admin spells it.

    ``flt<position>_<arg>``, the arg computed by the view itself (an index, or a name with
    ``named_filter_urls``), so that it follows whatever filters the installed release made.
    """
    for index, flt in enumerate(getattr(view, "_filters", None) or ()):
        try:
            operation, name = str(flt.operation()).lower(), str(flt.name).lower()
        except Exception:  # noqa: BLE001, S112 - a filter that cannot say what it is: not ours
            continue
        if operation == "equals" and "name" in name:
            return f"flt0_{view.get_filter_arg(index, flt)}"
    return None


@dataclass(frozen=True)
class PatternApp:
    """One app whose admin views were registered by one pattern, and its observers."""

    pattern: str
    base: BaseApp
    views: Views | None
    construct_error: str
    #: Which Session each request used, over the app's whole life.
    observer: Observer
    prober: Prober
    pool: PoolCount
    database: Database
    #: Surfaces the installed Flask-Admin lacks, with the reason (``n/a`` in every outcome).
    unavailable: dict[str, str]

    @property
    def app(self) -> flask.Flask:
        return self.base.app

    def send(self, method: str, path: str, label: str, data: FormData | None = None) -> Answer:
        return self.prober.send(method, path, label=label, data=data)

    def url(self, endpoint: str, action: str = "", query: str = "") -> str:
        """The admin's own URL for a view action, e.g. ``url("post", "edit", "id=3")``."""
        path = f"{ADMIN_URL}/{endpoint}/" + (f"{action}/" if action else "")
        return f"{path}?{query}" if query else path

    def base_url(self, endpoint: str) -> str:
        return f"{ADMIN_URL}/{endpoint}/"

    def server_idle(self) -> int | None:
        return self.database.idle_in_transaction()

    def close(self) -> None:
        """Let go of what observes the app: its records, listeners and pool events."""
        self.observer.uninstall()
        self.observer.forget()
        self.pool.close()
