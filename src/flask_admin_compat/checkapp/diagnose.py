"""Name the registration pattern or override that kept a Session, when it can be told.

Tried in order, most specific first: the view was built over one concrete Session; an
overridden query builder hands out a query over the kept Session; the user's own code that
ran the query (a stack frame seen at execute time); the view's overrides, listed.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from flask_admin_compat.checks.probe import Answer, Prober

from .discover import ViewInfo

#: Query builders asked which Session they build on (the query is built, never executed).
QUERY_BUILDERS = ("get_query", "get_count_query")


def diagnose(prober: Prober, info: ViewInfo, session: Session, *answers: Answer) -> str:
    """One line on what kept ``session`` (shared by ``answers``) past its request."""
    built_over = info.view.session
    if isinstance(built_over, Session) and built_over is session:
        return (
            "the view was built over one concrete Session object (ModelView(Model, <Session>), "
            "e.g. flask-sqlalchemy-lite's db.session taken inside `with app.app_context():`); "
            "pass db (Flask-Admin >= 2.1) or a per-request proxy such as a scoped_session"
        )
    kept = _kept_by_query_builder(prober, info, session) or _kept_by_ajax_loader(info, session)
    if kept:
        return kept
    frame = next(
        (f for f in (prober.observer.reached_from(a.probe, session) for a in answers) if f), ""
    )
    if frame:
        return (
            f"the shared Session was reached from {frame}: that code uses a Session that "
            "outlives its request (one made at setup, or stored at a first call)"
        )
    if info.overrides:
        names = ", ".join(f"{name} ({at})" for name, at in info.overrides)
        return f"the view overrides {names}; one of them keeps a Session beyond its request"
    return f"the Session came from what the view was built over: {info.session_kind}"


def _kept_by_query_builder(prober: Prober, info: ViewInfo, session: Session) -> str:
    """Ask each overridden query builder, in a request context of our own, for its query.

    A query over ``session`` (used by earlier requests) while a fresh context is current means
    the override keeps it. Only built, never executed: the check runs no SQL of its own.
    """
    overridden = dict(info.overrides)
    for name in QUERY_BUILDERS:
        if name not in overridden:
            continue
        with prober.app.test_request_context():
            try:
                query = getattr(info.view, name)()
            except Exception:  # noqa: BLE001, S112 - it needs more than a bare request
                continue
            if getattr(query, "session", None) is session:
                return (
                    f"{name} ({overridden[name]}) returns a query over a Session kept since "
                    "an earlier request"
                )
    return ""


def _kept_by_ajax_loader(info: ViewInfo, session: Session) -> str:
    """A form_ajax_refs loader built over one concrete Session (its own ``session``)."""
    loaders = getattr(info.view, "_form_ajax_refs", None) or {}
    for name, loader in loaders.items():
        if getattr(loader, "session", None) is session:
            kind = f"{type(loader).__module__}.{type(loader).__qualname__}"
            return (
                f"the ajax loader {name!r} ({kind}) was built over one concrete Session object; "
                "build it over db or a per-request proxy"
            )
    return ""
