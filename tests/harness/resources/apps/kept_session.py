"""An app with one view whose ``get_query`` keeps the first Session it got, for good.

The sound views of :mod:`scoping_style` sit beside it: check-app must name ``kept_author``
failing (per-request, teardown, concurrency) and pass the others.
"""

from __future__ import annotations

from typing import Any

import flask
from flask_admin.contrib.sqla import ModelView
from scoping_style import Author, db
from scoping_style import create_app as create_sound


class KeptAuthorView(ModelView):
    kept: Any = None

    def get_query(self) -> Any:
        if KeptAuthorView.kept is None:
            KeptAuthorView.kept = self.session.session()  # "caches" the current Session
        return KeptAuthorView.kept.query(self.model)


def create_app(url: str = "sqlite://", seed_rows: bool = True) -> flask.Flask:
    KeptAuthorView.kept = None  # a fresh app keeps nothing from an earlier one
    app = create_sound(url, seed_rows)
    admin = app.extensions["admin"][0]
    admin.add_view(KeptAuthorView(Author, db, endpoint="kept_author", name="Kept"))
    return app
