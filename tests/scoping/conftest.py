"""Fixtures of the scoping suite: the stack, one app per registration pattern, and a clean DB.

Nothing from the stack under test is imported at module level: if flask, flask_admin,
sqlalchemy or the backend cannot be imported, ``test_stack_starts`` fails with the reason and
every other test is skipped with it, instead of the whole run dying at collection.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from flask_admin_compat.checks import ids, records

from . import deprecations
from .stack import Startup, start

#: Each check's start and outcome as JSON lines, as they happen (``--records PATH``).
pytest_plugins = ["flask_admin_compat.checks.records"]

if TYPE_CHECKING:
    from flask_admin_compat.checks.judge import Finding
    from flask_admin_compat.checks.walk import Walked

    from .app_factory import PatternApp

DATABASE_URL_ENV = "DATABASE_URL"
#: Where the SQLite files go when the system has a filesystem in memory: a commit there cost
#: 0.13 ms of CPU against 0.55 to 0.65 ms on the 2-core machine's disk (its fsync), and a run
#: commits about 150 times. SQLite locks and journals a file there as on disk.
MEMORY_FILESYSTEM = Path("/dev/shm")


def pytest_configure(config: pytest.Config) -> None:
    # A plugin of its own, not hooks imported here: its runtest wrapper must wrap this file's
    # own pytest_runtest_protocol (the in-process re-run), not replace it.
    config.pluginmanager.register(deprecations, "scoping-deprecations")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fake-backend",
        default=None,
        metavar="NAME",
        help="run against a deliberately broken backend from tests/scoping/fakes "
        "(global-session, no-close, no-rollback) instead of the installed one",
    )
    parser.addoption(
        "--fake-admin-surface",
        default=None,
        metavar="SURFACE",
        help="make one Flask-Admin surface keep the first Session it resolves (e.g. "
        "ajax-lookup, batch-delete, export; or only its saves: edit-save, inline-save; "
        "tests/scoping/fakes/surface_pin.py), the backend left sound",
    )


#: How many times a failed check runs in all: once, and once more to tell flaky from failing.
ATTEMPTS = 2
_ATTEMPT = pytest.StashKey[int]()
_TOURS = pytest.StashKey[dict[tuple[str, int], "Walked"]]()


def attempt_of(item: pytest.Item) -> int:
    return item.stash.get(_ATTEMPT, 1)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool:
    """Run each check, and a failed one once more in this same process.

    A check that fails and then passes is flaky. Re-running here, right after the failure,
    keeps the pattern's app and the imports: a second pytest for the failures would pay the
    interpreter, the stack's imports and every app again. Each attempt is its own JUnit test
    case (a re-run's carries ``attempt``), read back by the harness as one outcome with both
    attempts. pytest-rerunfailures is not used: it would add a package to every cell's pins,
    and its JUnit report keeps the last attempt only.
    """
    from _pytest.runner import runtestprotocol

    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    collected = list(item.user_properties)
    reports = runtestprotocol(item, nextitem=nextitem, log=True)
    for attempt in range(2, ATTEMPTS + 1):
        if not any(report.failed for report in reports):
            break
        item.stash[_ATTEMPT] = attempt
        item.user_properties[:] = [*collected, (records.ATTEMPT, str(attempt))]
        reports = runtestprotocol(item, nextitem=nextitem, log=True)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


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
        item.user_properties.append((records.CHECK, marker.args[0]))
        item.user_properties.append((records.PATTERN, pattern or ids.ANY_PATTERN))


def database_url(directory: Path, name: str) -> str:
    """``DATABASE_URL`` when set (e.g. PostgreSQL), else a fresh SQLite file in ``directory``."""
    return os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{directory / name}.db"


@pytest.fixture(scope="session")
def database_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder for the run's SQLite files: in memory where the system offers it, else tmp."""
    if MEMORY_FILESYSTEM.is_dir() and os.access(MEMORY_FILESYSTEM, os.W_OK):
        remove_dead_runs_databases(MEMORY_FILESYSTEM)
        folder = Path(
            tempfile.mkdtemp(prefix=f"{DATABASES_PREFIX}{os.getpid()}-", dir=MEMORY_FILESYSTEM)
        )
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("databases")


#: ``scoping-<pid>-<random>``: the pid of the run that made it.
DATABASES_PREFIX = "scoping-"


def remove_dead_runs_databases(root: Path) -> None:
    """Remove the folders of runs that were killed before their own cleanup (tmpfs is memory)."""
    for folder in root.glob(f"{DATABASES_PREFIX}*-*"):
        pid = folder.name.removeprefix(DATABASES_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@pytest.fixture(scope="session")
def startup(request: pytest.FixtureRequest, database_dir: Path) -> Startup:
    fake = request.config.getoption("--fake-backend")
    started = start(fake, database_url(database_dir, "startup"))
    # The stack is imported now and lives until the end: set its objects aside from the
    # cyclic garbage collector, whose full passes (pytest runs several at the end of the
    # session) otherwise walk every module of the stack again, 0.3 s of a 3 s suite.
    gc.freeze()
    surface = request.config.getoption("--fake-admin-surface")
    if surface is None or not started.ok:
        return started
    from .fakes.surface_pin import pin_surface

    pinned = pin_surface(surface)
    return Startup(error=pinned) if isinstance(pinned, str) else started


@pytest.fixture(scope="session", params=ids.PATTERN_IDS)
def pattern_app(
    request: pytest.FixtureRequest, startup: Startup, database_dir: Path
) -> Iterator[PatternApp | None]:
    """One app per pattern, shared by that pattern's checks (each check empties the DB).

    Its observer lives as long as it does: per-request judges every request of its life.
    """
    if not startup.ok:
        yield None
        return
    from sqlalchemy.orm import close_all_sessions

    from .patterns import build_pattern_app

    pattern: str = request.param
    url = database_url(database_dir, pattern)
    built = build_pattern_app(pattern, startup.backend, url)
    yield built
    # Its checks are done: let its walks' records go (they hold every Session the walk saw),
    # so that each close_all_sessions() of the next patterns' requests and the collector's
    # passes do not go over this pattern's objects again.
    tours = request.config.stash.get(_TOURS, {})
    for key in [key for key in tours if key[0] == pattern]:
        del tours[key]
    # Sessions a broken pattern left open would hold connections and block DROP on a server.
    close_all_sessions()
    built.close()
    built.database.drop_tables()
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
    stack_app.database.empty_tables()
    return stack_app


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[[Finding], None]:
    """Record a finding's surfaces on the test (replacing an earlier attempt's), then judge.

    Recorded before the outcome, so that a failing check reports its surfaces too.
    """
    node = request.node

    def judged(finding: Finding) -> None:
        properties: list[tuple[str, object]] = node.user_properties
        properties[:] = [p for p in properties if p[0] not in records.EVIDENCE]
        properties.append((records.SURFACES, records.joined_names(finding.surfaces)))
        properties.append((records.FAILED_SURFACES, records.joined_names(finding.failed_surfaces)))
        properties.append((records.SURFACES_NA, records.joined_reasons(dict(finding.surfaces_na))))
        if finding.outcome == ids.SKIPPED:
            pytest.skip(finding.message)
        assert finding.outcome != ids.FAILED, finding.message

    return judged


@pytest.fixture
def tour(request: pytest.FixtureRequest, admin_app: PatternApp) -> Walked:
    """The pattern's walk over every surface, once per attempt, shared by the checks reading it.

    A re-run (attempt 2) walks again from an empty database: a re-run repeats the requests,
    it does not re-read the first run's record.
    """
    from .tour import walk

    tours = request.config.stash.setdefault(_TOURS, {})
    attempt = attempt_of(request.node)
    key = (admin_app.pattern, attempt)
    if key not in tours:
        tours[key] = walk(admin_app, f"tour-{attempt}")
    return tours[key]
