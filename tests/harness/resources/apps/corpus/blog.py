"""A blog admin in the shape of Flask-Admin's own sqla example: users with a phone number
only the app's own function validates ("Only numbers are allowed.") and a time zone and a
colour whose validators name examples in their messages; posts that require an author (who
must first be made through the user view, whose form refuses made-up values), with tags
(many-to-many) and comments inline; unique tags; a tree of its own rows; accounts keyed by a
UUID.
"""

import enum
import os
import re
import uuid
import zoneinfo

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Column, Date, Enum, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from wtforms import ValidationError, validators

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)


class Plan(enum.Enum):
    FREE = "free"
    PRO = "pro"


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(120), unique=True)
    dialling_code: Mapped[int] = mapped_column(Integer)
    local_phone_number: Mapped[str] = mapped_column(String(10))
    timezone: Mapped[str] = mapped_column(String(60))
    favourite_colour: Mapped[str | None] = mapped_column(String(20))

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


post_tags = Table(
    "post_tags",
    db.Model.metadata,
    Column("post_id", Integer, ForeignKey("post.id"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tag.id"), primary_key=True),
)


class Tag(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)

    def __str__(self) -> str:
        return self.name


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    date: Mapped[object] = mapped_column(Date)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id))
    user: Mapped[User] = relationship(backref="posts")
    tags: Mapped[list[Tag]] = relationship(secondary=post_tags)
    comments: Mapped[list["Comment"]] = relationship(
        back_populates="post", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.title


class Comment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(String(200))
    post_id: Mapped[int] = mapped_column(ForeignKey(Post.id))
    post: Mapped[Post] = relationship(back_populates="comments")


class Tree(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tree.id"))
    parent: Mapped["Tree | None"] = relationship(remote_side=[id], backref="children")

    def __str__(self) -> str:
        return self.name


class Account(db.Model):
    # A UUID kept as text: Flask-Admin 2.2.1 cannot open the edit page of a row keyed by
    # SQLAlchemy's own Uuid type on SQLite (its id stays a str: "'str' object has no
    # attribute 'hex'"), so apps that key rows by UUID mostly store them so.
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    owner: Mapped[str] = mapped_column(String(80))
    plan: Mapped[Plan] = mapped_column(Enum(Plan))


def only_digits(form, field):  # type: ignore[no-untyped-def]
    if field.data and not field.data.isdigit():
        raise ValidationError("Only numbers are allowed.")


def a_time_zone(form, field):  # type: ignore[no-untyped-def]
    try:
        zoneinfo.ZoneInfo(field.data or "")
    except (ValueError, zoneinfo.ZoneInfoNotFoundError) as exc:
        raise ValidationError(
            'Not a valid timezone (e.g. "America/New_York", "Africa/Johannesburg").'
        ) from exc


def a_colour(form, field):  # type: ignore[no-untyped-def]
    if field.data and not re.fullmatch(r"#[0-9a-f]{6}|red|green|blue", field.data):
        raise ValidationError('Not a valid color (e.g. "red", "#ff0000").')


class UserAdmin(ModelView):
    can_view_details = True
    column_searchable_list = ("first_name", "last_name", "email")
    form_args = {
        "local_phone_number": {"label": "Phone number", "validators": [only_digits]},
        "timezone": {"validators": [a_time_zone]},
        "favourite_colour": {"validators": [a_colour]},
    }


class PostAdmin(ModelView):
    column_filters = ("user", "title", "date", "tags")
    column_searchable_list = ("title", "tags.name")
    form_args = {"text": {"label": "Big Text", "validators": [validators.DataRequired()]}}
    form_ajax_refs = {"tags": {"fields": (Tag.name,), "minimum_input_length": 0}}
    inline_models = ((Comment, {"form_columns": ("id", "body")}),)


class TreeView(ModelView):
    form_excluded_columns = ("children",)


admin = Admin(app, name="Example: SQLAlchemy")
admin.add_view(UserAdmin(User, db))
admin.add_view(ModelView(Tag, db))
admin.add_view(PostAdmin(Post, db))
admin.add_view(TreeView(Tree, db))
admin.add_view(ModelView(Account, db))

with app.app_context():
    db.create_all()
