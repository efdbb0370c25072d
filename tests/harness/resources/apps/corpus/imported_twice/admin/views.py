"""The models and views, added to the app's Admin at import."""

from admin import app, db, site
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship


class Writer(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))

    def __str__(self) -> str:
        return self.name


class Story(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    writer_id: Mapped[int | None] = mapped_column(ForeignKey(Writer.id))
    writer: Mapped[Writer | None] = relationship()


site.add_view(ModelView(Writer, db))
site.add_view(ModelView(Story, db))

with app.app_context():
    db.create_all()
