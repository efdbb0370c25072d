"""A members' admin whose forms carry the validators real forms do, app made at import.

Email, Length, NumberRange, Regexp (phone digits, a colour), URL, AnyOf/NoneOf, EqualTo on
a password pair that ``on_model_change`` hashes, DataRequired and InputRequired, and select
choices from ``form_choices``. A made-up "check-app-1234" passes none of them: every one
must be filled from its validators for the create to reach a real save.
"""

import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import generate_password_hash
from wtforms import PasswordField, validators

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)


class Member(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(120), unique=True)
    nickname: Mapped[str] = mapped_column(String(20))
    age: Mapped[int]
    phone: Mapped[str] = mapped_column(String(16))
    colour: Mapped[str] = mapped_column(String(7))
    homepage: Mapped[str] = mapped_column(String(200))
    plan: Mapped[str] = mapped_column(String(10))
    username: Mapped[str] = mapped_column(String(30))
    country: Mapped[str] = mapped_column(String(2))
    password_hash: Mapped[str] = mapped_column(String(200))


class MemberView(ModelView):
    column_exclude_list = ("password_hash",)
    form_excluded_columns = ("password_hash",)
    form_choices = {"country": [("fr", "France"), ("de", "Germany"), ("jp", "Japan")]}
    form_extra_fields = {
        "password": PasswordField(
            "Password",
            [validators.DataRequired(), validators.EqualTo("confirm", "Passwords must match")],
        ),
        "confirm": PasswordField("Repeat password"),
    }
    form_args = {
        "email": {"validators": [validators.DataRequired(), validators.Email()]},
        "nickname": {"validators": [validators.Length(min=3, max=20)]},
        "age": {"validators": [validators.NumberRange(min=18, max=120)]},
        "phone": {"validators": [validators.Regexp(r"^\+?[0-9]{7,15}$", message="Digits only")]},
        "colour": {"validators": [validators.Regexp(r"^#[0-9a-fA-F]{6}$", message="#rrggbb")]},
        "homepage": {"validators": [validators.URL()]},
        "plan": {"validators": [validators.AnyOf(["basic", "pro"])]},
        "username": {
            "validators": [validators.InputRequired(), validators.NoneOf(["admin", "root"])]
        },
    }

    def on_model_change(self, form, model, is_created):  # type: ignore[no-untyped-def]
        if form.password.data:
            model.password_hash = generate_password_hash(form.password.data)


admin = Admin(app, name="Members")
admin.add_view(MemberView(Member, db))

with app.app_context():
    db.create_all()
