"""The Admin itself is only made under ``if __name__ == "__main__":``.

Imported, the app has no Admin at all: check-app says so, names the ``__main__`` block and
shows the factory to write.
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


class Ticket(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(120))


@app.route("/")
def index() -> str:
    return '<a href="/admin/">Admin</a>'


if __name__ == "__main__":
    admin = Admin(app, name="Helpdesk")
    admin.add_view(ModelView(Ticket, db))
    with app.app_context():
        db.create_all()
    app.run(debug=True)
