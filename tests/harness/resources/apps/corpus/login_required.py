"""A blog's admin behind Flask-Login, built at import as most small apps are.

Every ModelView asks for a logged-in user and sends anyone else to the login page (a 302).
Without ``--login`` check-app can check nothing and says how to log in; with
``--login login_required:log_in`` every view is checked, writes included.
"""

import os

from flask import Flask, redirect, request, url_for
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_login import LoginManager, UserMixin, current_user, login_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)
login_manager = LoginManager(app)
login_manager.login_view = "login"

ADMINS = {"editor": "correct horse"}


class Editor(UserMixin):
    def __init__(self, name: str) -> None:
        self.id = name


@login_manager.user_loader
def load_user(user_id: str) -> Editor | None:
    return Editor(user_id) if user_id in ADMINS else None


class Author(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))

    def __str__(self) -> str:
        return self.name


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str | None] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey(Author.id))
    author: Mapped[Author] = relationship()


class LoginRequiredView(ModelView):
    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated)

    def inaccessible_callback(self, name: str, **kwargs: object):  # type: ignore[no-untyped-def]
        return redirect(url_for("login", next=request.url))


@app.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    if request.method == "POST":
        name = request.form.get("username", "")
        if ADMINS.get(name) == request.form.get("password"):
            login_user(Editor(name))
            return redirect(request.args.get("next") or "/admin/")
        return "wrong username or password", 401
    return '<form method="post"><input name="username"><input name="password"></form>'


admin = Admin(app, name="Blog")
admin.add_view(LoginRequiredView(Author, db))
admin.add_view(LoginRequiredView(Post, db))

with app.app_context():
    db.create_all()


def log_in(client):  # type: ignore[no-untyped-def]
    """For ``--login``: post the app's own login form; the cookie stays on the client."""
    client.post("/login", data={"username": "editor", "password": "correct horse"})
