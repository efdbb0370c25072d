"""An app whose own code breaks a page: a list formatter that raises, and a view whose
``on_model_change`` hook refuses every save. Neither is session scoping: check-app says it
could not check what those pages hide, with the cause, and passes what it could check.
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
db = SQLAlchemy(app)


class Metric(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    total: Mapped[int] = mapped_column(default=0)
    count: Mapped[int] = mapped_column(default=0)


class Label(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(40))


def average(view, context, model, name):  # type: ignore[no-untyped-def]
    return model.total / model.count  # a row with no count yet: ZeroDivisionError


class MetricView(ModelView):
    column_list = ("name", "average")
    column_formatters = {"average": average}


class LabelView(ModelView):
    def on_model_change(self, form, model, is_created):  # type: ignore[no-untyped-def]
        raise ValueError("labels are made by the nightly import")


admin = Admin(app, name="Metrics")
admin.add_view(MetricView(Metric, db))
admin.add_view(LabelView(Label, db))

with app.app_context():
    db.create_all()
    if not db.session.query(Metric).count():
        db.session.add(Metric(name="visits"))
        db.session.commit()
