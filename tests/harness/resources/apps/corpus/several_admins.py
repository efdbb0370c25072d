"""Two Admins on one app, each with its own URL and endpoint, as Flask-Admin's multiple
admin instances example: the staff's back office and a read-mostly reporting admin.
"""

import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

db = SQLAlchemy()


class Invoice(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int]


class Region(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class ReadOnlyView(ModelView):
    can_create = False
    can_edit = False
    can_delete = False
    can_view_details = True


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "dev"
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
    db.init_app(app)
    staff = Admin(app, name="Staff", url="/admin", endpoint="admin")
    staff.add_view(ModelView(Invoice, db, endpoint="staff_invoice"))
    staff.add_view(ModelView(Region, db, endpoint="staff_region"))
    reports = Admin(app, name="Reports", url="/reports", endpoint="reports")
    reports.add_view(ReadOnlyView(Invoice, db, endpoint="report_invoice"))
    with app.app_context():
        db.create_all()
    return app
