"""The four ways of registering ModelViews that the suite measures, one function each.

Each function gets a fresh app without views and registers both views, or raises: a
pattern whose construction raises is an outcome (the ``construct`` check fails).
"""

from __future__ import annotations

from collections.abc import Callable

from flask_admin_compat.checks import ids
from flask_admin_compat.checks.describe import describe_exception
from flask_admin_compat.checks.observe import Observer, PoolCount
from flask_admin_compat.checks.probe import Prober

from .app_factory import (
    BaseApp,
    PatternApp,
    Views,
    add_views,
    admin_accepts_db,
    build_base_app,
    unavailable_surfaces,
)
from .backends import Backend
from .database import Database
from .lazy_session import app_scoped_session


def session_at_setup(base: BaseApp) -> Views:
    """``ModelView(Model, db.session)`` at setup, outside any context (the classic docs)."""
    return add_views(base, base.db.session)


def db_at_setup(base: BaseApp) -> Views:
    """``ModelView(Model, db)`` outside any context (documented from Flask-Admin 2.1)."""
    return add_views(base, base.db)


def in_app_context(base: BaseApp) -> Views:
    """Views built inside ``with app.app_context():``, over ``db`` where Flask-Admin takes it.

    Where it does not, ``db.session`` inside the context is what users reach for; with lite
    that is one concrete Session, which this pattern exists to expose.
    """
    with base.app.app_context():
        target = base.db if admin_accepts_db(base) else base.db.session
        return add_views(base, target)


def lazy_proxy(base: BaseApp) -> Views:
    """The workaround in ``lazy_session.py``: a session proxy scoped to the app context."""
    session = app_scoped_session(base.app, base.backend.session_factory(base.db))
    return add_views(base, session)


PATTERNS: dict[str, Callable[[BaseApp], Views]] = {
    ids.SESSION_AT_SETUP: session_at_setup,
    ids.DB_AT_SETUP: db_at_setup,
    ids.IN_APP_CONTEXT: in_app_context,
    ids.LAZY_PROXY: lazy_proxy,
}


def build_pattern_app(pattern: str, backend: Backend, database_url: str) -> PatternApp:
    """A fresh app with tables created and views registered by ``pattern``, observed.

    Only the view construction is caught: that is the ``construct`` outcome. Anything else
    failing here is a broken stack or suite and should surface as an error.
    """
    base = build_base_app(backend, database_url)
    database = Database.connect(database_url, base.models)
    database.create_tables()
    # Installed before the views are built: a Session a pattern resolves at setup and keeps
    # is one of the app's, tracked from its first request on.
    observer = Observer(base.app)
    observer.install()
    views: Views | None = None
    error = ""
    try:
        views = PATTERNS[pattern](base)
    except Exception as exc:  # noqa: BLE001 - whatever it raises is the outcome
        error = describe_exception(exc)
    return PatternApp(
        pattern=pattern,
        base=base,
        views=views,
        construct_error=error,
        observer=observer,
        prober=Prober(base.app, observer),
        pool=PoolCount(base.engine),
        database=database,
        unavailable=unavailable_surfaces(views) if views is not None else {},
    )
