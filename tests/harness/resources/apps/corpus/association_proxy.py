"""Users and their keywords through an association object, with ``association_proxy``
columns shown in the list and searched, as Flask-Admin's association proxy example.
"""

import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, String
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("DATABASE_URL", "sqlite://")
db = SQLAlchemy(app)


class Keyword(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    keyword: Mapped[str] = mapped_column(String(64))

    def __str__(self) -> str:
        return self.keyword


class UserKeyword(db.Model):
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), primary_key=True)
    keyword_id: Mapped[int] = mapped_column(ForeignKey(Keyword.id), primary_key=True)
    special_key: Mapped[str | None] = mapped_column(String(50))
    user: Mapped["User"] = relationship(back_populates="user_keywords")
    keyword: Mapped[Keyword] = relationship()


class User(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    user_keywords: Mapped[list[UserKeyword]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    keywords: AssociationProxy[list[Keyword]] = association_proxy(
        "user_keywords", "keyword", creator=lambda keyword: UserKeyword(keyword=keyword)
    )

    def __str__(self) -> str:
        return self.name


class UserView(ModelView):
    column_list = ("name", "keywords")
    column_searchable_list = ("name", "keywords.keyword")
    column_filters = ("keywords.keyword",)
    form_columns = ("name", "keywords")


admin = Admin(app, name="Keywords")
admin.add_view(UserView(User, db))
admin.add_view(ModelView(Keyword, db))

with app.app_context():
    db.create_all()
