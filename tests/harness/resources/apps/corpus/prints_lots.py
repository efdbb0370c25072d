"""An app that prints 10 MB while it loads (a debug dump left in), then works.

``--json -`` must still be JSON on stdout, and check-app must not hold the 10 MB in memory
or lose the report behind them.
"""

import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

LINE = "debug: " + "x" * 1017 + "\n"  # 1 KiB a line
for _ in range(10 * 1024):
    print(LINE, end="")

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)


class Entry(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


admin = Admin(app, name="Loud")
admin.add_view(ModelView(Entry, db))

with app.app_context():
    db.create_all()
