"""Two databases: the shop's own and a users database reached through a bind key, as
Flask-SQLAlchemy's binds. Each view's queries go to its model's engine.
"""

import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
app.config["SQLALCHEMY_BINDS"] = {"users": os.environ.get("USERS_DATABASE_URL", "sqlite://")}
db = SQLAlchemy(app)


class Account(db.Model):
    __bind_key__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(40))


class Product(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    price_cents: Mapped[int]


admin = Admin(app, name="Two databases")
admin.add_view(ModelView(Account, db))
admin.add_view(ModelView(Product, db))

with app.app_context():
    db.create_all()
