"""Plain SQLAlchemy as Flask's "SQLAlchemy in Flask" pattern has it (a ``scoped_session``
removed at teardown), with one view built over a Session made once at import: that view
holds one Session forever, across every request and thread.

check-app must fail the ``audit_entry`` view (exit 1) and pass ``gadget``.
"""

import os

from flask import Flask
from flask_admin import Admin
from flask_admin.contrib.sqla import ModelView
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, scoped_session, sessionmaker

engine = create_engine(os.environ.get("DATABASE_URL", "sqlite://"))
SessionLocal = sessionmaker(bind=engine)
db_session = scoped_session(SessionLocal)


class Base(DeclarativeBase):
    pass


class Gadget(Base):
    __tablename__ = "gadget"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str] = mapped_column(String(200))


app = Flask(__name__)
app.config["SECRET_KEY"] = "dev"


@app.teardown_appcontext
def shutdown_session(exception: BaseException | None = None) -> None:
    db_session.remove()


Base.metadata.create_all(engine)
audit_session = SessionLocal()  # "the audit log has its own session": one, for good

admin = Admin(app, name="Gadgets")
admin.add_view(ModelView(Gadget, db_session))
admin.add_view(ModelView(AuditEntry, audit_session))
