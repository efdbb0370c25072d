"""flask-sqlalchemy-lite with views built inside ``with app.app_context():`` (Flask-Admin < 2.1).

Flask-Admin 2.0 takes a session, not ``db``; lite's ``db.session`` taken inside an app context
is one concrete Session, so ``author`` keeps it for good and must fail. ``tag`` is built over a
per-app-context proxy and must pass.
"""

from __future__ import annotations

from typing import Any

import flask
import sqlalchemy as sa
from flask.globals import app_ctx
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy import orm

db = SQLAlchemy()


class Base(orm.DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "author"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(80), unique=True, nullable=False)


class Tag(Base):
    __tablename__ = "tag"
    id = sa.Column(sa.Integer, primary_key=True)
    label = sa.Column(sa.String(80), nullable=False)


def app_scoped_session(app: flask.Flask, factory: Any) -> orm.scoped_session[Any]:
    """A Session per app context, removed when the context ends (what lite does itself)."""
    sessions = orm.scoped_session(factory, scopefunc=lambda: id(app_ctx._get_current_object()))
    app.teardown_appcontext(lambda exc: sessions.remove())
    return sessions


def create_app(url: str = "sqlite://") -> flask.Flask:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="check-app", SQLALCHEMY_ENGINES={"default": url})
    db.init_app(app)
    admin = Admin(app, name="lite")
    with app.app_context():
        Base.metadata.create_all(db.engine)
        with db.sessionmaker() as session, session.begin():
            if not session.scalar(sa.select(sa.func.count()).select_from(Author)):
                session.add_all([Author(name="ada"), Tag(label="t1")])
        admin.add_view(ModelView(Author, db.session))  # one concrete Session, for good
    admin.add_view(ModelView(Tag, app_scoped_session(app, lambda: db.sessionmaker())))
    return app
