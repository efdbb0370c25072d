"""Tables made by a separate command, as Flask's tutorial does: ``flask --app ... init-db``.

Until that command has run, every page of the admin answers 500 (``no such table``): not a
scoping bug, so check-app says it could not check, with the cause, and exits 2. After it,
every view passes.
"""

import os

import click
from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

db = SQLAlchemy()


class Project(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))

    def __str__(self) -> str:
        return self.name


class Task(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    done: Mapped[bool] = mapped_column(default=False)
    project_id: Mapped[int | None] = mapped_column(ForeignKey(Project.id))
    project: Mapped[Project | None] = relationship()


@click.command("init-db")
def init_db() -> None:
    """Create the tables."""
    db.create_all()
    click.echo("Initialized the database.")


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "dev"
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
    db.init_app(app)
    app.cli.add_command(init_db)
    admin = Admin(app, name="Tasks")
    admin.add_view(ModelView(Project, db))
    admin.add_view(ModelView(Task, db))
    return app
