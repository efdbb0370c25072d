"""The app under check: loaded, its views and engines found, then every view walked.

Its own module so that the command, the writes and the pytest plugin share it without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

import flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import close_all_sessions
from sqlalchemy.pool import Pool

from flask_admin_compat.checks import surfaces as s
from flask_admin_compat.checks.observe import Observer, PoolCount
from flask_admin_compat.checks.probe import LoginHook, Prober
from flask_admin_compat.checks.walk import Walker

from . import discover
from .loading import (
    LOAD_TIMEOUT_S,
    UsageProblem,
    guarded,
    load_app,
    load_callable,
    main_block_hint,
)
from .report import ViewReport
from .threads import in_fresh_thread
from .tracebacks import Tracebacks
from .walk import Unanswered, WriteStep, run_view

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
    #: Building the app left an app context pushed: said, since the checks run apart from it.
    left_context: bool = False

    @property
    def databases(self) -> tuple[str, ...]:
        return tuple(discover.safe_url(e) for e in self.engines)


def load_target(
    app_spec: str,
    login_spec: str | None,
    *,
    load_timeout_s: float | None = None,
    timeout_option: str = "--load-timeout",
) -> Target:
    """Build the app and find its views; a UsageProblem when there is nothing to check.

    ``timeout_option``: how the caller's user sets the load timeout, named when it is spent.

    Nothing to check in a module that builds its admin under ``if __name__ == "__main__":``
    is said with that block's place and the factory to write instead.
    """
    loaded = load_app(
        app_spec, timeout_s=load_timeout_s or LOAD_TIMEOUT_S, timeout_option=timeout_option
    )
    app = loaded.app
    missing = ""
    if not discover.find_admins(app):
        missing = "no flask_admin.Admin is registered on the app"
    views = discover.sqla_views(app) if not missing else []
    if not missing and not views:
        missing = "the app's Admin has no SQLAlchemy ModelView"
    if missing:
        hint = main_block_hint(loaded.module, app_spec)
        raise UsageProblem(f"--app {app_spec}: {missing}" + (f"\n{hint}" if hint else ""))
    login = load_callable(login_spec) if login_spec else None
    engines = tuple(discover.engines(app, views))
    return Target(app_spec, app, tuple(views), engines, login, left_context=loaded.left_context)


def installed_versions() -> tuple[tuple[str, str], ...]:
    found = []
    for name in PACKAGES:
        try:
            found.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(found)


class Checking:
    """The observer, prober and pool count of one check of an app, from first view to last.

    One for the app's whole check, so that the engine's ledger sees a Session kept by one
    view and used again by another.
    """

    def __init__(
        self, target: Target, login: LoginHook | None, *, logged_in: bool | None = None
    ) -> None:
        self.target = target
        self.observer = Observer(target.app, frames=True)
        self.observer.install()
        # Every engine's pool, those discovery never found included.
        self.pool = PoolCount(Pool)
        self.prober = Prober(
            target.app, self.observer, login=guarded(login) if login else None, keep_cookies=True
        )
        # The app's own errors: their tracebacks kept per request, not printed per view.
        self.tracebacks = Tracebacks(target.app)
        self.tracebacks.install()
        logged_in = login is not None if logged_in is None else logged_in
        self.unanswered = Unanswered(logged_in=logged_in, trace=self.tracebacks.get)
        self.one_connection = discover.single_connection(target.engines)

    def walker(self, info: discover.ViewInfo) -> Walker:
        offered = s.unavailable(dict.fromkeys(s.SURFACES, info.view))
        return Walker(
            self.prober, self.pool, info.endpoint, unavailable=offered, close_after_each=False
        )

    def check(self, info: discover.ViewInfo, writes: WriteStep | None) -> ViewReport:
        try:
            return run_view(
                self.walker(info),
                info,
                writes=writes,
                unanswered=self.unanswered,
                not_at_once=self.one_connection,
            )
        finally:
            # A view that keeps a Session must not leave its connection out for the next
            # view's pool count: each view starts from a clean slate.
            close_all_sessions()

    def close(self) -> None:
        self.tracebacks.uninstall()
        self.observer.uninstall()
        self.observer.forget()
        self.pool.close()


def check_views(target: Target, *, writes: WriteStep | None = None) -> tuple[ViewReport, ...]:
    """Run every view's checks, in a fresh thread, with the observer installed."""
    checking = Checking(target, target.login)

    def every_view() -> tuple[ViewReport, ...]:
        return tuple(checking.check(info, writes) for info in target.views)

    try:
        return in_fresh_thread(every_view, name="check-app")
    finally:
        checking.close()
        release(target)


def release(target: Target) -> None:
    """Close what the checks left open: kept Sessions, then the engines' pooled connections.

    The engines stay usable (dispose makes a new pool); in a user's test session (the plugin)
    their later tests do not inherit connections the checks opened.
    """
    close_all_sessions()
    for engine in target.engines:
        engine.dispose()
