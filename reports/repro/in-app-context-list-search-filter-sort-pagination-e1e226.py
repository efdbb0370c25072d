#!/usr/bin/env -S uv run --script
# /// script
# requires-python = "==3.13.*"
# dependencies = [
#     "asgiref==3.13.0",
#     "blinker==1.9.0",
#     "click==8.5.1",
#     "flask==3.1.3",
#     "flask-admin==2.0.2",
#     "flask-sqlalchemy-lite==0.1.0",
#     "greenlet==3.5.6",
#     "itsdangerous==2.2.0",
#     "jinja2==3.1.6",
#     "markupsafe==3.0.4",
#     "packaging==26.4",
#     "sqlalchemy==2.1.9",
#     "typing-extensions==4.16.0",
#     "werkzeug==3.1.9",
#     "wtforms==3.3.2",
# ]
# ///
"""Reproduction of one cause of the flask-admin-compat grid.

Exits 1 while the failure is there and 0 once it is gone; run it with
``uv run --script`` and nothing else installed. Its cause, cell and pins are in
SPEC below.
"""

import json

SPEC = json.loads('{"cause": "in-app-context-list-search-filter-sort-pagination-e1e226", "summary": "list, search, filter, sort, pagination, details, create, edit, delete, batch delete, ajax lookup, inline models and export shared one Session (per-request, teardown, concurrency, fresh-reads with in-app-context)", "signature": "list, search, filter, sort, pagination, details, create, edit, delete, batch delete, ajax lookup, inline models and export shared one Session", "cell": "py313-flask31-admin20-sqla21-lite01", "pattern": "in-app-context", "surfaces": ["list", "search", "filter", "sort", "pagination", "details", "create", "edit", "delete", "batch delete", "ajax lookup", "inline models", "export"], "backend": "flask-sqlalchemy-lite", "upstream": null}')

# What follows is the same for every cause: the smallest app that shows one. It needs only the
# stack pinned above (never flask-admin-compat), so that it can be attached to an upstream report.

import importlib
import importlib.util
import sys
import tempfile
import threading
from pathlib import Path

PROBE = "X-Repro-Probe"
AUTHORS = ("ada", "grace", "linus")
SHOWN = 12


def main() -> int:
    """Build the app the cause's way, send its requests, exit 1 while the failure is there."""
    print(f"cause: {SPEC['summary']}")
    print(f"pattern: {SPEC['pattern']}; surfaces: {', '.join(SPEC['surfaces']) or 'none'}")
    try:
        stack = Stack.load(SPEC["backend"])
    except (Exception, SystemExit) as exc:  # the stack's own import is what fails here
        return failed(f"the stack did not start: {describe(exc)}")
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'repro.db'}"
        try:
            app, db, models = stack.app(url)
        except (Exception, SystemExit) as exc:
            return failed(f"the stack did not start: {describe(exc)}")
        seed(app, db, models, stack)
        if SPEC["pattern"] == "*":  # a failure of the stack as a whole: starting it is all
            print("passed: the stack started")
            return 0
        try:
            views = register(SPEC["pattern"], app, db, models, stack)
        except Exception as exc:
            return failed(f"the admin views cannot be built this way: {describe(exc)}")
        problems = Tour(app, stack, models, views).run(SPEC["surfaces"])
    if problems:
        shown = problems[:SHOWN]
        more = f"\n  and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
        return failed("".join(f"\n  {p}" for p in shown) + more)
    print("passed: every request answered, had a session of its own, and ended clean")
    return 0


def failed(why: str) -> int:
    print(f"FAILED: {why}")
    print(f"recorded by the grid: {SPEC['signature']}")
    return 1


def describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class Stack:
    """The installed Flask, SQLAlchemy, Flask-Admin and session backend."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.sa = importlib.import_module("sqlalchemy")
        self.orm = importlib.import_module("sqlalchemy.orm")
        self.flask = importlib.import_module("flask")
        # The backend before Flask-Admin, so that its own import error is the one reported.
        self.ext = importlib.import_module(backend.replace("-", "_"))
        self.admin = importlib.import_module("flask_admin")
        self.sqla = importlib.import_module("flask_admin.contrib.sqla")

    @classmethod
    def load(cls, wanted: str) -> "Stack":
        # The cell's backend where it is installed; the other where the pins are a neighbour's
        # whose install set has only the other one.
        others = [b for b in ("flask-sqlalchemy-lite", "flask-sqlalchemy") if b != wanted]
        for name in (wanted, *others):
            if importlib.util.find_spec(name.replace("-", "_")) is not None:
                return cls(name)
        raise ImportError(f"neither {wanted} nor {', '.join(others)} is installed")

    @property
    def lite(self) -> bool:
        return self.backend == "flask-sqlalchemy-lite"

    def app(self, url: str):
        app = self.flask.Flask("repro")
        app.config["SECRET_KEY"] = "repro"
        if self.lite:
            app.config["SQLALCHEMY_ENGINES"] = {"default": url}
            db = self.ext.SQLAlchemy()
            base = self._declarative_base()
        else:
            app.config["SQLALCHEMY_DATABASE_URI"] = url
            app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
            db = self.ext.SQLAlchemy()
            base = db.Model
        models = self._models(base)
        db.init_app(app)
        return app, db, models

    def _declarative_base(self):
        if hasattr(self.orm, "DeclarativeBase"):
            return type("Base", (self.orm.DeclarativeBase,), {})
        return self.orm.declarative_base()

    def _models(self, base):
        sa, orm = self.sa, self.orm

        class Author(base):
            __tablename__ = "author"
            id = sa.Column(sa.Integer, primary_key=True)
            name = sa.Column(sa.String(80), unique=True, nullable=False)
            posts = orm.relationship("Post", back_populates="author", cascade="all, delete-orphan")

            def __str__(self) -> str:
                return str(self.name)

        class Post(base):
            __tablename__ = "post"
            id = sa.Column(sa.Integer, primary_key=True)
            title = sa.Column(sa.String(120), nullable=False)
            author_id = sa.Column(sa.Integer, sa.ForeignKey("author.id"), nullable=False)
            author = orm.relationship(Author, back_populates="posts")

            def __str__(self) -> str:
                return str(self.title)

        orm.configure_mappers()
        return {"author": Author, "post": Post, "metadata": base.metadata}

    def engine(self, app, db):
        with app.app_context():
            return db.engine

    def session_factory(self, db):
        if self.lite:
            return lambda: db.sessionmaker()
        return db.session


def seed(app, db, models, stack) -> None:
    """Tables and rows made through the engine directly, never through a session under test."""
    engine = stack.engine(app, db)
    models["metadata"].create_all(engine)
    author, post = models["author"].__table__, models["post"].__table__
    with engine.begin() as connection:
        for index, name in enumerate(AUTHORS, start=1):
            connection.execute(author.insert().values(id=index, name=name))
            for n in (1, 2):
                title = f"{name}-{n}"
                connection.execute(post.insert().values(title=title, author_id=index))


def register(pattern: str, app, db, models, stack):
    """The registration pattern the cause shows under, as the harness's suite writes it."""
    admin = stack.admin.Admin(app, name="repro", url="/admin")
    ModelView = stack.sqla.ModelView

    class AuthorView(ModelView):
        column_list = ("name",)
        form_columns = ("name",)
        inline_models = (models["post"],)

    class PostView(ModelView):
        column_list = ("title", "author")
        form_columns = ("title", "author")
        column_searchable_list = ("title", "author.name")
        column_filters = ("author",)
        column_sortable_list = ("title", ("author", "author.name"))
        page_size = 4
        can_view_details = True
        can_export = True

    class AjaxPostView(ModelView):
        form_columns = ("title", "author")
        form_ajax_refs = {"author": {"fields": ("name",)}}

    def build(target):
        return (
            AuthorView(models["author"], target, endpoint="author"),
            PostView(models["post"], target, endpoint="post"),
            AjaxPostView(models["post"], target, endpoint="postajax"),
        )

    if pattern == "session-at-setup":
        views = build(db.session)
    elif pattern == "db-at-setup":
        views = build(db)
    elif pattern == "in-app-context":
        with app.app_context():
            views = build(db if accepts_db(models, db, stack) else db.session)
    elif pattern == "lazy-proxy":
        views = build(app_scoped_session(app, stack.session_factory(db), stack))
    else:
        raise ValueError(f"unknown pattern {pattern!r}")
    for view in views:
        admin.add_view(view)
    return views


def accepts_db(models, db, stack) -> bool:
    """Whether this Flask-Admin resolves a session from ``db`` (2.1 and later do)."""
    try:
        probe = stack.sqla.ModelView(models["author"], db, endpoint="accepts-db-probe")
        return hasattr(probe.get_query(), "all")
    except Exception:
        return False


def app_scoped_session(app, factory, stack):
    """The harness's lazy-proxy workaround: a Session per app context, closed at its end."""
    flask = stack.flask
    scoped = stack.orm.scoped_session(factory, scopefunc=lambda: id(flask.g._get_current_object()))

    @app.teardown_appcontext
    def _remove(_exc=None) -> None:
        scoped.remove()

    return scoped


class Tour:
    """Requests on the failing surfaces, each in a fresh request, observed as they end."""

    def __init__(self, app, stack, models, views) -> None:
        self.app, self.stack, self.models, self.views = app, stack, models, views
        self.used: dict[str, list] = {}
        self.errors: dict[str, str] = {}
        self.out = 0
        self.lock = threading.Lock()
        self.problems: list[str] = []
        self.count = 0
        Session = stack.orm.Session
        stack.sa.event.listen(Session, "after_begin", lambda s, *_: self._note(s))
        stack.sa.event.listen(Session, "do_orm_execute", lambda state: self._note(state.session))
        stack.flask.got_request_exception.connect(self._error, app, weak=False)

    def _note(self, session) -> None:
        flask = self.stack.flask
        if flask.has_request_context() and PROBE in flask.request.headers:
            used = self.used.setdefault(flask.request.headers[PROBE], [])
            if not any(seen is session for seen in used):
                used.append(session)

    def _error(self, _sender, exception, **_extra) -> None:
        self.errors[self.stack.flask.request.headers.get(PROBE, "")] = describe(exception)

    def run(self, surfaces) -> list[str]:
        requests = [r for surface in surfaces for r in self.requests(surface)]
        seen: dict[int, tuple[str, str]] = {}  # a Session's id: the first request that used it
        for surface, method, path, data in requests:
            probe = f"request-{self.count}"
            self.count += 1
            status = self.send(method, path, data, probe)
            label = f"{method} {path}"
            error = self.errors.get(probe)
            if status >= 500:
                self.problems.append(f"{surface}: {label} answered {status} ({error or 'no exception'})")
            for session in self.used.get(probe, ()):
                first = seen.setdefault(id(session), (probe, label))
                if first[0] != probe:
                    self.problems.append(f"{surface}: {first[1]} and {label} shared one Session")
                left = leftovers(session)
                if left:
                    self.problems.append(f"{surface}: after {label} the session {', '.join(left)}")
        if "list" in surfaces:
            self.fresh_read()
        return list(dict.fromkeys(self.problems))

    def send(self, method, path, data, probe) -> int:
        if self.stack.flask.has_app_context():
            raise AssertionError("an app context is pushed around a request: requests would share it")
        werkzeug = importlib.import_module("werkzeug.datastructures")
        client = self.app.test_client()
        form = werkzeug.MultiDict(data) if data is not None else None
        response = client.open(path, method=method, data=form, headers={PROBE: probe})
        response.get_data()
        response.close()
        return response.status_code

    def fresh_read(self) -> None:
        """A change committed by another connection must show on the next request."""
        author = self.models["author"].__table__
        with self._engine().begin() as connection:
            connection.execute(author.update().where(author.c.name == "grace").values(name="grace-renamed"))
        probe = f"fresh-{self.count}"
        client = self.app.test_client()
        response = client.get("/admin/author/", headers={PROBE: probe})
        body = response.get_data(as_text=True)
        response.close()
        if response.status_code < 400 and "grace-renamed" not in body:
            self.problems.append("list: after a change committed by another connection, the author list was stale")

    def _engine(self):
        return self.stack.sa.create_engine(str(self._url()))

    def _url(self):
        if "SQLALCHEMY_DATABASE_URI" in self.app.config:
            return self.app.config["SQLALCHEMY_DATABASE_URI"]
        return self.app.config["SQLALCHEMY_ENGINES"]["default"]

    def filter_key(self) -> str | None:
        post = self.views[1]
        for index, flt in enumerate(getattr(post, "_filters", None) or ()):
            try:
                operation, name = str(flt.operation()).lower(), str(flt.name).lower()
            except Exception:
                continue
            if operation == "equals" and "name" in name:
                return f"flt0_{post.get_filter_arg(index, flt)}"
        return None

    def requests(self, surface: str):
        """The requests of one surface, as the harness's suite sends them."""
        key = self.filter_key() if surface == "filter" else None
        table = {
            "list": [("GET", "/admin/post/", None), ("GET", "/admin/author/", None)],
            "search": [("GET", "/admin/post/?search=ada", None), ("GET", "/admin/post/?search=grace", None)],
            "filter": [("GET", f"/admin/post/?{key}=linus", None)] if key else [],
            "sort": [("GET", "/admin/post/?sort=0&desc=1", None), ("GET", "/admin/post/?sort=0", None)],
            "pagination": [("GET", "/admin/post/?sort=0&page=1", None)],
            "details": [("GET", "/admin/post/details/?id=1", None), ("GET", "/admin/post/details/?id=3", None)],
            "create": [
                ("GET", "/admin/post/new/", None),
                ("POST", "/admin/post/new/", [("title", "repro-first"), ("author", "1")]),
                ("POST", "/admin/author/new/", [("name", "repro-author-1")]),
                ("POST", "/admin/author/new/", [("name", "repro-author-2")]),
            ],
            "edit": [
                ("GET", "/admin/post/edit/?id=2", None),
                ("POST", "/admin/post/edit/?id=2", [("title", "repro-edited"), ("author", "2")]),
            ],
            "delete": [("POST", "/admin/post/delete/", [("id", "4")])],
            "batch delete": [("POST", "/admin/post/action/", [("action", "delete"), ("rowid", "5")])],
            "ajax lookup": [
                ("GET", "/admin/postajax/ajax/lookup/?name=author&query=ad", None),
                ("GET", "/admin/postajax/ajax/lookup/?name=author&query=gr", None),
            ],
            "inline models": [
                ("GET", "/admin/author/edit/?id=1", None),
                ("POST", "/admin/author/edit/?id=1", [("name", "ada-renamed")]),
            ],
            "export": [("GET", "/admin/post/export/csv/", None)],
        }
        return [(surface, method, path, data) for method, path, data in table.get(surface, [])]


def leftovers(session) -> list[str]:
    """What a Session still holds after its request ended, that a closed one would not."""
    found = []
    if session.in_transaction():
        found.append("is still in a transaction")
    if len(session.identity_map):
        found.append(f"still holds {len(session.identity_map)} loaded object(s)")
    return found


if __name__ == "__main__":
    sys.exit(main())
