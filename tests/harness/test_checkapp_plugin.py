"""The pytest plugin (``--admin-scoping-app``) in a pytest of its own, as a user's CI runs it.

Each run is a subprocess in a fresh folder: the plugin is found through its pytest11 entry
point, as in a user's environment, and the harness's own pytest config stays out of it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from factories import RESOURCES

APPS = RESOURCES / "apps"
CHECKS = ("per-request", "teardown", "concurrency")


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH: the user's own test modules import the sample apps, as they would theirs.
    env = {**os.environ, "PYTHONPATH": str(APPS)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env=env,
    )


def app_spec(module: str, database: Path) -> str:
    return f"{APPS / module}.py:create_app({f'sqlite:///{database}'!r})"


def test_one_test_per_view_and_check_with_junit_xml(tmp_path: Path) -> None:
    # A user's own test whose session fixture keeps an app context pushed all run long:
    # the checks must still send requests that stand alone.
    (tmp_path / "test_mine.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from scoping_style import create_app

            @pytest.fixture(scope="session", autouse=True)
            def pushed():
                with create_app("sqlite://").app_context():
                    yield

            def test_mine():
                assert True
            """
        )
    )
    junit = tmp_path / "junit.xml"
    spec = app_spec("kept_session", tmp_path / "kept.db")
    done = run_pytest(
        tmp_path,
        "--admin-scoping-app",
        spec,
        "--admin-scoping-writes",
        "--admin-scoping-yes",
        f"--junitxml={junit}",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"admin-scoping databases: sqlite:///{tmp_path / 'kept.db'}" in done.stdout
    cases = {
        (case.get("classname"), case.get("name")): case
        for case in ET.parse(junit).getroot().iter("testcase")
    }
    views = ("author", "post", "kept_author")
    checks = ("per-request", "teardown", "isolation-after-error", "concurrency")
    expected = {(f"admin-scoping.{view}", check) for view in views for check in checks}
    assert expected <= set(cases)
    assert ("test_mine", "test_mine") in cases
    for view in views:
        for check in checks:
            failure = cases[(f"admin-scoping.{view}", check)].find("failure")
            if view == "kept_author" and check != "isolation-after-error":
                assert failure is not None, (view, check)
            else:
                assert failure is None, (view, check, failure.get("message"))
    kept = cases[("admin-scoping.kept_author", "per-request")]
    failure = kept.find("failure")
    assert failure is not None
    message = failure.get("message") or ""
    assert "kept_session.KeptAuthorView" in message
    assert "shared one Session" in message
    assert "cause: get_query (" in message
    properties = {p.get("name"): p.get("value") for p in kept.iter("property")}
    assert properties["view"] == "kept_author"
    assert properties["check"] == "per-request"
    assert str(properties["defined_at"]).startswith(str(APPS / "kept_session.py"))


LOGIN_HOOK = """
def pytest_admin_scoping_login(client):
    from login_app import log_in
    log_in(client)
"""


def test_a_conftest_hook_logs_the_clients_in_and_k_selects_views(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(LOGIN_HOOK)
    spec = app_spec("login_app", tmp_path / "login.db")
    done = run_pytest(tmp_path, "--admin-scoping-app", spec, "-k", "secure_author")
    assert done.returncode == 0, done.stdout + done.stderr
    for check in CHECKS:
        assert f"PASSED admin-scoping::secure_author::{check}" in done.stdout
    assert "3 passed, 6 deselected" in done.stdout


def test_without_a_login_the_locked_view_is_skipped_and_says_how(tmp_path: Path) -> None:
    spec = app_spec("login_app", tmp_path / "login.db")
    done = run_pytest(tmp_path, "--admin-scoping-app", spec, "-m", "admin_scoping", "-k", "secure")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 skipped" in done.stdout
    assert "pass --login MODULE:CALLABLE" in done.stdout


def test_the_login_option_and_the_ini_default(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(
        f"[pytest]\nadmin_scoping_app = {app_spec('login_app', tmp_path / 'login.db')}\n"
    )
    done = run_pytest(tmp_path, "--admin-scoping-login", "login_app:log_in_via_session")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9 passed" in done.stdout


def test_a_failing_login_hook_is_said_in_one_line(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makeconftest("def pytest_admin_scoping_login(client):\n    raise ValueError('nope')\n")
    spec = app_spec("login_app", tmp_path / "login.db")
    done = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--admin-scoping-app", spec)
    done.assert_outcomes(failed=9)
    done.stdout.fnmatch_lines(["admin-scoping: the login hook raised ValueError: nope"])
    assert "Traceback" not in done.stdout.str()


def test_a_bad_app_is_a_usage_error_and_no_option_leaves_the_plugin_inert(tmp_path: Path) -> None:
    bad = run_pytest(tmp_path, "--admin-scoping-app", "no_such_module_here:create_app")
    assert bad.returncode == 4, bad.stdout + bad.stderr
    assert "--admin-scoping-app: --app no_such_module_here:create_app" in bad.stderr
    assert "Could not import 'no_such_module_here'" in bad.stderr

    inert = run_pytest(tmp_path)
    assert inert.returncode == 5, inert.stdout + inert.stderr  # no tests ran
    assert "admin-scoping" not in inert.stdout


def test_in_process_runs_with_pytester(pytester: pytest.Pytester, tmp_path: Path) -> None:
    # Twice in one process, as a user's own plugin tests may: the app is built afresh each time.
    spec = app_spec("kept_session", tmp_path / "kept.db")
    first = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--admin-scoping-app", spec)
    first.assert_outcomes(passed=7, failed=5)
    again = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "--admin-scoping-app", spec, "-k", "kept_author"
    )
    again.assert_outcomes(failed=3, deselected=9)
