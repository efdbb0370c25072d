"""An app with one view whose ``get_query`` keeps the first Session it got, for good.

The sound views of :mod:`scoping_style` sit beside it: check-app must name ``kept_author``
failing (per-request, teardown, concurrency) and pass the others. ``factory_post`` keeps a
Session another way, through its form's ``query_factory``: its forms fail, its list passes.
"""

from __future__ import annotations

from typing import Any

import flask
from flask_admin.contrib.sqla import ModelView
from scoping_style import Author, Post, db
from scoping_style import create_app as create_sound
from sqlalchemy import orm


class KeptAuthorView(ModelView):
    kept: Any = None

    def get_query(self) -> Any:
        if KeptAuthorView.kept is None:
            KeptAuthorView.kept = self.session.session()  # "caches" the current Session
        return KeptAuthorView.kept.query(self.model)


class FactoryPostView(ModelView):
    """Its form's author choices come from a query_factory over a Session made at setup."""

    form_columns = ("title", "author")


def create_app(url: str = "sqlite://", seed_rows: bool = True) -> flask.Flask:
    KeptAuthorView.kept = None  # a fresh app keeps nothing from an earlier one
    app = create_sound(url, seed_rows)
    admin = app.extensions["admin"][0]
    admin.add_view(KeptAuthorView(Author, db, endpoint="kept_author", name="Kept"))
    with app.app_context():
        setup_session = orm.Session(db.engine)  # one Session for the life of the app
    FactoryPostView.form_args = {
        "author": {"query_factory": lambda: setup_session.query(Author).all()}
    }
    admin.add_view(FactoryPostView(Post, db, endpoint="factory_post", name="Factory"))
    return app
