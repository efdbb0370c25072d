"""check-app on the sample apps in resources/apps: run through cli.main, judged from its report.

Each sample app takes its database URL as a factory argument (the `flask --app` call syntax),
so every test has a database file of its own.
"""

from __future__ import annotations

import io
import json
import sqlite3
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from factories import PROJECT_ROOT, RESOURCES

from flask_admin_compat import cli
from flask_admin_compat.run.postgres import create_database, find_bindir, throwaway_server

APPS = RESOURCES / "apps"
SCHEMA = json.loads(
    (PROJECT_ROOT / "src/flask_admin_compat/schema/checkapp-v2.schema.json").read_text()
)
READ_CHECKS = ["per-request", "teardown", "concurrency"]
ALL_CHECKS = ["per-request", "teardown", "isolation-after-error", "concurrency"]


@dataclass(frozen=True)
class Run:
    status: int
    out: str
    err: str
    report: dict[str, Any]

    def checks(self, endpoint: str) -> dict[str, dict[str, Any]]:
        view = next(v for v in self.report["views"] if v["endpoint"] == endpoint)
        return {c["check"]: c for c in view["checks"]}

    def statuses(self, endpoint: str) -> dict[str, str]:
        return {name: c["outcome"] for name, c in self.checks(endpoint).items()}


def app_spec(module: str, database: Path, *, seed: bool = True) -> str:
    return f"{APPS / module}.py:create_app({f'sqlite:///{database}'!r}, {seed})"


def check_app(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: str) -> Run:
    out = io.StringIO()
    report_file = tmp_path / "report.json"
    status = cli.main(["check-app", *args, "--json", str(report_file)], out=out)
    err = capsys.readouterr().err
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    if report:
        jsonschema.validate(report, SCHEMA)
    return Run(status, out.getvalue(), err, report)


def rows(database: Path, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database) as connection:
        return connection.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()


def test_the_scoping_suites_style_app_passes_every_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "sound.db"
    run = check_app(capsys, tmp_path, "--app", app_spec("scoping_style", database))
    assert run.status == 0, run.out + run.err
    assert [v["endpoint"] for v in run.report["views"]] == ["author", "post"]
    for endpoint in ("author", "post"):
        assert run.statuses(endpoint) == dict.fromkeys(READ_CHECKS, "passed")
    # The database is named before anything else, and where each view class is defined.
    assert run.out.splitlines()[0] == f"databases: sqlite:///{database}"
    assert f"scoping_style.PostView  ({APPS / 'scoping_style.py'}:" in run.out
    assert "✓ per-request" in run.out
    assert "✗" not in run.out
    # Without --writes no request changes data.
    assert run.report["writes"] is False
    assert rows(database, "author") == [(1, "ada")]
    assert rows(database, "post") == [(1, "hello", 1)]


def test_a_get_query_that_keeps_the_first_session_is_named_and_its_neighbours_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = check_app(capsys, tmp_path, "--app", app_spec("kept_session", tmp_path / "kept.db"))
    assert run.status == 1, run.out + run.err
    assert run.statuses("author") == dict.fromkeys(READ_CHECKS, "passed")
    assert run.statuses("post") == dict.fromkeys(READ_CHECKS, "passed")
    kept = run.checks("kept_author")
    assert {name: c["outcome"] for name, c in kept.items()} == dict.fromkeys(READ_CHECKS, "failed")
    assert "shared one Session" in kept["per-request"]["message"]
    assert {"list", "sort"} <= set(kept["per-request"]["failed_surfaces"])
    assert "still in a transaction" in kept["teardown"]["message"]
    assert kept["concurrency"]["message"] == (
        "requests running at once shared one Session: two list requests"
    )
    # The override is named, with where it is: the line of `def get_query`.
    source = (APPS / "kept_session.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "def get_query" in text)
    cause = f"get_query ({APPS / 'kept_session.py'}:{line}) returns a query over a Session kept"
    assert kept["per-request"]["cause"].startswith(cause)
    view = next(v for v in run.report["views"] if v["endpoint"] == "kept_author")
    assert view["view_class"] == "kept_session.KeptAuthorView"
    assert view["defined_at"].startswith(f"{APPS / 'kept_session.py'}:")
    assert f"✗ per-request  {kept['per-request']['message']}" in run.out
    assert f"cause: {cause}" in run.out


# Flask-Admin's QuerySelectField yields what WTForms 3.1+ deprecates; the harness makes
# warnings errors, which would turn the form pages into 500s before any Session is shared.
@pytest.mark.filterwarnings("ignore:Yielding raw tuples:DeprecationWarning")
def test_a_query_factory_over_a_setup_session_is_traced_to_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = check_app(capsys, tmp_path, "--app", app_spec("kept_session", tmp_path / "kept.db"))
    factory = run.checks("factory_post")
    # Its forms share the setup Session; its list never touches it.
    assert factory["per-request"]["outcome"] == "failed"
    assert factory["per-request"]["message"].startswith("create and edit shared one Session (")
    assert factory["per-request"]["failed_surfaces"] == ["create", "edit"]
    assert factory["teardown"]["outcome"] == "failed"
    assert factory["concurrency"]["outcome"] == "passed"
    source = (APPS / "kept_session.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if '"query_factory":' in text)
    assert factory["per-request"]["cause"].startswith(
        f"the shared Session was reached from <lambda> at {APPS / 'kept_session.py'}:{line}:"
    )


def test_writes_create_edit_and_delete_a_row_of_their_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "empty.db"
    spec = app_spec("scoping_style", database, seed=False)
    run = check_app(capsys, tmp_path, "--app", spec, "--writes")
    assert run.status == 0, run.out + run.err
    assert run.statuses("author") == dict.fromkeys(ALL_CHECKS, "passed")
    assert run.report["writes"] is True
    # A post needs an author and the table holds none (the author view deleted its own):
    # one is made through the author view's own form first, and deleted after.
    assert run.statuses("post") == dict.fromkeys(ALL_CHECKS, "passed")
    for view in run.report["views"]:
        assert view["writes"] == {
            "create": "saved",
            "edit": "saved",
            "delete": "saved",
            "why": "",
        }, view["endpoint"]
    assert rows(database, "author") == []
    assert rows(database, "post") == []
    assert rows(database, "post") == []
    assert rows(database, "author") == []


def test_writes_refuse_tables_that_hold_rows_unless_yes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "full.db"
    spec = app_spec("scoping_style", database)
    refused = check_app(capsys, tmp_path, "--app", spec, "--writes")
    assert refused.status == 2
    assert "--writes refuses a database whose tables already hold rows" in refused.err
    assert "author (1 row(s), view author)" in refused.err
    assert refused.report["error"].startswith("--writes refuses a database")
    assert refused.report["views"] == []
    assert rows(database, "author") == [(1, "ada")]

    confirmed = check_app(capsys, tmp_path, "--app", spec, "--writes", "--yes")
    assert confirmed.status == 0, confirmed.out + confirmed.err
    assert confirmed.statuses("author") == dict.fromkeys(ALL_CHECKS, "passed")
    # What was there before is untouched; what it made itself is deleted.
    assert rows(database, "author") == [(1, "ada")]
    assert rows(database, "post") == [(1, "hello", 1)]


def test_isolation_after_error_fails_for_a_session_kept_through_a_failed_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "no_rollback.py"
    module.write_text(NO_ROLLBACK_APP.format(url=f"sqlite:///{tmp_path / 'nr.db'}"))
    run = check_app(capsys, tmp_path, "--app", f"{module}:create_app", "--writes")
    assert run.status == 1, run.out + run.err
    isolation = run.checks("thing")["isolation-after-error"]
    assert isolation["outcome"] == "failed"
    assert (
        "after the failed create, a Session it used is still in a transaction"
        in (isolation["message"])
    )


NO_ROLLBACK_APP = textwrap.dedent(
    """
    import warnings
    import flask, sqlalchemy as sa
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from sqlalchemy import orm

    class Base(orm.DeclarativeBase):
        pass

    class Thing(Base):
        __tablename__ = "thing"
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(40), nullable=False)

    class ThingView(ModelView):
        def create_model(self, form):
            # Swallows the error and never rolls back: the kept Session stays mid-transaction.
            try:
                model = self.model()
                form.populate_obj(model)
                self.session.add(model)
                self._on_model_change(form, model, True)
                self.session.commit()
                return model
            except Exception:
                flask.flash("failed", "error")
                return False

    def create_app():
        app = flask.Flask(__name__)
        app.config["SECRET_KEY"] = "x"
        engine = sa.create_engine("{url}")
        Base.metadata.create_all(engine)
        session = orm.scoped_session(orm.sessionmaker(engine))  # never removed: kept for good
        with warnings.catch_warnings():  # Flask-Admin >= 2.1 would rather have a db object
            warnings.simplefilter("ignore", DeprecationWarning)
            Admin(app).add_view(ThingView(Thing, session))
        return app
    """
)


def test_an_app_behind_a_login_is_skipped_without_login_and_checked_with_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = app_spec("login_app", tmp_path / "login.db")
    anonymous = check_app(capsys, tmp_path, "--app", spec)
    # Skipped is not passed: it says why and how, and the open views beside it still count.
    assert anonymous.status == 0, anonymous.out + anonymous.err
    skipped = anonymous.checks("secure_author")
    assert {c["outcome"] for c in skipped.values()} == {"skipped"}
    assert "answered 403" in skipped["per-request"]["message"]
    assert "pass --login MODULE:CALLABLE" in skipped["per-request"]["message"]
    assert anonymous.statuses("author") == dict.fromkeys(READ_CHECKS, "passed")
    summary = anonymous.out.rstrip().splitlines()[-2:]
    assert summary[0].endswith("3 skipped (not checked: secure_author)")
    assert summary[1] == "  3 skipped: behind a login (answered 403)"

    for hook in ("login_app:log_in", "login_app:log_in_via_session"):
        logged_in = check_app(capsys, tmp_path, "--app", spec, "--login", hook)
        assert logged_in.status == 0, logged_in.out + logged_in.err
        assert logged_in.statuses("secure_author") == dict.fromkeys(READ_CHECKS, "passed")


def test_a_run_that_checked_nothing_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "all_locked.py"
    module.write_text(LOCKED_APP.format(url=f"sqlite:///{tmp_path / 'locked.db'}"))
    run = check_app(capsys, tmp_path, "--app", f"{module}:create_app")
    assert run.status == 2
    assert "no view could be checked" in run.err
    assert run.statuses("thing") == dict.fromkeys(READ_CHECKS, "skipped")


LOCKED_APP = textwrap.dedent(
    """
    import flask, sqlalchemy as sa
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()

    class Thing(db.Model):
        id = sa.Column(sa.Integer, primary_key=True)

    class LockedView(ModelView):
        def is_accessible(self):
            return False

    def create_app():
        app = flask.Flask(__name__)
        app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI="{url}")
        db.init_app(app)
        with app.app_context():
            db.create_all()
        Admin(app).add_view(LockedView(Thing, db, endpoint="thing"))
        return app
    """
)


def test_database_urls_are_printed_with_the_password_hidden(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "two_binds.py"
    module.write_text(TWO_BINDS_APP.format(url=f"sqlite:///{tmp_path / 'binds.db'}"))
    run = check_app(capsys, tmp_path, "--app", f"{module}:create_app")
    assert run.status == 0, run.out + run.err
    first = run.out.splitlines()[0]
    assert first.startswith("databases: ")
    assert f"sqlite:///{tmp_path / 'binds.db'}" in first
    assert "postgresql://reporter:***@db.invalid/reports" in first
    assert "hunter2" not in run.out + json.dumps(run.report)


TWO_BINDS_APP = textwrap.dedent(
    """
    import flask, sqlalchemy as sa
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()

    class Thing(db.Model):
        id = sa.Column(sa.Integer, primary_key=True)

    def create_app():
        app = flask.Flask(__name__)
        app.config.update(
            SECRET_KEY="x",
            SQLALCHEMY_DATABASE_URI="{url}",
            # Never connected to: engines are made at init_app, connections on first use.
            SQLALCHEMY_BINDS={{"reports": "postgresql://reporter:hunter2@db.invalid/reports"}},
        )
        db.init_app(app)
        with app.app_context():
            db.create_all(bind_key=None)
        Admin(app).add_view(ModelView(Thing, db))
        return app
    """
)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app", "no_such_module_here:create_app"], "Could not import 'no_such_module_here'"),
        (["--app", f"{APPS / 'scoping_style.py'}:nope"], "Failed to find attribute 'nope'"),
        (["--app", f"{APPS / 'scoping_style.py'}", "--login", "nocolon"], "MODULE:CALLABLE"),
        (["--app", f"{APPS / 'scoping_style.py'}", "--login", "login_app:nope"], "no 'nope'"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    run = check_app(capsys, tmp_path, *args)
    assert run.status == 2
    assert message in run.err
    assert "Traceback" not in run.err
    assert len(run.err.strip().splitlines()) == 1


def test_an_app_without_an_admin_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "plain.py"
    module.write_text("import flask\napp = flask.Flask(__name__)\n")
    run = check_app(capsys, tmp_path, "--app", str(module))
    assert run.status == 2
    assert "no flask_admin.Admin is registered on the app" in run.err


def test_without_app_or_flask_app_it_says_what_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLASK_APP", raising=False)
    run = check_app(capsys, tmp_path)
    assert run.status == 2
    assert "--app MODULE:FACTORY is required" in run.err


def test_flask_app_is_the_default_app(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLASK_APP", app_spec("scoping_style", tmp_path / "env.db"))
    run = check_app(capsys, tmp_path)
    assert run.status == 0, run.out + run.err
    assert run.statuses("author") == dict.fromkeys(READ_CHECKS, "passed")


def test_a_view_built_over_one_concrete_session_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "one_session.py"
    module.write_text(ONE_SESSION_APP.format(url=f"sqlite:///{tmp_path / 'one.db'}"))
    # Loaded in a thread of its own: the context the factory left pushed stays there.
    run = check_app(capsys, tmp_path, "--app", f"{module}:create_app")
    assert run.status == 1, run.out + run.err
    assert "note: building the app left an app context pushed" in run.out
    thing = run.checks("thing")
    assert {c["outcome"] for c in thing.values()} == {"failed"}
    assert thing["per-request"]["cause"].startswith(
        "the view was built over one concrete Session object"
    )
    view = run.report["views"][0]
    assert view["defined_at"] == "not subclassed"
    assert view["built_over"].startswith("one concrete Session object")


ONE_SESSION_APP = textwrap.dedent(
    """
    import warnings
    import flask, sqlalchemy as sa
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from sqlalchemy import orm

    class Base(orm.DeclarativeBase):
        pass

    class Thing(Base):
        __tablename__ = "thing"
        id = sa.Column(sa.Integer, primary_key=True)

    def create_app():
        app = flask.Flask(__name__)
        app.config["SECRET_KEY"] = "x"
        engine = sa.create_engine("{url}")
        Base.metadata.create_all(engine)
        with orm.Session(engine) as seed, seed.begin():
            seed.add(Thing())
        # Leaves an app context pushed, as some factories do: the checks run apart from it.
        global PUSHED
        PUSHED = app.app_context()
        PUSHED.push()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            Admin(app).add_view(ModelView(Thing, orm.Session(engine), endpoint="thing"))
        return app
    """
)


def test_a_login_hook_that_fails_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # --login modules are found from the current folder, as `flask` finds the app.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    (tmp_path / "bad_login.py").write_text("def log_in(client):\n    raise ValueError('nope')\n")
    spec = app_spec("login_app", tmp_path / "login.db")
    run = check_app(capsys, tmp_path, "--app", spec, "--login", "bad_login:log_in")
    assert run.status == 2
    assert run.err.strip() == "error: the login hook raised ValueError: nope"


def test_writes_through_a_csrf_protected_form(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "csrf_app.py"
    module.write_text(CSRF_APP.format(url=f"sqlite:///{tmp_path / 'csrf.db'}"))
    run = check_app(capsys, tmp_path, "--app", f"{module}:create_app", "--writes")
    assert run.status == 0, run.out + run.err
    assert run.statuses("thing") == dict.fromkeys(ALL_CHECKS, "passed")
    # The row it made opened the details page and the edit form, and is gone again.
    assert run.report["views"][0]["notes"] == []
    assert rows(tmp_path / "csrf.db", "thing") == []


CSRF_APP = textwrap.dedent(
    """
    import flask, sqlalchemy as sa
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from flask_admin.form import SecureForm
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()

    class Thing(db.Model):
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(40), nullable=False, unique=True)

    class ThingView(ModelView):
        form_base_class = SecureForm  # every POST needs the session's CSRF token
        can_view_details = True

    def create_app():
        app = flask.Flask(__name__)
        app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI="{url}")
        db.init_app(app)
        with app.app_context():
            db.create_all()
        Admin(app).add_view(ThingView(Thing, db, endpoint="thing"))
        return app
    """
)


@pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL server binaries")
def test_on_postgresql_where_a_failed_statement_aborts_the_transaction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with throwaway_server() as server:
        sound = create_database(server, "checkapp_sound")
        spec = f"{APPS / 'scoping_style'}.py:create_app({sound!r}, False)"
        run = check_app(capsys, tmp_path, "--app", spec, "--writes")
        assert run.status == 0, run.out + run.err
        assert run.statuses("author") == dict.fromkeys(ALL_CHECKS, "passed")
        assert run.out.startswith(f"databases: {sound}\n")

        module = tmp_path / "no_rollback_pg.py"
        module.write_text(NO_ROLLBACK_APP.format(url=create_database(server, "checkapp_nr")))
        broken = check_app(capsys, tmp_path, "--app", f"{module}:create_app", "--writes")
        assert broken.status == 1, broken.out + broken.err
        assert broken.checks("thing")["isolation-after-error"]["outcome"] == "failed"


def test_every_admin_of_the_app_is_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "two_admins.py"
    module.write_text(TWO_ADMINS_APP.format(url=f"sqlite:///{tmp_path / 'two.db'}"))
    run = check_app(capsys, tmp_path, "--app", f"{module}:create_app")
    assert run.status == 0, run.out + run.err
    found = [(v["admin"], v["endpoint"], v["url"]) for v in run.report["views"]]
    assert found == [("staff", "thing", "/staff/thing"), ("ops", "ops_thing", "/ops/ops_thing")]


TWO_ADMINS_APP = textwrap.dedent(
    """
    import flask, sqlalchemy as sa
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()

    class Thing(db.Model):
        id = sa.Column(sa.Integer, primary_key=True)

    def create_app():
        app = flask.Flask(__name__)
        app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI="{url}")
        db.init_app(app)
        with app.app_context():
            db.create_all()
        staff = Admin(app, name="staff", url="/staff", endpoint="staff")
        staff.add_view(ModelView(Thing, db, endpoint="thing"))
        ops = Admin(app, name="ops", url="/ops", endpoint="ops")
        ops.add_view(ModelView(Thing, db, endpoint="ops_thing"))
        return app
    """
)


def test_an_ajax_loader_over_its_own_session_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "ajax_loader.py"
    module.write_text(AJAX_LOADER_APP.format(url=f"sqlite:///{tmp_path / 'ajax.db'}"))
    run = check_app(capsys, tmp_path, "--app", f"{module}:create_app")
    assert run.status == 1, run.out + run.err
    post = run.checks("post")
    assert post["per-request"]["message"].startswith(
        "two ajax lookup requests shared one Session (GET /admin/post/ajax/lookup/?name=author"
    )
    assert post["per-request"]["failed_surfaces"] == ["ajax lookup"]
    assert post["per-request"]["cause"].startswith(
        "the ajax loader 'author' (flask_admin.contrib.sqla.ajax.QueryAjaxModelLoader) was "
        "built over one concrete Session object"
    )
    assert post["teardown"]["outcome"] == "failed"


AJAX_LOADER_APP = textwrap.dedent(
    """
    import flask, sqlalchemy as sa
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from flask_admin.contrib.sqla.ajax import QueryAjaxModelLoader
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy import orm

    db = SQLAlchemy()

    class Author(db.Model):
        id = sa.Column(sa.Integer, primary_key=True)
        name = sa.Column(sa.String(40), nullable=False)

    class Post(db.Model):
        id = sa.Column(sa.Integer, primary_key=True)
        author_id = sa.Column(sa.ForeignKey(Author.id), nullable=False)
        author = orm.relationship(Author)

    def create_app():
        app = flask.Flask(__name__)
        app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI="{url}")
        db.init_app(app)
        with app.app_context():
            db.create_all()
            kept = orm.Session(db.engine)  # the loader's own Session, for the app's life

        class PostView(ModelView):
            form_ajax_refs = {{
                "author": QueryAjaxModelLoader("author", kept, Author, fields=["name"])
            }}

        Admin(app).add_view(PostView(Post, db, endpoint="post"))
        return app
    """
)


def test_strict_makes_a_skipped_check_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = app_spec("login_app", tmp_path / "login.db")
    lenient = check_app(capsys, tmp_path, "--app", spec)
    strict = check_app(capsys, tmp_path, "--app", spec, "--strict")
    assert lenient.status == 0, lenient.out + lenient.err
    assert strict.status == 1, strict.out + strict.err
    assert "--strict: some checks were skipped" in strict.err
    assert not any(c["outcome"] == "failed" for v in strict.report["views"] for c in v["checks"])


BROKEN_LIST_APP = textwrap.dedent(
    """
    import flask, sqlalchemy as sa
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()

    class Thing(db.Model):
        id = sa.Column(sa.Integer, primary_key=True)

    def create_app():
        print("loading: hello from the app")
        app = flask.Flask(__name__)
        app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI="{url}")
        db.init_app(app)
        Admin(app).add_view(ModelView(Thing, db, endpoint="thing"))  # no create_all
        return app
    """
)


def test_a_missing_table_is_could_not_check_with_its_traceback_only_in_json_and_verbose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "no_table.py"
    module.write_text(BROKEN_LIST_APP.format(url=f"sqlite:///{tmp_path / 'none.db'}"))
    run = check_app(capsys, tmp_path, "--app", f"{module}:create_app")
    assert run.status == 2, run.out + run.err
    checks = run.checks("thing")
    assert {c["outcome"] for c in checks.values()} == {"skipped"}
    message = checks["per-request"]["message"]
    assert message.startswith("could not check: OperationalError:"), message
    assert "no such table: thing" in message
    assert any("Traceback (most recent call last)" in d for d in checks["per-request"]["details"])
    # Not on stderr once per view, and not in the text without --verbose; what the app
    # printed while loading went to stderr, never to check-app's output.
    assert "Traceback" not in run.err
    assert "Traceback" not in run.out
    assert "3 skipped: could not check: OperationalError" in run.out
    assert "hint: the app's database has no table thing yet: create its tables first" in run.out
    assert "hello from the app" in run.err
    assert "hello from the app" not in run.out
    verbose = check_app(capsys, tmp_path, "--app", f"{module}:create_app", "--verbose")
    assert "Traceback (most recent call last)" in verbose.out


def test_only_non_daemon_threads_started_since_are_lingering() -> None:
    from flask_admin_compat.checkapp.command import lingering

    before = set(threading.enumerate())
    stop = threading.Event()
    kept = threading.Thread(target=stop.wait, name="kept", daemon=False)
    daemon = threading.Thread(target=stop.wait, name="daemon", daemon=True)
    kept.start()
    daemon.start()
    try:
        assert lingering(before) == [kept]
    finally:
        stop.set()
        kept.join()
        daemon.join()
    assert lingering(before) == []


def test_a_schema_behind_its_models_is_hinted_by_table_and_column() -> None:
    from flask_admin_compat.checkapp.report import MISSING_COLUMN, MISSING_TABLE

    said = {
        'relation "author" does not exist': MISSING_TABLE,
        "Table 'shop.orders' doesn't exist": MISSING_TABLE,
        "no such column: user.type": MISSING_COLUMN,
        "column author.nickname does not exist": MISSING_COLUMN,
        "Unknown column 'user.type' in 'field list'": MISSING_COLUMN,
    }
    for message, pattern in said.items():
        assert pattern.search(message), message
    assert not MISSING_TABLE.search("no such column: user.type")


BUSY_APP = textwrap.dedent(
    """
    import threading, time
    import flask, sqlalchemy as sa
    from flask_admin import Admin
    from flask_admin.contrib.sqla import ModelView
    from flask_sqlalchemy import SQLAlchemy

    db = SQLAlchemy()
    busy = threading.Lock()

    class Thing(db.Model):
        id = sa.Column(sa.Integer, primary_key=True)

    class OneAtATime(ModelView):
        # The app's own code is not thread-safe: a second list at once raises.
        def get_list(self, *args, **kwargs):
            if not busy.acquire(blocking=False):
                raise RuntimeError("the report generator is busy")
            try:
                time.sleep(0.2)
                return super().get_list(*args, **kwargs)
            finally:
                busy.release()

    def create_app():
        app = flask.Flask(__name__)
        app.config.update(SECRET_KEY="x", SQLALCHEMY_DATABASE_URI="{url}")
        db.init_app(app)
        Admin(app).add_view(OneAtATime(Thing, db, endpoint="thing"))
        with app.app_context():
            db.create_all()
        return app
    """
)


def test_requests_at_once_failing_in_the_apps_own_code_skip_concurrency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = tmp_path / "busy.py"
    module.write_text(BUSY_APP.format(url=f"sqlite:///{tmp_path / 'busy.db'}"))
    run = check_app(capsys, tmp_path, "--app", f"{module}:create_app")
    assert run.status == 0, run.out + run.err
    statuses = run.statuses("thing")
    assert statuses == {"per-request": "passed", "teardown": "passed", "concurrency": "skipped"}
    message = run.checks("thing")["concurrency"]["message"]
    assert message == "could not check: RuntimeError: the report generator is busy", message
