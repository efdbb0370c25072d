"""Files and images uploaded through Flask-Admin's own upload fields, as its forms example.

A document's ``path`` is NOT NULL, so its form cannot be saved without a file; an image goes
through Pillow (a thumbnail is made). Uploads land in ``$UPLOAD_DIR``.
"""

import os
import tempfile

from flask import Flask
from flask_admin import Admin, form
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

UPLOADS = os.environ.get("UPLOAD_DIR") or tempfile.mkdtemp(prefix="uploads-")

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)


class Document(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(128))


class Picture(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    caption: Mapped[str | None] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(128))


class DocumentView(ModelView):
    form_overrides = {"path": form.FileUploadField}
    form_args = {"path": {"label": "File", "base_path": UPLOADS, "allow_overwrite": False}}


class PictureView(ModelView):
    form_extra_fields = {
        "path": form.ImageUploadField("Image", base_path=UPLOADS, thumbnail_size=(64, 64, True))
    }


admin = Admin(app, name="Media")
admin.add_view(DocumentView(Document, db))
admin.add_view(PictureView(Picture, db))

with app.app_context():
    db.create_all()
