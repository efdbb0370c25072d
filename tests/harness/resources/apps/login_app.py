"""An admin behind Flask-Login: a view whose ``is_accessible`` wants a logged-in user.

``--login login_app:log_in`` logs each test client in through the app's own /login route;
``login_app:log_in_via_session`` needs no route (it writes Flask-Login's key in the session).
"""

from __future__ import annotations

from typing import Any

import flask
from flask_admin.contrib.sqla import ModelView
from flask_login import LoginManager, UserMixin, current_user, login_user
from scoping_style import Author, db
from scoping_style import create_app as create_sound

PASSWORD = "s3cret"
login_manager = LoginManager()


class User(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return User(user_id) if user_id == "admin" else None


class SecureAuthorView(ModelView):
    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated)


def create_app(url: str = "sqlite://", seed_rows: bool = True) -> flask.Flask:
    app = create_sound(url, seed_rows)
    login_manager.init_app(app)
    # The sound views of scoping_style stay open; this one is behind the login.
    admin = app.extensions["admin"][0]
    admin.add_view(SecureAuthorView(Author, db, endpoint="secure_author", name="Secure"))

    @app.post("/login")
    def login() -> Any:
        if flask.request.form.get("password") == PASSWORD:
            login_user(User("admin"))
            return "ok"
        return "no", 401

    return app


def log_in(client: Any) -> None:
    """For --login: post the password; the session cookie stays on the client."""
    response = client.post("/login", data={"password": PASSWORD})
    assert response.status_code == 200, response.status_code


def log_in_via_session(client: Any) -> None:
    """For --login, with no login route needed: Flask-Login's key in the signed session."""
    with client.session_transaction() as session:
        session["_user_id"] = "admin"
        session["_fresh"] = True
