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

from .backends import Backend, Models
from .observer import Observer
from .probes import Answer, PoolCount, RequestErrors, SessionLog, send

ADMIN_URL = "/admin"
AUTHOR_ENDPOINT = "author"
POST_ENDPOINT = "post"

ChangeHook = Callable[[Any], None]


class AuthorView(ModelView):
    """Authors, with a hook the concurrency check uses to pause a create mid-transaction."""

    column_list = ("name",)
    form_columns = ("name",)
    change_hook: ChangeHook | None = None

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        # Called after the new row is added to the session and before the commit: the one
        # moment a request holds uncommitted state that other requests must not see.
        if self.change_hook is not None:
            self.change_hook(model)


class PostView(ModelView):
    """Posts; the ``author`` form field is a select filled by a query through the session."""

    column_list = ("title", "author")
    form_columns = ("title", "author")


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


def build_base_app(backend: Backend, database_url: str) -> BaseApp:
    """The app factory: config, ``db.init_app``, ``Admin``; views come from a pattern."""
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="scoping-suite", **backend.config(database_url))
    db, models = backend.new_db()
    db.init_app(app)
    admin = Admin(app, name="scoping", url=ADMIN_URL)
    with app.app_context():
        engine = db.engine
    return BaseApp(app=app, db=db, models=models, admin=admin, engine=engine, backend=backend)


def add_views(base: BaseApp, session_or_db: Any) -> Views:
    """Build both ModelViews over ``session_or_db`` and register them."""
    views = Views(
        author=AuthorView(base.models.author, session_or_db, endpoint=AUTHOR_ENDPOINT),
        post=PostView(base.models.post, session_or_db, endpoint=POST_ENDPOINT),
    )
    base.admin.add_view(views.author)
    base.admin.add_view(views.post)
    return views


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


@dataclass(frozen=True)
class PatternApp:
    """One app whose admin views were registered by one pattern, and its observers."""

    pattern: str
    base: BaseApp
    views: Views | None
    construct_error: str
    log: SessionLog
    errors: RequestErrors
    pool: PoolCount
    observer: Observer

    @property
    def app(self) -> flask.Flask:
        return self.base.app

    def send(
        self, method: str, path: str, probe: str, data: dict[str, str] | None = None
    ) -> Answer:
        return send(
            self.base.app,
            self.log,
            self.errors,
            method=method,
            path=path,
            probe=probe,
            data=data,
        )

    def url(self, endpoint: str, action: str = "", query: str = "") -> str:
        """The admin's own URL for a view action, e.g. ``url("post", "edit", "id=3")``."""
        path = f"{ADMIN_URL}/{endpoint}/" + (f"{action}/" if action else "")
        return f"{path}?{query}" if query else path
