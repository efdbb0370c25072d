"""A shop: customers with a phone number the app checks by its own regular expression,
products priced in Numeric with a NumberRange and a SKU shape, orders with a status from
``form_choices`` and a required customer, order lines that are an association object with a
composite primary key (order and product) and a quantity in a range, and a stock count per
warehouse whose form is built with ``form_extra_fields`` and ``on_model_change``.
"""

import decimal
import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from wtforms import IntegerField, StringField, ValidationError, validators

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)


class Customer(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(120), unique=True)
    phone: Mapped[str] = mapped_column(String(20))

    def __str__(self) -> str:
        return self.name


class Product(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(12), unique=True)
    price: Mapped[decimal.Decimal] = mapped_column(Numeric(10, 2))

    def __str__(self) -> str:
        return self.sku


class Order(db.Model):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(12))
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id))
    customer: Mapped[Customer] = relationship()

    def __str__(self) -> str:
        return f"order {self.id}"


class OrderLine(db.Model):
    order_id: Mapped[int] = mapped_column(ForeignKey(Order.id), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey(Product.id), primary_key=True)
    quantity: Mapped[int]
    order: Mapped[Order] = relationship()
    product: Mapped[Product] = relationship()


class Stock(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    warehouse: Mapped[str] = mapped_column(String(40))
    count: Mapped[int]


def a_phone_number(form, field):  # type: ignore[no-untyped-def]
    import re

    if not re.fullmatch(r"\+?[0-9 ]{6,20}", field.data or ""):
        raise ValidationError("Enter a phone number: digits, spaces and a leading +")


class CustomerView(ModelView):
    column_searchable_list = ("name", "email")
    form_args = {
        "email": {"validators": [validators.DataRequired(), validators.Email()]},
        "phone": {"validators": [a_phone_number]},
    }


class ProductView(ModelView):
    form_args = {
        "sku": {"validators": [validators.Regexp(r"^[A-Z]{2}[0-9]{4,10}$")]},
        "price": {"validators": [validators.NumberRange(min=0, max=10_000)]},
    }


class OrderView(ModelView):
    column_filters = ("status", "customer")
    form_choices = {"status": [("new", "New"), ("paid", "Paid"), ("sent", "Sent")]}


class OrderLineView(ModelView):
    column_list = ("order", "product", "quantity")
    form_columns = ("order", "product", "quantity")
    form_args = {"quantity": {"validators": [validators.NumberRange(min=1, max=99)]}}


class StockView(ModelView):
    form_excluded_columns = ("count",)
    form_extra_fields = {
        "counted": IntegerField("Counted", [validators.InputRequired()]),
        "note": StringField("Note"),
    }

    def on_model_change(self, form, model, is_created):  # type: ignore[no-untyped-def]
        model.count = form.counted.data


admin = Admin(app, name="Shop")
admin.add_view(CustomerView(Customer, db))
admin.add_view(ProductView(Product, db))
admin.add_view(OrderView(Order, db))
admin.add_view(OrderLineView(OrderLine, db))
admin.add_view(StockView(Stock, db))

with app.app_context():
    db.create_all()
