"""``flask-admin-compat check-app``: load the app, check every view, print and exit.

The edge of the package: errors become one line and an exit status here, and only here.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO

import flask
from flask.cli import load_dotenv
from flask.helpers import get_load_dotenv
from sqlalchemy.engine import Engine
from sqlalchemy.orm import close_all_sessions

from flask_admin_compat.jsonio import write_text_atomic

from . import discover
from .checks import WriteStep, run_view
from .loading import LoginHook, UsageProblem, load_app, load_callable
from .observe import Observer
from .probe import Prober
from .report import AppReport, ViewReport, databases_text, render_views, summary_text, to_json
from .threads import in_fresh_thread

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USAGE = 2
#: Reported with the results: the versions checked are the user's installed ones.
PACKAGES = (
    "flask",
    "flask-admin",
    "sqlalchemy",
    "flask-sqlalchemy",
    "flask-sqlalchemy-lite",
    "flask-login",
)


@dataclass(frozen=True)
class Target:
    """The loaded app and what discovery found on it, before any request."""

    spec: str
    app: flask.Flask
    views: tuple[discover.ViewInfo, ...]
    engines: tuple[Engine, ...]
    login: LoginHook | None

    @property
    def databases(self) -> tuple[str, ...]:
        return tuple(discover.safe_url(e) for e in self.engines)


def load_target(app_spec: str, login_spec: str | None) -> Target:
    """Build the app and find its views; a UsageProblem when there is nothing to check."""
    app = load_app(app_spec)
    if not discover.find_admins(app):
        raise UsageProblem(f"--app {app_spec}: no flask_admin.Admin is registered on the app")
    views = discover.sqla_views(app)
    if not views:
        raise UsageProblem(f"--app {app_spec}: the app's Admin has no SQLAlchemy ModelView")
    login = load_callable(login_spec) if login_spec else None
    return Target(app_spec, app, tuple(views), tuple(discover.engines(app, views)), login)


def installed_versions() -> tuple[tuple[str, str], ...]:
    found = []
    for name in PACKAGES:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(found)


def check_views(target: Target, *, writes: WriteStep | None = None) -> tuple[ViewReport, ...]:
    """Run every view's checks with the observer installed; nothing else is done here."""
    observer = Observer()
    observer.install(target.app)
    prober = Prober(target.app, observer, target.login)

    def every_view() -> tuple[ViewReport, ...]:
        reports = []
        for info in target.views:
            reports.append(run_view(prober, info, writes=writes))
            # A view that keeps a Session must not leave its connection out for the next
            # view's pool count: each view starts from a clean slate.
            close_all_sessions()
        return tuple(reports)

    try:
        return in_fresh_thread(every_view, name="check-app")
    finally:
        observer.uninstall(target.app)
        release(target)


def release(target: Target) -> None:
    """Close what the checks left open: kept Sessions, then the engines' pooled connections.

    The engines stay usable (dispose makes a new pool); in a user's test session (the plugin)
    their later tests do not inherit connections the checks opened.
    """
    close_all_sessions()
    for engine in target.engines:
        engine.dispose()


def run_check_app(args: argparse.Namespace, out: IO[str]) -> int:
    """The ``check-app`` subcommand: 0 all pass, 1 a check failed, 2 usage (nothing checked)."""
    # As `flask` does first: .flaskenv and .env set defaults (FLASK_APP among them) when
    # python-dotenv is installed, unless FLASK_SKIP_DOTENV says not to.
    if get_load_dotenv():
        load_dotenv()
    spec = args.app or os.environ.get("FLASK_APP")
    if not spec:
        print("error: --app MODULE:FACTORY is required (or set FLASK_APP)", file=sys.stderr)
        return EXIT_USAGE
    # As `flask` does for the app: modules named by --login are found from here too.
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    text_out = sys.stderr if args.json == "-" else out
    try:
        target = load_target(spec, args.login)
    except UsageProblem as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Before anything runs: which database(s) this is about to send requests to.
    print(databases_text(target.databases), file=text_out, flush=True)
    writes = None
    if args.writes:
        from .writes import plan

        try:
            writes = plan(target, confirmed=args.yes)
        except UsageProblem as exc:
            release(target)
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    versions = installed_versions()
    print("versions: " + ", ".join(f"{n} {v}" for n, v in versions), file=text_out)
    if flask.has_app_context():
        print(
            "note: building the app left an app context pushed; the checks send their "
            "requests from a thread of their own, as a server's threads would",
            file=text_out,
        )
    print(file=text_out, flush=True)
    try:
        views = check_views(target, writes=writes)
    except UsageProblem as exc:  # the user's --login hook failed
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = AppReport(
        app=spec,
        databases=target.databases,
        versions=versions,
        writes=bool(args.writes),
        views=views,
    )
    print(render_views(report), end="", file=text_out)
    print(summary_text(report), file=text_out)
    if args.json == "-":
        out.write(to_json(report))
    elif args.json:
        try:
            write_text_atomic(Path(args.json), to_json(report))
        except OSError as exc:
            print(f"error: --json {args.json}: cannot write: {exc.strerror}", file=sys.stderr)
            return EXIT_USAGE
    if report.failed:
        return EXIT_CHECK_FAILED
    if not report.checked:
        print(
            "error: no view could be checked (every check was skipped); see the reasons above",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return EXIT_OK
