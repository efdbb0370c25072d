"""A Flask-Admin surface that keeps the first Session it resolves, the backend left sound.

Selected with ``--fake-admin-surface SURFACE`` (``ajax-lookup``, ``batch-delete``, ...). It
proves, one surface at a time, that the checks see a Flask-Admin release that broke only that
path: Flask-SQLAlchemy (or lite) still gives each request its own Session and closes it, but
everything Flask-Admin resolves while serving that surface is the Session it got first, kept
for the app's lifetime (as upstream's 2953 kept the Unique validator's).

How, on every Flask-Admin from 1.6 to 2.2: each class that keeps a session or ``db`` (the
view, its form converters, inline form lists, ajax loaders, the Unique validator) gets a data
descriptor on that attribute. Reads return what was stored, unless the current request is the
pinned surface (by its endpoint and query, :func:`surfaces.surface_of`); then they return the
first concrete Session the attribute resolved to in this app. Hooking Flask-Admin's
``_get_deprecated_session`` would not do: it is imported by name into five modules, and
releases before 2.1 have none. Patching the view methods would not either: ``@expose`` binds
them when the class is made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import flask
from sqlalchemy.orm import Session, scoped_session

from ..surfaces import (
    EDIT,
    INLINE_MODELS,
    SURFACES,
    by_id,
    list_surface,
    surface_id,
    surface_of,
)

#: Which surface the current request is; None outside a request or off the admin.
Classifier = Callable[[], "str | None"]


def suite_request_surface() -> str | None:
    """The surface of a request to the suite's own app (its views' endpoints are known)."""
    return surface_of(flask.request.endpoint, flask.request.args)


def any_view_surface() -> str | None:
    """The surface of a request to any app's admin, by the view method Flask matched.

    For Flask-Admin's own tests, whose views are not the suite's: the edit view of a view
    with inline models counts as inline models, and only ``ajax_lookup`` as the ajax lookup.
    """
    endpoint = flask.request.endpoint or ""
    method = endpoint.split(".", 1)[1] if "." in endpoint else ""
    if method == "index_view":
        return list_surface(flask.request.args)
    if method == "edit_view":
        from flask_admin import helpers

        view = helpers.get_current_view()
        return INLINE_MODELS if getattr(view, "inline_models", None) else EDIT
    return {
        "details_view": "details",
        "create_view": "create",
        "delete_view": "delete",
        "action_view": "batch delete",
        "ajax_lookup": "ajax lookup",
        "export": "export",
    }.get(method)


class Keeper:
    """The first Session resolved on the pinned surface, per app, kept for good."""

    def __init__(self, surface: str, classify: Classifier = suite_request_surface) -> None:
        self.surface = surface
        self.classify = classify
        self._lock = threading.Lock()
        self._kept: dict[int, Session] = {}
        #: Reads answered with a kept Session: proof that the pin met its surface at all.
        self.reads = 0

    @property
    def apps(self) -> int:
        return len(self._kept)

    def applies(self) -> bool:
        return flask.has_request_context() and self.classify() == self.surface

    def keep(self, target: Any) -> Session:
        # Per app: each pattern's app has its own database, and a Session kept by one app
        # would write another's rows.
        app = id(flask.current_app._get_current_object())
        with self._lock:
            if app not in self._kept:
                self._kept[app] = concrete(target)
            self.reads += 1
            return self._kept[app]


def concrete(target: Any) -> Session:
    """The Session ``target`` (a Session, a scoped_session, a ``db`` object) stands for now."""
    if isinstance(target, Session):
        return target
    if isinstance(target, scoped_session):
        return target()
    inner = getattr(target, "session", None)
    if inner is None:
        raise TypeError(f"cannot resolve a Session from {target!r}")
    return concrete(inner)


class PinnableAttribute:
    """A class-level data descriptor over the instance attribute ``name``."""

    def __init__(self, name: str, keeper: Keeper) -> None:
        self.name = name
        self.keeper = keeper

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        try:
            value = obj.__dict__[self.name]
        except KeyError:
            # Read before __init__ set it: Flask-Admin's ModelConverterBase.__init__ reads
            # every name in dir(self), and an AttributeError there would break it.
            return None
        if value is None or not self.keeper.applies():
            return value
        return self.keeper.keep(value)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value


def session_holders() -> list[tuple[type, str]]:
    """Every Flask-Admin class that keeps a session or ``db``, and where (1.6 to 2.2)."""
    from flask_admin.contrib.sqla import ajax, fields, form, validators, view

    holders: list[tuple[type, str]] = [
        (view.ModelView, "session"),
        (form.AdminModelConverter, "session"),
        (form.InlineModelConverter, "session"),
        (fields.InlineModelFormList, "session"),
        (ajax.QueryAjaxModelLoader, "session"),
        (validators.Unique, "db_session"),
    ]
    one_to_one = getattr(fields, "InlineModelOneToOneField", None)  # 2.x only
    if one_to_one is not None:
        holders.append((one_to_one, "session"))
    return holders


def pin_surface(word: str, classify: Classifier = suite_request_surface) -> Keeper | str:
    """Pin the surface ``word`` names for the rest of the run: its keeper, or an error message."""
    surface = by_id(word)
    if surface is None:
        known = ", ".join(surface_id(name) for name in SURFACES)
        return f"unknown admin surface {word!r} for --fake-admin-surface; known: {known}"
    keeper = Keeper(surface, classify)
    for cls, name in session_holders():
        setattr(cls, name, PinnableAttribute(name, keeper))
    return keeper
