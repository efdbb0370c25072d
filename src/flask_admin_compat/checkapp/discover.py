"""Find the app's Admin objects, its SQLAlchemy ModelViews and the engines they point at.

Everything here reads the app as built; nothing sends a request or runs a query.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

from .loading import UsageProblem

#: Methods whose overrides can keep a Session past its request; named in a diagnosis.
SESSION_METHODS = (
    "get_query",
    "get_count_query",
    "get_one",
    "get_list",
    "create_model",
    "update_model",
    "delete_model",
    "on_model_change",
    "after_model_change",
    "scaffold_form",
    "create_form",
    "edit_form",
)
NOT_SUBCLASSED = "not subclassed"


@dataclass(frozen=True)
class ViewInfo:
    """One SQLAlchemy ModelView, and what the checks need to know about it before a request."""

    view: Any
    admin: str
    endpoint: str
    url: str
    view_class: str
    defined_at: str
    model: str
    can_view_details: bool
    can_create: bool
    can_edit: bool
    can_delete: bool
    ajax_refs: tuple[str, ...]
    session_kind: str
    #: Overridden SESSION_METHODS, name -> file:line.
    overrides: tuple[tuple[str, str], ...]

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/") + "/"


def find_admins(app: flask.Flask) -> list[Any]:
    """Every flask_admin.Admin on the app.

    ``Admin.init_app`` appends itself to ``app.extensions["admin"]`` (a list) in Flask-Admin
    1.6 to 2.2. An Admin whose init_app was bypassed is still found through its views, whose
    exposed methods are the app's view functions, bound to the view.
    """
    admins = list(app.extensions.get("admin", []))
    for func in app.view_functions.values():
        admin = getattr(getattr(func, "__self__", None), "admin", None)
        if admin is not None and not any(admin is known for known in admins):
            admins.append(admin)
    return admins


def where(obj: object) -> str:
    """``file:line`` of a class or function's definition, or ``?`` (made in exec, a REPL)."""
    try:
        target: Any = inspect.unwrap(obj) if callable(obj) else obj
        return f"{inspect.getsourcefile(target)}:{inspect.getsourcelines(target)[1]}"
    except (TypeError, OSError):
        return "?"


def describe_session(obj: object) -> str:
    """What the view was built over, in words a user recognises."""
    kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
    if isinstance(obj, scoped_session):
        return "a scoped_session"
    if isinstance(obj, Session):
        return f"one concrete Session object ({kind})"
    top = type(obj).__module__.split(".")[0]
    if top in ("flask_sqlalchemy", "flask_sqlalchemy_lite"):
        return f"the {top} db object"
    return kind


def sqla_views(app: flask.Flask) -> list[ViewInfo]:
    """Every SQLAlchemy ModelView of every Admin on the app, in registration order."""
    try:
        from flask_admin.contrib.sqla import ModelView
    except ImportError as exc:
        raise UsageProblem(f"cannot import flask_admin.contrib.sqla: {exc}") from None
    found: list[ViewInfo] = []
    for admin in find_admins(app):
        # Admin._views is private, but it has had this name in every release since 1.0.
        for view in admin._views:
            if isinstance(view, ModelView):
                found.append(_view_info(admin, view, ModelView))
    return found


def _view_info(admin: Any, view: Any, base: type) -> ViewInfo:
    cls = type(view)
    overrides = tuple(
        (name, where(getattr(cls, name)))
        for name in SESSION_METHODS
        if getattr(cls, name, None) is not getattr(base, name, None)
    )
    return ViewInfo(
        view=view,
        admin=str(admin.name),
        endpoint=str(view.endpoint),
        url=str(view.url),
        view_class=f"{cls.__module__}.{cls.__qualname__}",
        defined_at=NOT_SUBCLASSED if cls is base else where(cls),
        model=view.model.__name__,
        can_view_details=bool(view.can_view_details),
        can_create=bool(view.can_create),
        can_edit=bool(view.can_edit),
        can_delete=bool(view.can_delete),
        ajax_refs=tuple(sorted(getattr(view, "_form_ajax_refs", None) or {})),
        session_kind=describe_session(view.session),
        overrides=overrides,
    )


def engines(app: flask.Flask, views: list[ViewInfo]) -> list[Engine]:
    """The engines of the app's session extension and of the views' own sessions."""
    out: list[Engine] = []

    def add(engine: object) -> None:
        if isinstance(engine, Engine) and not any(engine is known for known in out):
            out.append(engine)

    with app.app_context():
        ext = app.extensions.get("sqlalchemy")
        db = getattr(ext, "db", ext)  # Flask-SQLAlchemy 2.x keeps a state object with .db
        if db is not None:
            # Flask-SQLAlchemy 3.x and lite: a mapping of bind key -> Engine.
            for engine in (getattr(db, "engines", None) or {}).values():
                add(engine)
            if not out and hasattr(db, "get_engine"):  # Flask-SQLAlchemy 2.5
                add(db.get_engine())
        for info in views:
            target = info.view.session
            if isinstance(target, scoped_session):
                add(getattr(target.session_factory, "kw", {}).get("bind"))
            elif isinstance(target, Session):
                add(target.bind)
    return out


def safe_url(engine: Engine) -> str:
    """The engine's URL with its password hidden, fit to print before anything runs."""
    return engine.url.render_as_string(hide_password=True)


#: Pools that hand every thread one connection (StaticPool) or each thread its own private
#: one (SingletonThreadPool): what an in-memory SQLite database (``sqlite://``) gets.
SINGLE_CONNECTION_POOLS = ("StaticPool", "SingletonThreadPool")


def single_connection(engines: Sequence[Engine]) -> str:
    """Why requests sent at once cannot be told apart on these engines ("" if they can).

    On one connection shared by every thread, two requests at once fail in the DBAPI
    ("bad parameter or other API misuse") whatever their Sessions; on one per thread, a
    reader thread sees an empty in-memory database. Neither says anything of scoping.
    """
    for engine in engines:
        kind = type(engine.pool).__name__
        if kind in SINGLE_CONNECTION_POOLS:
            # No ": " before the advice: the summary groups skips by the text before it.
            return (
                f"the app's database is on {kind} (one connection per process or thread, "
                f"{safe_url(engine)}), so requests at once cannot be checked: point the app "
                "at a database file or server to check them"
            )
    return ""
