"""check-app installed as a user installs it, beside an app on Flask-Admin 2.0 with lite.

One small environment made with uv: this project (not editable) with Flask-Admin 2.0 and
flask-sqlalchemy-lite, the one combination where views built inside
``with app.app_context():`` over ``db.session`` keep one Session for good. The harness's own
environment has Flask-Admin >= 2.1, hence a venv of its own. It also proves the core install
brings none of the runner's dependencies.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from factories import PROJECT_ROOT, RESOURCES

pytestmark = pytest.mark.e2e

APP = RESOURCES / "apps" / "lite_context.py"
STACK = ("flask>=3,<3.2", "flask-admin==2.0.*", "flask-sqlalchemy-lite==0.2.*", "sqlalchemy==2.0.*")
CHECKS = ("per-request", "teardown", "concurrency")


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    folder = tmp_path_factory.mktemp("checkapp-venv") / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run(
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            str(PROJECT_ROOT),
            *STACK,
            "pytest>=8",
        ],
        check=True,
        timeout=600,
    )
    return folder


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(cwd)},
    )


def test_the_core_install_brings_no_runner_dependency(venv: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('nox', 'uv', 'jsonschema', 'pip') if u.find_spec(m)])"
    )
    done = _run(venv, str(venv / "bin" / "python"), "-c", probe, cwd=tmp_path)
    assert done.stdout.strip() == "[]", done.stdout + done.stderr


def test_lite_views_built_inside_an_app_context_on_flask_admin_20(
    venv: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'lite.db'}"
    spec = f"{APP}:create_app({url!r})"
    report = tmp_path / "report.json"
    done = _run(
        venv,
        str(venv / "bin" / "flask-admin-compat"),
        "check-app",
        "--app",
        spec,
        "--json",
        str(report),
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    views = {v["endpoint"]: v for v in json.loads(report.read_text())["views"]}
    assert dict(json.loads(report.read_text())["versions"])["flask-admin"].startswith("2.0.")
    author = {c["check"]: c for c in views["author"]["checks"]}
    assert {c: author[c]["outcome"] for c in CHECKS} == dict.fromkeys(CHECKS, "failed")
    assert "one concrete Session object" in views["author"]["built_over"]
    assert author["per-request"]["cause"].startswith(
        "the view was built over one concrete Session object"
    )
    assert {c["outcome"] for c in views["tag"]["checks"]} == {"passed"}

    plugin = _run(
        venv,
        str(venv / "bin" / "python"),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-rA",
        "--admin-scoping-app",
        spec,
        cwd=tmp_path,
    )
    assert plugin.returncode == 1, plugin.stdout + plugin.stderr
    for check in CHECKS:
        assert f"FAILED admin-scoping::author::{check}" in plugin.stdout
        assert f"PASSED admin-scoping::tag::{check}" in plugin.stdout


# Flask-SQLAlchemy beside lite, as the matrix's install sets have it: without it Flask-Admin
# 2.2.1's flask_admin.contrib.sqla does not import (``_types.py`` defines T_SESSION only in
# its ``import flask_sqlalchemy`` branch; ``_compat.py`` imports it unconditionally).
LITE_STACK = (
    "flask>=3,<3.2",
    "flask-admin>=2.1",
    "flask-sqlalchemy-lite==0.2.*",
    "flask-sqlalchemy>=3.1",
    "sqlalchemy==2.0.*",
)


@pytest.fixture(scope="module")
def lite_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    folder = tmp_path_factory.mktemp("checkapp-lite-venv") / "venv"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), str(PROJECT_ROOT), *LITE_STACK],
        check=True,
        timeout=600,
    )
    return folder


def test_the_corpus_lite_app_as_flask_admin_21_documents_it(
    lite_venv: Path, tmp_path: Path
) -> None:
    # The corpus's flask-sqlalchemy-lite app, which the harness's own environment cannot host
    # (lite installed makes Flask-Admin refuse the fakes' concrete Sessions): its expected
    # report, checked with the corpus's own runner in an environment that has lite.
    from checkapp_corpus import load_corpus, run_command

    expected = next(e for e in load_corpus() if e.app == "lite_app")
    ran = run_command(expected, tmp_path, python=str(lite_venv / "bin" / "python"))
    assert ran.status == expected.exit, ran.stdout + ran.stderr
    report = json.loads(ran.stdout)
    words = {"passed": "pass", "failed": "fail", "skipped": "skip"}
    got = {
        view["endpoint"]: {c["check"]: words[c["outcome"]] for c in view["checks"]}
        for view in report["views"]
    }
    assert got == expected.checks
    for view in report["views"]:
        assert view["writes"]["create"] == view["writes"]["edit"] == "saved", view["writes"]
        assert view["writes"]["delete"] == "saved", view["writes"]
