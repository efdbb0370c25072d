"""check-app's --writes reach the app's own save paths: rows made through inline lists, and
forms whose validators refuse made-up values until the values their messages name are sent.

Run in this process over the corpus's blog app, whose mapper events count what was really
written: a form that came back is not a save.
"""

from __future__ import annotations

import collections
import importlib
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from checkapp_corpus import CORPUS
from sqlalchemy import event

from flask_admin_compat import cli

# Flask-Admin 2.2.1's ajax select yields raw tuples, which WTForms 3.2 deprecates: the app's
# warning, not the check's (the test runs warnings as errors).
pytestmark = pytest.mark.filterwarnings("ignore:Yielding raw tuples:DeprecationWarning")


@pytest.fixture
def blog(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'blog.db'}")
    monkeypatch.syspath_prepend(str(CORPUS))
    monkeypatch.chdir(CORPUS)
    monkeypatch.delitem(__import__("sys").modules, "blog", raising=False)
    return importlib.import_module("blog")


def test_writes_save_inline_rows_and_delete_them_again(
    blog: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written: collections.Counter[str] = collections.Counter()
    for model in (blog.Post, blog.Comment, blog.User):
        for what in ("after_insert", "after_delete"):

            def seen(mapper: Any, connection: Any, target: Any, what: str = what) -> None:
                written[f"{type(target).__name__} {what.removeprefix('after_')}"] += 1

            event.listen(model, what, seen)
    report = tmp_path / "report.json"
    status = cli.main(
        ["check-app", "--app", "blog", "--writes", "--json", str(report)], out=io.StringIO()
    )
    capsys.readouterr()
    views = {v["endpoint"]: v for v in json.loads(report.read_text())["views"]}
    assert status == 0
    assert views["post"]["writes"] == {
        "create": "saved",
        "edit": "saved",
        "delete": "saved",
        "why": "",
    }
    # Each post made through its create form got a comment through the inline list, and each
    # edit deleted it again through the same list; nothing of the check's is left.
    assert written["Comment insert"] >= 2
    assert written["Comment delete"] == written["Comment insert"]
    # (one more post is inserted than deleted: the create that isolation-after-error breaks
    # mid-transaction, rolled back)
    assert written["Post delete"] >= 2
    with blog.app.app_context():
        for model in (blog.Post, blog.Comment, blog.User, blog.Tag):
            assert blog.db.session.query(model).count() == 0, model


def test_a_field_the_apps_own_validator_refuses_is_retried_until_saved(
    blog: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved: list[Any] = []
    event.listen(blog.User, "after_insert", lambda m, c, target: saved.append(target))
    status = cli.main(["check-app", "--app", "blog", "--writes"], out=io.StringIO())
    capsys.readouterr()
    assert status == 0
    assert saved
    for user in saved:
        assert user.local_phone_number.isdigit()
        assert user.timezone == "America/New_York"  # the first example its message names
        assert user.favourite_colour in (None, "", "red")


KEEPER_APP = """
import uuid
import flask, sqlalchemy as sa
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Note(db.Model):
    id = sa.Column(sa.Integer, primary_key=True)
    text = sa.Column(sa.String(40), nullable=False)


class Ticket(db.Model):
    id = sa.Column(sa.Uuid, primary_key=True, default=uuid.uuid4)
    title = sa.Column(sa.String(40), nullable=False)


class NoDelete(ModelView):
    can_delete = False


def create_app(url):
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI=url)
    db.init_app(app)
    admin = Admin(app)
    admin.add_view(NoDelete(Note, db, endpoint="note"))
    admin.add_view(ModelView(Ticket, db, endpoint="ticket"))
    with app.app_context():
        db.create_all()
    return app
"""


def test_rows_the_view_did_not_delete_are_removed_by_check_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A view that cannot delete, and one keyed by a UUID whose pages some releases cannot
    open: the rows check-app made go all the same, through its own connection."""
    module = tmp_path / "keeper.py"
    module.write_text(KEEPER_APP)
    database = tmp_path / "keeper.db"
    report = tmp_path / "report.json"
    args = ["check-app", "--app", f"{module}:create_app('sqlite:///{database}')", "--writes"]
    cli.main([*args, "--json", str(report)], out=io.StringIO())
    capsys.readouterr()
    views = {v["endpoint"]: v for v in json.loads(report.read_text())["views"]}
    assert views["note"]["writes"]["delete"] == "not sent"
    assert any("removed by check-app" in note for note in views["note"]["notes"])
    with sqlite3.connect(database) as connection:
        for table in ("note", "ticket"):
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


FUSSY_INLINE_APP = """
import flask, sqlalchemy as sa
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy

db = SQLAlchemy()


class Shelf(db.Model):
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(40), nullable=False)
    books = db.relationship("Book", back_populates="shelf", cascade="all, delete-orphan")


class Book(db.Model):
    id = sa.Column(sa.Integer, primary_key=True)
    title = sa.Column(sa.String(40))
    isbn = sa.Column(sa.String(20), nullable=False)  # left out of the inline form: never set
    shelf_id = sa.Column(sa.ForeignKey(Shelf.id), nullable=False)
    shelf = db.relationship(Shelf, back_populates="books")


class ShelfView(ModelView):
    inline_models = ((Book, {"form_columns": ("id", "title")}),)


def create_app(url):
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI=url)
    db.init_app(app)
    Admin(app).add_view(ShelfView(Shelf, db, endpoint="shelf"))
    with app.app_context():
        db.create_all()
    return app
"""


def test_inline_rows_the_app_cannot_save_leave_the_views_own_save_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "fussy.py"
    module.write_text(FUSSY_INLINE_APP)
    report = tmp_path / "report.json"
    app = f"{module}:create_app('sqlite:///{tmp_path / 'fussy.db'}')"
    status = cli.main(
        ["check-app", "--app", app, "--writes", "--json", str(report)], out=io.StringIO()
    )
    capsys.readouterr()
    (shelf,) = json.loads(report.read_text())["views"]
    assert status == 0
    assert shelf["writes"]["create"] == "saved"
    assert shelf["writes"]["delete"] == "saved"
    assert any(
        note.startswith("inline rows were not saved:") and "isbn" in note for note in shelf["notes"]
    ), shelf["notes"]
