"""check-app's corpus of sample apps: what each expects, and one run of it through a subprocess.

Every app under resources/apps/corpus/ has a ``NAME.expected.json`` beside it: its runs (the
command line, the exit status, per view the outcome of each check, the reason a skipped check
gives, what ``--writes`` reached, what stderr says). A run is a process of its own, in the
app's own folder, as a user runs it from a shell: the apps print, exit, hang and start
threads at import, which no test process should host.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from factories import RESOURCES

CORPUS = RESOURCES / "apps" / "corpus"
SCHEMA = json.loads((CORPUS / "expected.schema.json").read_text())
#: Every check a --writes run reports per view, in report order.
WRITE_CHECKS = ("per-request", "teardown", "isolation-after-error", "concurrency")
READ_CHECKS = ("per-request", "teardown", "concurrency")
#: A run still going by then hangs (an app's thread kept check-app alive): it is stopped and
#: reported as such. Far above any run's own time, so it measures nothing.
GUARD_S = 120
#: The status a stopped run is given: no process exits with it.
HUNG = -1000


@dataclass(frozen=True)
class Expected:
    """One run of one corpus app and what it must report."""

    app: str
    name: str
    args: tuple[str, ...]
    exit: int
    #: view endpoint -> check -> pass/fail/skip.
    checks: Mapping[str, Mapping[str, str]]
    #: view endpoint -> text every skipped check of that view says.
    skipped_because: Mapping[str, str] = field(default_factory=dict)
    #: view endpoint -> "saved", or text naming why its form was not saved.
    writes: Mapping[str, str] = field(default_factory=dict)
    stderr: tuple[str, ...] = ()
    #: `flask` commands of the app's to run first (each a list of arguments).
    before: tuple[str, ...] = ()
    cwd: str = ""
    needs: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.app}-{self.name}"

    @property
    def folder(self) -> Path:
        return CORPUS / self.cwd if self.cwd else CORPUS

    @property
    def app_spec(self) -> str:
        return self.args[self.args.index("--app") + 1]

    @property
    def with_writes(self) -> bool:
        return "--writes" in self.args


def _checks(raw: Mapping[str, Any], *, writes: bool) -> dict[str, dict[str, str]]:
    names = WRITE_CHECKS if writes else READ_CHECKS
    return {
        view: dict.fromkeys(names, said) if isinstance(said, str) else dict(said)
        for view, said in raw.items()
    }


def load_corpus() -> tuple[Expected, ...]:
    """Every run of every corpus app, each expected file validated against its schema."""
    found = []
    for path in sorted(CORPUS.glob("*.expected.json")):
        data = json.loads(path.read_text())
        jsonschema.validate(data, SCHEMA)
        app = path.name.removesuffix(".expected.json")
        for run in data["runs"]:
            writes = "--writes" in run["args"]
            found.append(
                Expected(
                    app=app,
                    name=run["name"],
                    args=tuple(run["args"]),
                    exit=run["exit"],
                    checks=_checks(run["checks"], writes=writes),
                    skipped_because=run.get("skipped_because", {}),
                    writes=run.get("writes", {}),
                    stderr=tuple(run.get("stderr", ())),
                    before=tuple(run.get("before", ())),
                    cwd=run.get("cwd", ""),
                    needs=tuple(run.get("needs", ())),
                )
            )
    return tuple(found)


@dataclass(frozen=True)
class Ran:
    """What one process answered."""

    status: int
    stdout: str
    stderr: str


def environment(folder: Path) -> dict[str, str]:
    """The app's settings (its databases, its uploads) all inside ``folder``, nothing inherited
    that would change how the app is found (FLASK_APP, a .env).

    Bytecode goes to one cache beside the runs' folders, shared by every run, never into the
    corpus's folder or the environment: a shell that sets PYTHONDONTWRITEBYTECODE (as CI's
    does) would otherwise have each of the corpus's processes compile Flask, Flask-Admin and
    SQLAlchemy from source again, about a third of its time.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FLASK_", "PYTEST_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    return {
        **env,
        "DATABASE_URL": f"sqlite:///{folder / 'app.db'}",
        "USERS_DATABASE_URL": f"sqlite:///{folder / 'users.db'}",
        "UPLOAD_DIR": str(folder),
        "FLASK_SKIP_DOTENV": "1",
        "PYTHONPYCACHEPREFIX": str(folder.parent / "bytecode"),
    }


def _run(argv: list[str], *, cwd: Path, env: Mapping[str, str]) -> Ran:
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=GUARD_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        said = (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        return Ran(HUNG, "", f"still running after {GUARD_S} s: stopped\n{said}")
    return Ran(done.returncode, done.stdout, done.stderr)


def prepare(expected: Expected, folder: Path) -> dict[str, str]:
    """A fresh folder for the run's files, the app's ``before`` commands run in it."""
    folder.mkdir(parents=True, exist_ok=True)
    env = environment(folder)
    for command in expected.before:
        ran = _run(
            [sys.executable, "-m", "flask", "--app", expected.app_spec, command],
            cwd=expected.folder,
            env=env,
        )
        assert ran.status == 0, ran.stdout + ran.stderr
    return env


def run_command(expected: Expected, folder: Path, *, python: str = sys.executable) -> Ran:
    """``flask-admin-compat check-app ARGS --json -`` from the app's folder."""
    env = prepare(expected, folder)
    argv = [python, "-m", "flask_admin_compat.cli", "check-app", *expected.args]
    return _run([*argv, "--json", "-"], cwd=expected.folder, env=env)


#: check-app's options -> the plugin's.
PLUGIN_OPTIONS = {
    "--app": "--admin-scoping-app",
    "--login": "--admin-scoping-login",
    "--writes": "--admin-scoping-writes",
    "--yes": "--admin-scoping-yes",
    "--load-timeout": "--admin-scoping-load-timeout",
}


def plugin_args(args: tuple[str, ...]) -> list[str]:
    return [PLUGIN_OPTIONS.get(arg, arg) for arg in args]


def run_plugin(expected: Expected, folder: Path) -> Ran:
    """The same run as ``pytest --admin-scoping-app ...``, under a pytest config of its own."""
    env = prepare(expected, folder)
    ini = folder / "pytest.ini"
    ini.write_text("[pytest]\n")
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-c", str(ini)]
    argv += ["--rootdir", str(folder), *plugin_args(expected.args)]
    return _run(argv, cwd=expected.folder, env=env)


def installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
