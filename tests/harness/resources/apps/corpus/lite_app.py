"""flask-sqlalchemy-lite as Flask-Admin >= 2.1 documents it: views over the ``db`` object,
added inside an app context but never over ``db.session`` taken there. Every view passes.

Run in an environment of its own (test_checkapp_e2e.py): installed beside the harness's
tests, lite makes Flask-Admin refuse every view over a concrete Session, which the scoping
suite's fakes are.
"""

import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy_lite import SQLAlchemy
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

db = SQLAlchemy()


class Base(DeclarativeBase):
    pass


class Shelf(Base):
    __tablename__ = "shelf"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(40))

    def __str__(self) -> str:
        return self.label


class Book(Base):
    __tablename__ = "book"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    shelf_id: Mapped[int] = mapped_column(ForeignKey(Shelf.id))
    shelf: Mapped[Shelf] = relationship()


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "dev"
    app.config["SQLALCHEMY_ENGINES"] = {"default": os.environ.get("DATABASE_URL", "sqlite://")}
    db.init_app(app)
    admin = Admin(app, name="Library")
    # Inside an app context, as Flask-Admin's lite example does (scaffolding the forms needs
    # one with lite); over `db`, resolved per request, never `db.session` taken here.
    with app.app_context():
        Base.metadata.create_all(db.engine)
        admin.add_view(ModelView(Shelf, db))
        admin.add_view(ModelView(Book, db))
    return app
