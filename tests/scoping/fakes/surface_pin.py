"""A Flask-Admin surface that keeps the first Session it resolves, the backend left sound.

Selected with ``--fake-admin-surface SURFACE`` (``ajax-lookup``, ``batch-delete``, ...). It
proves, one surface at a time, that the checks see a Flask-Admin release that broke only that
path: Flask-SQLAlchemy (or lite) still gives each request its own Session and closes it, but
everything Flask-Admin resolves while serving that surface is the Session it got first, kept
for the app's lifetime (as upstream's 2953 kept the Unique validator's).

How, on every Flask-Admin from 1.6 to 2.2: each class that keeps a session or ``db`` (the
view, its form converters, inline form lists, ajax loaders, the Unique validator) gets a data
descriptor on that attribute. Reads return what was stored, unless the current request is the
pinned surface (by the view method Flask matched, the engine's ``current_surface``); then they return the
first concrete Session the attribute resolved to in this app. Hooking Flask-Admin's
``_get_deprecated_session`` would not do: it is imported by name into five modules, and
releases before 2.1 have none. Patching the view methods would not either: ``@expose`` binds
them when the class is made.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import flask
from sqlalchemy.orm import Session, scoped_session

from flask_admin_compat.checks.observe import current_surface
from flask_admin_compat.checks.surfaces import EDIT, INLINE_MODELS, SURFACES, by_id, surface_id

#: Pins that keep a Session on one surface's saves only (its form POSTs), the forms it shows
#: left sound: the edit view's ``update_model``, the inline form list's save.
SAVES: dict[str, str] = {"edit-save": EDIT, "inline-save": INLINE_MODELS}


@dataclass(frozen=True)
class Pin:
    """What a pin applies to: a surface, and whether only its saves (POSTs)."""

    surface: str
    saves_only: bool = False

    def applies(self) -> bool:
        if not flask.has_request_context() or current_surface() != self.surface:
            return False
        return flask.request.method == "POST" or not self.saves_only


class Keeper:
    """The first Session resolved on the pinned surface, per app, kept for good."""

    def __init__(self, pin: Pin) -> None:
        self.pin = pin
        self._lock = threading.Lock()
        self._kept: dict[int, Session] = {}
        #: Reads answered with a kept Session: proof that the pin met its surface at all.
        self.reads = 0

    @property
    def surface(self) -> str:
        return self.pin.surface

    @property
    def apps(self) -> int:
        return len(self._kept)

    def applies(self) -> bool:
        return self.pin.applies()

    def keep(self, target: Any) -> Session:
        # Per app: each pattern's app has its own database, and a Session kept by one app
        # would write another's rows.
        app = id(flask.current_app._get_current_object())  # type: ignore[attr-defined]
        with self._lock:
            if app not in self._kept:
                self._kept[app] = concrete(target)
            kept = self._kept[app]
            self.reads += 1
        if self.pin.saves_only and not flask.g.get(CLOSE_FLAG):
            # The save pins stand for a path that keeps a Session yet closes it in every
            # request: clean when each request ends (teardown sees nothing), the same object
            # in the next one, which only identity over the app's life can catch.
            setattr(flask.g, CLOSE_FLAG, True)
            flask.after_this_request(lambda response: (kept.close(), response)[1])
        return kept


#: Set on ``flask.g`` once a request has arranged to close the kept Session.
CLOSE_FLAG = "_scoping_fake_close_kept"


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


def pin_surface(word: str) -> Keeper | str:
    """Pin what ``word`` names for the rest of the run: its keeper, or an error message.

    A surface (``ajax-lookup``) keeps its Session on every request; ``edit-save`` and
    ``inline-save`` only on saves, so the Session they keep is clean after each commit and
    only identity over the app's life shows it serving two requests.
    """
    surface = SAVES.get(word) or by_id(word)
    if surface is None:
        known = ", ".join([*(surface_id(name) for name in SURFACES), *SAVES])
        return f"unknown admin surface {word!r} for --fake-admin-surface; known: {known}"
    keeper = Keeper(Pin(surface, saves_only=word in SAVES))
    for cls, name in session_holders():
        setattr(cls, name, PinnableAttribute(name, keeper))
    return keeper
