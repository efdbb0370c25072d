"""Users and roles as Flask-Security keeps them, with its kind of role check, hand-rolled.

``is_accessible`` wants an active user with the ``superuser`` role; ``inaccessible_callback``
answers 403 to a logged-in user without it and redirects anyone else to the login page, as
Flask-Security's examples do. ``--login roles_required:log_in_superuser`` reaches every view;
``log_in_reader`` (no role) meets a 403 everywhere. The role check runs a query through
``db.session`` in every request, before the view does.
"""

import os

from flask import Flask, abort, redirect, request, url_for
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_login import LoginManager, UserMixin, current_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

db = SQLAlchemy()
login_manager = LoginManager()

roles_users = Table(
    "roles_users",
    db.metadata,
    Column("user_id", Integer, ForeignKey("user.id")),
    Column("role_id", Integer, ForeignKey("role.id")),
)


class Role(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str | None] = mapped_column(String(255))

    def __str__(self) -> str:
        return self.name


class User(db.Model, UserMixin):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    roles: Mapped[list[Role]] = relationship(secondary=roles_users, backref="users")

    def has_role(self, name: str) -> bool:
        return any(role.name == name for role in self.roles)

    def __str__(self) -> str:
        return self.email


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id))


class SuperuserView(ModelView):
    column_exclude_list = ("active",)

    def is_accessible(self) -> bool:
        user = current_user
        return bool(user.is_active and user.is_authenticated and user.has_role("superuser"))

    def inaccessible_callback(self, name: str, **kwargs: object):  # type: ignore[no-untyped-def]
        if current_user.is_authenticated:
            abort(403)
        return redirect(url_for("login", next=request.url))


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "dev"
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
    db.init_app(app)
    login_manager.init_app(app)
    app.add_url_rule("/login", "login", lambda: "log in here")
    admin = Admin(app, name="Back office")
    admin.add_view(SuperuserView(Role, db))
    admin.add_view(SuperuserView(User, db))
    with app.app_context():
        db.create_all()
        if db.session.scalar(select(Role).filter_by(name="superuser")) is None:
            boss = Role(name="superuser")
            db.session.add(User(email="boss@example.com", roles=[boss]))
            db.session.add(User(email="reader@example.com"))
            db.session.commit()
    return app


def _log_in_as(client, email: str) -> None:  # type: ignore[no-untyped-def]
    with client.application.app_context():
        user_id = db.session.scalar(select(User.id).filter_by(email=email))
        db.session.remove()
    with client.session_transaction() as session:
        session["_user_id"] = str(user_id)
        session["_fresh"] = True


def log_in_superuser(client) -> None:  # type: ignore[no-untyped-def]
    _log_in_as(client, "boss@example.com")


def log_in_reader(client) -> None:  # type: ignore[no-untyped-def]
    _log_in_as(client, "reader@example.com")
