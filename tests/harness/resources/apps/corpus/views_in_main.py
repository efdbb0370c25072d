"""The shape of most of Flask-Admin's own examples: the Admin is made at import, its views
are added under ``if __name__ == "__main__":``, just before ``app.run()``.

Imported (as ``flask --app`` and check-app import it), the Admin has no view at all.
check-app says so, names the ``__main__`` block and shows the factory to write.
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
admin = Admin(app, name="Example: Simple")


class Car(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))


if __name__ == "__main__":
    admin.add_view(ModelView(Car, db))
    with app.app_context():
        db.create_all()
    app.run(debug=True)
