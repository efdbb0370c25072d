"""Validators of the app's own: plain functions, a ``validate_<field>`` method, and one that
no made-up value can pass (a voucher code the app keeps to itself).

``product`` and ``supplier`` can be filled from what their validators say; ``voucher``
cannot, and check-app names its field and the validator's message instead of a save.
"""

import os
import re

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_admin.form import BaseForm
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import ValidationError, validators

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)
ISSUED_VOUCHERS = {"WINTER-7F3K", "SPRING-Q2ZD"}


def no_spaces(form, field):  # type: ignore[no-untyped-def]
    if field.data and " " in field.data:
        raise ValidationError("No spaces, please")


def sku_format(form, field):  # type: ignore[no-untyped-def]
    if not re.fullmatch(r"[A-Z]{3}-[0-9]{4}", field.data or ""):
        raise ValidationError("A SKU looks like ABC-1234")


class Product(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40))
    sku: Mapped[str] = mapped_column(String(8))


class Supplier(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))


class Voucher(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))


class SupplierForm(BaseForm):
    def validate_name(self, field):  # type: ignore[no-untyped-def]
        if field.data and field.data.lower() == "unknown":
            raise ValidationError("Name the supplier")


class ProductView(ModelView):
    # sku_format is the app's own function, but a Regexp beside it says the same shape.
    form_args = {
        "slug": {"validators": [validators.DataRequired(), no_spaces]},
        "sku": {"validators": [validators.Regexp(r"^[A-Z]{3}-[0-9]{4}$"), sku_format]},
    }


class SupplierView(ModelView):
    form_base_class = SupplierForm


class VoucherView(ModelView):
    def _known(form, field):  # type: ignore[no-untyped-def]
        if field.data not in ISSUED_VOUCHERS:
            raise ValidationError("Not an issued voucher code")

    form_args = {"code": {"validators": [validators.DataRequired(), _known]}}


admin = Admin(app, name="Catalogue")
admin.add_view(ProductView(Product, db))
admin.add_view(SupplierView(Supplier, db))
admin.add_view(VoucherView(Voucher, db))

with app.app_context():
    db.create_all()
