"""A sound app that starts background threads that never end, as apps with a job queue do:
a scheduler at import, and a mail sender on its first request. Neither is a daemon thread.
check-app must report and exit, not wait for them.
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
mailer: list[threading.Thread] = []


@app.before_request
def start_mailer() -> None:
    if not mailer:
        mailer.append(threading.Thread(target=poll, name="mailer"))
        mailer[0].start()


admin = Admin(app, name="Jobs")
admin.add_view(ModelView(Job, db))

with app.app_context():
    db.create_all()
