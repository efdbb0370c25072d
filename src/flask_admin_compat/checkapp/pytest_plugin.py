"""pytest --admin-scoping-app MODULE:FACTORY: the check-app checks as tests, one per view x check.

Loaded by pytest in every run of an environment that has this project (the ``pytest11`` entry
point), so it imports only pytest at module level and does nothing unless the option (or the
``admin_scoping_app`` ini value) is given; Flask and the checks are imported only then.

Items are made in ``pytest_collection_modifyitems`` (tryfirst, so before ``-k``/``-m``
deselection in the same hook) and put first, whatever paths the run collects and whether or
not the user has tests of their own: before their fixtures push an app context or open
sessions. Each view's requests run once, in a fresh thread (which starts with an empty
contextvars context, so no app context pushed by a fixture can wrap them), and each of its
items reports one check's result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .report import CheckResult, ViewReport
    from .target import Checking, Target

MARKER = "admin_scoping"
ROOT_NAME = "admin-scoping"


class LoginSpec:
    """The hook a conftest.py implements to log each test client in."""

    @pytest.hookspec(firstresult=True)
    def pytest_admin_scoping_login(self, client: Any) -> Any:
        """Log ``client`` (a Flask test client, one per thread) in before its first request."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(LoginSpec)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("admin-scoping", "Flask-Admin session scoping checks (check-app)")
    group.addoption(
        "--admin-scoping-app",
        metavar="MODULE:FACTORY",
        help="check every SQLAlchemy ModelView of this app (the `flask --app` syntax)",
    )
    group.addoption(
        "--admin-scoping-login",
        metavar="MODULE:CALLABLE",
        help="called with each test client to log it in (or implement "
        "pytest_admin_scoping_login(client) in conftest.py)",
    )
    group.addoption(
        "--admin-scoping-writes",
        action="store_true",
        help="also create, edit and delete a row per view and check isolation after an error",
    )
    group.addoption(
        "--admin-scoping-yes",
        action="store_true",
        help="with --admin-scoping-writes: write even though the tables hold rows",
    )
    group.addoption(
        "--admin-scoping-load-timeout",
        type=float,
        metavar="SECONDS",
        help="give up on an app that has not finished loading by then (default: 60)",
    )
    parser.addini("admin_scoping_app", "default for --admin-scoping-app")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{MARKER}: a Flask-Admin session scoping check")


def _app_spec(config: pytest.Config) -> str:
    spec = config.getoption("--admin-scoping-app") or config.getini("admin_scoping_app")
    return str(spec or "")


class Runner:
    """Builds the app once, runs each view's checks once, hands their results to the items."""

    def __init__(self, config: pytest.Config, app_spec: str) -> None:
        from .loading import UsageProblem
        from .target import load_target

        self.config = config
        try:
            self.target: Target = load_target(
                app_spec,
                config.getoption("--admin-scoping-login"),
                load_timeout_s=config.getoption("--admin-scoping-load-timeout"),
                timeout_option="--admin-scoping-load-timeout",
            )
            self.writes = None
            if config.getoption("--admin-scoping-writes"):
                from .writes import plan

                self.writes = plan(self.target, confirmed=config.getoption("--admin-scoping-yes"))
        except UsageProblem as exc:
            raise pytest.UsageError(f"--admin-scoping-app: {exc}") from None
        self._reports: dict[str, ViewReport] = {}
        self._errors: dict[str, Exception] = {}
        self._checking: Checking | None = None

    def login(self, client: Any) -> None:
        if self.target.login is not None:
            self.target.login(client)
        else:
            self.config.hook.pytest_admin_scoping_login(client=client)

    @property
    def checks(self) -> tuple[str, ...]:
        from .report import CHECKS, READ_CHECKS

        return CHECKS if self.writes is not None else READ_CHECKS

    def result(self, endpoint: str, check: str) -> CheckResult:
        if endpoint in self._errors:  # its run failed: each of its items says so, none reruns it
            raise self._errors[endpoint]
        if endpoint not in self._reports:
            try:
                self._reports[endpoint] = self._run(endpoint)
            except Exception as exc:
                self._errors[endpoint] = exc
                raise
        found = self._reports[endpoint].result(check)
        assert found is not None, f"{endpoint} has no {check} result"
        return found

    def _run(self, endpoint: str) -> ViewReport:
        from .target import Checking
        from .threads import in_fresh_thread

        if self._checking is None:
            hooked = config_hooked(self.config)
            logged_in = self.target.login is not None or hooked
            self._checking = Checking(self.target, self.login, logged_in=logged_in)
        checking = self._checking
        info = next(v for v in self.target.views if v.endpoint == endpoint)
        return in_fresh_thread(
            lambda: checking.check(info, self.writes), name=f"admin-scoping-{endpoint}"
        )

    def close(self) -> None:
        from .target import release

        if self._checking is not None:
            self._checking.close()
            self._checking = None
        release(self.target)


def config_hooked(config: pytest.Config) -> bool:
    """Whether a conftest.py implements pytest_admin_scoping_login."""
    return bool(config.pluginmanager.hook.pytest_admin_scoping_login.get_hookimpls())


class ScopingFailure(Exception):
    """A failed check: reported as its message, without a traceback into the plugin."""


class ScopingItem(pytest.Item):
    def __init__(self, *, info: Any, check: str, runner: Runner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.info = info
        self.check = check
        self.runner = runner
        self.add_marker(MARKER)
        self.user_properties += [
            ("check", check),
            ("view", info.endpoint),
            ("view_class", info.view_class),
            ("defined_at", info.defined_at),
        ]

    def runtest(self) -> None:
        from flask_admin_compat.checks import ids

        result = self.runner.result(self.info.endpoint, self.check)
        if result.outcome == ids.SKIPPED:
            pytest.skip(result.message)
        if result.outcome == ids.FAILED:
            cause = [f"cause: {result.cause}"] if result.cause else []
            raise ScopingFailure("\n".join([result.message, *cause, *result.finding.details]))

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        from .loading import UsageProblem

        if isinstance(excinfo.value, UsageProblem):  # the login hook failed: no traceback
            return f"admin-scoping: {excinfo.value}"
        if isinstance(excinfo.value, ScopingFailure):
            return (
                f"{self.info.view_class} ({self.info.defined_at}) at {self.info.url}: "
                f"{self.check} failed: {excinfo.value}"
            )
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Any, int | None, str]:
        # Point at the user's view class when it is known where it is defined.
        path, _, line = str(self.info.defined_at).rpartition(":")
        title = f"{self.info.endpoint}::{self.check}"
        if path and line.isdigit():
            return path, int(line) - 1, title
        return self.path, None, title


class ViewCollector(pytest.Collector):
    """``admin-scoping::<endpoint>``: the parent of a view's items (made by the plugin)."""

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return []


class ScopingCollector(pytest.Collector):
    """``admin-scoping``: one ViewCollector per view, one item per check under it."""

    def __init__(self, *, runner: Runner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner = runner

    def collect(self) -> list[pytest.Item | pytest.Collector]:
        return list(self.items())

    def items(self) -> list[ScopingItem]:
        made = []
        for info in self.runner.target.views:
            view = ViewCollector.from_parent(self, name=info.endpoint)
            made += [
                ScopingItem.from_parent(
                    view, name=check, info=info, check=check, runner=self.runner
                )
                for check in self.runner.checks
            ]
        return made


RUNNER = pytest.StashKey["Runner"]()


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, which runs in this same hook
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    spec = _app_spec(config)
    if not spec:
        return
    runner = Runner(config, spec)
    config.stash[RUNNER] = runner
    root = ScopingCollector.from_parent(session, name=ROOT_NAME, nodeid=ROOT_NAME, runner=runner)
    # First: before the user's own tests set up session fixtures or leave sessions open.
    items[:0] = root.items()


def pytest_report_header(config: pytest.Config) -> list[str]:
    # Called before collection: the app is built at collection, once.
    spec = _app_spec(config)
    return [f"admin-scoping: {spec} (its databases are named after collection)"] if spec else []


def pytest_collection_finish(session: pytest.Session) -> None:
    runner = session.config.stash.get(RUNNER, None)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if runner is not None and reporter is not None:
        from .report import databases_text

        # Before any check runs: which database(s) the checks are about to send requests to.
        reporter.write_line(f"admin-scoping {databases_text(runner.target.databases)}")


def pytest_unconfigure(config: pytest.Config) -> None:
    runner = config.stash.get(RUNNER, None)
    if runner is not None:
        runner.close()
