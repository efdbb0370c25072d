"""The models and views, added to the app's Admin at import."""

from flask_admin.contrib.sqla import ModelView
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin import admin, app, db


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


admin.add_view(ModelView(Writer, db))
admin.add_view(ModelView(Story, db))

with app.app_context():
    db.create_all()
