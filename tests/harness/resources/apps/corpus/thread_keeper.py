"""A sound app that starts a non-daemon background thread at import (a scheduler that polls
forever), as apps with a job queue do. check-app must report and exit, not wait for it.
"""

import os
import threading
import time

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


class Job(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


def poll() -> None:
    while True:
        time.sleep(0.5)


threading.Thread(target=poll, name="scheduler").start()  # not a daemon

admin = Admin(app, name="Jobs")
admin.add_view(ModelView(Job, db))

with app.app_context():
    db.create_all()
