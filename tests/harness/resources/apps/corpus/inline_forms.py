"""Locations edited with their contacts inline (``inline_models``), one inline form
customised through ``InlineFormAdmin`` with an ajax lookup inside it, as Flask-Admin's
custom inline forms example.
"""

import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.model.form import InlineFormAdmin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)


class Location(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="location", cascade="all, delete-orphan"
    )
    rooms: Mapped[list["Room"]] = relationship(
        back_populates="location", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class Role(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(40))

    def __str__(self) -> str:
        return self.title


class Contact(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    location_id: Mapped[int] = mapped_column(ForeignKey(Location.id))
    location: Mapped[Location] = relationship(back_populates="contacts")
    role_id: Mapped[int | None] = mapped_column(ForeignKey(Role.id))
    role: Mapped[Role | None] = relationship()


class Room(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(20))
    location_id: Mapped[int] = mapped_column(ForeignKey(Location.id))
    location: Mapped[Location] = relationship(back_populates="rooms")


class ContactInline(InlineFormAdmin):
    form_columns = ("id", "name", "role")
    form_label = "Contact"
    form_ajax_refs = {"role": {"fields": ("title",), "page_size": 10}}


class LocationView(ModelView):
    inline_models = (ContactInline(Contact), (Room, {"form_columns": ("id", "label")}))


admin = Admin(app, name="Sites")
admin.add_view(LocationView(Location, db))
admin.add_view(ModelView(Role, db))

with app.app_context():
    db.create_all()
