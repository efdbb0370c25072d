"""An app that talks: it prints while it loads (a banner, its settings) and while it serves
(a line per request), and logs through the root logger. ``--json -`` must still be JSON.
"""

import logging
import os
import sys

from flask import Flask, request
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

print("=" * 40)
print(" Noisy app starting", flush=True)
print("=" * 40)
logging.basicConfig(level=logging.INFO, stream=sys.stdout)

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
print(f"database: {app.config['SQLALCHEMY_DATABASE_URI']}")
db = SQLAlchemy(app)


@app.before_request
def say_what() -> None:
    print(f"-> {request.method} {request.path}")
    logging.getLogger("noisy").info("serving %s", request.path)


class Note(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))


admin = Admin(app, name="Noisy")
admin.add_view(ModelView(Note, db))

with app.app_context():
    db.create_all()
print("ready.")
