"""The session backends the suite can run against, each behind one small adapter.

An adapter makes a fresh extension object with models the way its backend's docs show, and
answers what the suite cannot ask every backend the same way (config keys, where a session
factory is). Exactly one real backend is installed per cell; which one is read from what is
importable, or from ``--fake-backend``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy import orm

FLASK_SQLALCHEMY = "flask_sqlalchemy"
FLASK_SQLALCHEMY_LITE = "flask_sqlalchemy_lite"
AUTHOR_NAME_LENGTH = 80
POST_TITLE_LENGTH = 120


class BackendError(RuntimeError):
    """No usable session backend: the stack cannot start."""


@dataclass(frozen=True)
class Models:
    """The app's two related models; ``Author.name`` is unique so a create can fail."""

    author: Any
    post: Any
    metadata: sa.MetaData


class Backend(Protocol):
    """What the suite needs from a session backend."""

    @property
    def name(self) -> str: ...

    def new_db(self) -> tuple[Any, Models]:
        """A new, uninitialised extension object and models bound to it."""
        ...

    def config(self, database_url: str) -> dict[str, Any]:
        """Flask config that points the extension at ``database_url``."""
        ...

    def session_factory(self, db: Any) -> Callable[[], orm.Session]:
        """What the lazy-proxy pattern builds its per-context sessions from."""
        ...


@dataclass(frozen=True)
class FlaskSQLAlchemyBackend:
    """Flask-SQLAlchemy 2.5 to 3.1: ``db.session`` is a ``scoped_session``."""

    name: str = "flask-sqlalchemy"

    def new_db(self) -> tuple[Any, Models]:
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()
        # db.Model with Column attributes is the model style every 2.x and 3.x release takes.
        return db, define_models(db.Model)

    def config(self, database_url: str) -> dict[str, Any]:
        # 2.5 warns unless told; 3.x ignores the key.
        return {"SQLALCHEMY_DATABASE_URI": database_url, "SQLALCHEMY_TRACK_MODIFICATIONS": False}

    def session_factory(self, db: Any) -> Callable[[], orm.Session]:
        # Calling the scoped_session gives the current context's Session: the proxy then
        # shares Flask-SQLAlchemy's own session rather than making a second one.
        factory: Callable[[], orm.Session] = db.session
        return factory


@dataclass(frozen=True)
class LiteBackend:
    """flask-sqlalchemy-lite 0.1 and 0.2: plain declarative models, a Session per context."""

    name: str = "flask-sqlalchemy-lite"

    def new_db(self) -> tuple[Any, Models]:
        from flask_sqlalchemy_lite import SQLAlchemy

        return SQLAlchemy(), define_models(new_declarative_base())

    def config(self, database_url: str) -> dict[str, Any]:
        return {"SQLALCHEMY_ENGINES": {"default": database_url}}

    def session_factory(self, db: Any) -> Callable[[], orm.Session]:
        # db.sessionmaker is per app and needs an app context: look it up at call time.
        return lambda: db.sessionmaker()


@dataclass(frozen=True)
class FakeBackend:
    """One of the suite's deliberately broken backends (``tests/scoping/fakes``)."""

    fake: str

    @property
    def name(self) -> str:
        return f"fake:{self.fake}"

    def new_db(self) -> tuple[Any, Models]:
        from .fakes import make_fake

        return make_fake(self.fake), define_models(new_declarative_base())

    def config(self, database_url: str) -> dict[str, Any]:
        return {"SQLALCHEMY_DATABASE_URI": database_url}

    def session_factory(self, db: Any) -> Callable[[], orm.Session]:
        return lambda: db.sessionmaker()


def detect_backend(fake: str | None) -> Backend:
    """The backend to test: the fake if one is named, else the one real backend installed.

    The backend's module is imported here so that a broken install fails the startup check.
    """
    if fake is not None:
        from .fakes import FAKE_NAMES

        if fake not in FAKE_NAMES:
            raise BackendError(f"unknown fake backend {fake!r}; known: {', '.join(FAKE_NAMES)}")
        return FakeBackend(fake)
    candidates: dict[str, Backend] = {
        FLASK_SQLALCHEMY: FlaskSQLAlchemyBackend(),
        FLASK_SQLALCHEMY_LITE: LiteBackend(),
    }
    installed = [module for module in candidates if importlib.util.find_spec(module)]
    chosen = chosen_backend(installed)
    if chosen is not None:
        installed = [chosen]
    if len(installed) != 1:
        found = ", ".join(installed) or "neither"
        raise BackendError(
            f"a cell needs exactly one of {FLASK_SQLALCHEMY} and {FLASK_SQLALCHEMY_LITE}; "
            f"found {found}"
        )
    importlib.import_module(installed[0])
    return candidates[installed[0]]


#: Set by the harness for a cell whose install set holds both backends (lite with FSA beside
#: it): the distribution name of the one under test.
BACKEND_ENV = "FLASK_ADMIN_COMPAT_BACKEND"


def chosen_backend(installed: list[str]) -> str | None:
    """The module the harness named in ``BACKEND_ENV``, if it is installed."""
    named = os.environ.get(BACKEND_ENV, "").replace("-", "_")
    if not named:
        return None
    if named not in installed:
        raise BackendError(f"{BACKEND_ENV}={named!r} names a backend that is not installed")
    return named


def new_declarative_base() -> Any:
    """A fresh declarative base: ``DeclarativeBase`` where SQLAlchemy has it (2.0+)."""
    if hasattr(orm, "DeclarativeBase"):

        class Base(orm.DeclarativeBase):
            pass

        return Base
    return orm.declarative_base()


def define_models(base: Any) -> Models:
    """Author and Post, related both ways, on ``base``.

    Plain ``Column`` attributes rather than annotations: every SQLAlchemy from 1.4 to 2.1
    maps them the same on both kinds of base, and classes made inside a function cannot
    resolve string annotations.
    """

    class Author(base):  # type: ignore[misc, valid-type]
        __tablename__ = "author"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(AUTHOR_NAME_LENGTH), unique=True, nullable=False)
        # delete-orphan: a post removed from its author's inline form is deleted, not orphaned
        # (its author_id cannot be NULL), as an app with inline models would declare it.
        posts = orm.relationship("Post", back_populates="author", cascade="all, delete-orphan")

        def __str__(self) -> str:
            # The admin shows this in the post list and in the relationship select field.
            return str(self.name)

    class Post(base):  # type: ignore[misc, valid-type]
        __tablename__ = "post"
        id = sa.Column(sa.Integer, primary_key=True)
        title = sa.Column(sa.String(POST_TITLE_LENGTH), nullable=False)
        author_id = sa.Column(sa.Integer, sa.ForeignKey("author.id"), nullable=False)
        author = orm.relationship(Author, back_populates="posts")

        def __str__(self) -> str:
            return str(self.title)

    # Configured now, as in an app that has run a query before it builds its admin: Flask-Admin
    # 1.6 reads relationship directions at view setup, which unconfigured mappers lack
    # ("Cannot find reverse relation" for the inline posts).
    orm.configure_mappers()
    return Models(author=Author, post=Post, metadata=base.metadata)
