"""The app, its database and its Admin; the views are registered by ``admin.views``, which
this package imports by its top-level name, as Flask-Admin's ``examples/sqla/admin`` does.

Run from ``imported_twice/`` with ``--app admin:app``: Flask's locating names this module
``imported_twice.admin`` while ``import admin.views`` below reaches it as ``admin``. Imported
twice, the app found would not be the one the views were added to; imported once, both
views are found and pass.
"""

import os

from flask import Flask
from flask_admin import Admin
from flask_sqlalchemy import SQLAlchemy

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)
site = Admin(app, name="Example: SQLAlchemy")

import admin.views  # noqa: F401 - registers the views
