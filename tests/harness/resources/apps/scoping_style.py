"""A sound app built as the scoping suite builds its own: an app factory, ``db.init_app``,
Flask-SQLAlchemy, and views registered at setup over ``db`` (as Flask-Admin >= 2.1 documents).

check-app must pass every view. ``create_app(url, seed=True)``: the database, and whether to
put one author and one post in it (the details and edit pages need a row; ``--writes`` needs
empty tables).
"""

from __future__ import annotations

import flask
import sqlalchemy as sa
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import orm

db = SQLAlchemy()


class Author(db.Model):
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(80), unique=True, nullable=False)

    def __str__(self) -> str:
        return str(self.name)


class Post(db.Model):
    id = sa.Column(sa.Integer, primary_key=True)
    title = sa.Column(sa.String(80), nullable=False)
    author_id = sa.Column(sa.ForeignKey(Author.id), nullable=False)
    author = orm.relationship(Author)


class AuthorView(ModelView):
    column_list = ("name",)
    form_columns = ("name",)


class PostView(ModelView):
    """Details enabled and the author picked through an ajax lookup: more surfaces to check."""

    can_view_details = True
    column_list = ("title", "author")
    form_columns = ("title", "author")
    form_ajax_refs = {"author": {"fields": ["name"]}}  # noqa: RUF012 - Flask-Admin's API


def seed() -> None:
    db.create_all()
    if not db.session.scalar(sa.select(sa.func.count()).select_from(Author)):
        author = Author(name="ada")
        db.session.add_all([author, Post(title="hello", author=author)])
        db.session.commit()


def create_app(url: str = "sqlite://", seed_rows: bool = True) -> flask.Flask:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="check-app", SQLALCHEMY_DATABASE_URI=url)
    db.init_app(app)
    admin = Admin(app, name="scoping", url="/admin")
    admin.add_view(AuthorView(Author, db))
    admin.add_view(PostView(Post, db))
    with app.app_context():
        db.create_all()
        if seed_rows:
            seed()
    return app
