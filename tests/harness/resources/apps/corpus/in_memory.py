"""An app on an in-memory SQLite database (``sqlite://``), as Flask-Admin's association
proxy example is: every thread shares its one connection, so two requests at once fail in
the driver whatever their Sessions. check-app skips concurrency, saying why, and checks
the rest (the DATABASE_URL the corpus sets is ignored on purpose).
"""

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
db = SQLAlchemy(app)


class Keyword(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    keyword: Mapped[str] = mapped_column(String(64))


admin = Admin(app, name="Keywords")
admin.add_view(ModelView(Keyword, db))

with app.app_context():
    db.create_all()
