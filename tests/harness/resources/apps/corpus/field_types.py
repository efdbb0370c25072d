"""A shop whose models hold every column type Flask-Admin turns into its own kind of field.

Enum (a select of its values), Date, DateTime and Time (text inputs with a date role),
Boolean, Numeric (a decimal), JSON (a textarea that must parse), a unique column (Flask-Admin
adds its ``Unique`` validator, so an edit or a second create needs a fresh value) and a
required relationship (an order needs an existing customer). An app factory, as
Flask-SQLAlchemy's docs show.
"""

import datetime
import decimal
import enum
import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, Enum, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

db = SQLAlchemy()


class Status(enum.Enum):
    pending = "pending"
    paid = "paid"
    shipped = "shipped"


class Customer(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    vip: Mapped[bool] = mapped_column(default=False)
    born: Mapped[datetime.date]

    def __str__(self) -> str:
        return self.name


class Order(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id))
    customer: Mapped[Customer] = relationship()
    status: Mapped[Status] = mapped_column(Enum(Status))
    total: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))
    placed_at: Mapped[datetime.datetime]
    deliver_after: Mapped[datetime.time]
    extra: Mapped[dict[str, object]] = mapped_column(JSON)


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "dev"
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
    db.init_app(app)
    admin = Admin(app, name="Shop")
    admin.add_view(ModelView(Customer, db))
    admin.add_view(ModelView(Order, db))
    with app.app_context():
        db.create_all()
    return app
