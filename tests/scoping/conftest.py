"""Fixtures of the scoping suite: the stack, one app per registration pattern, and a clean DB.

Nothing from the stack under test is imported at module level: if flask, flask_admin,
sqlalchemy or the backend cannot be imported, ``test_stack_starts`` fails with the reason and
every other test is skipped with it, instead of the whole run dying at collection.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from . import ids
from .deprecations import (  # noqa: F401 - hooks, registered by being here
    pytest_configure,
    pytest_runtest_protocol,
    pytest_runtest_teardown,
    pytest_unconfigure,
)
from .stack import Startup, start

if TYPE_CHECKING:
    from .app_factory import PatternApp
    from .probes import SessionLog

DATABASE_URL_ENV = "DATABASE_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fake-backend",
        default=None,
        metavar="NAME",
        help="run against a deliberately broken backend from tests/scoping/fakes "
        "(global-session, no-close, no-rollback) instead of the installed one",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tag every test with its ``check`` and ``pattern`` JUnit properties.

    Done at collection (the same ``user_properties`` that ``record_property`` fills) so the
    tags are in the report whatever happens later, even when a session fixture errors.
    """
    for item in items:
        marker = item.get_closest_marker("check")
        if marker is None:
            raise pytest.UsageError(f"{item.nodeid}: every test needs @pytest.mark.check(ID)")
        callspec = getattr(item, "callspec", None)
        pattern = callspec.params.get("pattern_app", ids.ANY_PATTERN) if callspec else None
        item.user_properties.append(("check", marker.args[0]))
        item.user_properties.append(("pattern", pattern or ids.ANY_PATTERN))


def database_url(directory: Path) -> str:
    """``DATABASE_URL`` when set (e.g. PostgreSQL), else a fresh SQLite file in ``directory``."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{directory / 'scoping.db'}"


@pytest.fixture(scope="session")
def startup(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Startup:
    fake = request.config.getoption("--fake-backend")
    return start(fake, database_url(tmp_path_factory.mktemp("startup")))


@pytest.fixture(scope="session")
def session_log(startup: Startup) -> Iterator[SessionLog | None]:
    if not startup.ok:
        yield None
        return
    from .probes import SessionLog

    log = SessionLog()
    log.install()
    yield log
    log.uninstall()


@pytest.fixture(scope="session", params=ids.PATTERN_IDS)
def pattern_app(
    request: pytest.FixtureRequest,
    startup: Startup,
    session_log: SessionLog | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[PatternApp | None]:
    """One app per pattern, shared by that pattern's checks (each check empties the DB)."""
    if not startup.ok or session_log is None:
        yield None
        return
    from sqlalchemy.orm import close_all_sessions

    from .patterns import build_pattern_app

    pattern: str = request.param
    url = database_url(tmp_path_factory.mktemp(pattern))
    built = build_pattern_app(pattern, startup.backend, url, session_log)
    yield built
    # Sessions a broken pattern left open would hold connections and block DROP on a server.
    close_all_sessions()
    built.observer.drop_tables()
    built.base.engine.dispose()


@pytest.fixture
def stack_app(startup: Startup, pattern_app: PatternApp | None) -> PatternApp:
    """The pattern's app, or a skip when the stack itself did not start."""
    if pattern_app is None:
        pytest.skip(f"the stack did not start: {startup.error}")
    return pattern_app


@pytest.fixture
def admin_app(stack_app: PatternApp) -> PatternApp:
    """The pattern's app with its views built and an empty database, or a skip."""
    if stack_app.construct_error:
        pytest.skip(f"view could not be built with this pattern: {stack_app.construct_error}")
    from sqlalchemy.orm import close_all_sessions

    # Each check starts from nothing: sessions a previous check left open are closed (they
    # would otherwise carry its state, and its connections, into this one).
    close_all_sessions()
    stack_app.observer.empty_tables()
    stack_app.log.clear()
    return stack_app
