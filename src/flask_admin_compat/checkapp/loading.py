"""Load the user's app the way ``flask --app`` does, and their ``--login`` callable.

Flask's own steps find the app (``prepare_import``, ``locate_app``, ``find_best_app``: the
same import path handling, the same factory calls), with three guards a user's module needs:
it is imported once (a module also reachable under a second name, as a package's module run
from its own folder, is the same module object under both); an app that exits while it
loads is a usage problem, not a silent status; and loading is bounded in time.
"""

from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import flask
from flask.cli import NoAppException, locate_app, prepare_import

#: Seconds an app may take to load (import and factory) before check-app gives up on it.
LOAD_TIMEOUT_S = 60.0
#: The thread the app is loaded in (a daemon: a load that never ends is left behind).
LOADER_THREAD = "check-app-load"


class UsageProblem(Exception):
    """Bad input from the user (``--app``, ``--login``, nothing to check): exit status 2."""


LoginHook = Callable[[Any], object]


@dataclass(frozen=True)
class Loaded:
    """The app, and the module ``--app`` named (where a ``__main__`` block would be)."""

    app: flask.Flask
    module: ModuleType | None
    #: Building the app left an app context pushed (in the thread that built it).
    left_context: bool = False


class _SameModule(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Hands back a module already imported from the same file under another name.

    ``examples/sqla/admin/__init__.py`` run from ``examples/sqla`` is ``examples.sqla.admin``
    to Flask's locating and ``admin`` to its own ``import admin.views``: two module objects,
    two apps, and the views on the one check-app was not given.
    """

    def __init__(self) -> None:
        self._specs: dict[int, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        spec = _spec_elsewhere(self, fullname, path, target)
        origin = getattr(spec, "origin", None)
        if spec is None or not origin or not Path(origin).is_file():
            return None
        known = _imported_from(os.path.realpath(origin), fullname)
        if known is None:
            return None
        return importlib.util.spec_from_loader(
            fullname, self, origin=origin, is_package=hasattr(known, "__path__")
        )

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        assert spec.origin is not None
        known = _imported_from(os.path.realpath(spec.origin), spec.name)
        assert known is not None
        self._specs[id(known)] = known.__spec__
        return known

    def exec_module(self, module: ModuleType) -> None:
        """Already executed (or being executed) under its first name: nothing to run.

        The import system has just given the module this second name's spec; it keeps its
        own (its name, its package), so its relative imports and pickles still work.
        """
        module.__spec__ = self._specs.pop(id(module), module.__spec__)


def _spec_elsewhere(
    me: object, fullname: str, path: Sequence[str] | None, target: ModuleType | None
) -> importlib.machinery.ModuleSpec | None:
    for finder in sys.meta_path:
        if finder is me or not hasattr(finder, "find_spec"):
            continue
        spec = finder.find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _imported_from(origin: str, other_than: str) -> ModuleType | None:
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if name != other_than and file and os.path.realpath(file) == origin:
            return module
    return None


@contextmanager
def imported_once() -> Iterator[None]:
    """While loading, a file already imported as a module is that module under any name."""
    finder = _SameModule()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def _locate(import_path: str) -> Loaded:
    """What ``ScriptInfo.load_app`` does, keeping the module's name to find its source."""
    # Split as ScriptInfo.load_app splits it: at a colon not followed by a path separator,
    # so that a Windows path (C:\\app.py) stays whole.
    parts = re.split(r":(?![\\/])", import_path, maxsplit=1)
    name = parts[1] if len(parts) > 1 else None
    import_name = prepare_import(parts[0])
    with imported_once():
        app = locate_app(import_name, name)
    return Loaded(app, sys.modules.get(import_name), left_context=flask.has_app_context())


def load_app(
    import_path: str, *, timeout_s: float = LOAD_TIMEOUT_S, timeout_option: str = "--load-timeout"
) -> Loaded:
    """``MODULE``, ``MODULE:NAME`` or ``MODULE:factory(args)``, resolved by Flask's own helpers.

    Loaded in a daemon thread of its own: an app that never finishes loading is given up
    after ``timeout_s`` (the thread is left behind; as a daemon it does not hold the
    process's exit); one that calls ``sys.exit()`` while it loads is a usage problem, said
    in one line. Threads the app starts while it loads inherit the daemon flag, so a
    scheduler started at import never keeps check-app alive either. ``FLASK_DEBUG`` does not flip ``app.debug`` here (Flask's
    ``set_debug_flag=False``).
    """
    box: list[Loaded | BaseException] = []
    loader = threading.Thread(
        target=lambda: box.append(_catching(_locate, import_path)),
        name=LOADER_THREAD,
        daemon=True,
    )
    loader.start()
    loader.join(timeout_s)
    if loader.is_alive():
        raise UsageProblem(
            f"--app {import_path}: the app did not finish loading within {timeout_s:g} s "
            f"({timeout_option})"
        )
    found = box[0]
    if isinstance(found, Loaded):
        return found
    raise UsageProblem(f"--app {import_path}: {_said(found)}") from None


def _catching(work: Callable[[str], Loaded], spec: str) -> Loaded | BaseException:
    try:
        return work(spec)
    except BaseException as exc:  # noqa: BLE001 - said to the user in one line by load_app
        return exc


def _said(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the app exited while loading (sys.exit({exc.code!r}))"
    if isinstance(exc, NoAppException):
        return _one_paragraph(str(exc))
    if isinstance(exc, KeyboardInterrupt):
        return "loading the app was interrupted"
    # The factory itself failed (its own exception, not an import problem): the user's
    # app cannot be built, which is a usage problem of this run, not a failed check.
    return f"building the app raised {type(exc).__name__}: {_first_line(str(exc))}"


def main_block_hint(module: ModuleType | None, app_spec: str) -> str:
    """When the module builds its admin under ``if __name__ == "__main__":``: where, and the
    few lines of factory to write instead. Empty when it has no such block."""
    source_file = getattr(module, "__file__", None)
    if not source_file or not source_file.endswith(".py"):
        return ""
    try:
        tree = ast.parse(Path(source_file).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return ""
    block = next((node for node in tree.body if _is_main_block(node)), None)
    if block is None:
        return ""
    assert isinstance(block, ast.If)
    kept = [stmt for stmt in block.body if not _runs_the_server(stmt)]
    body = "\n".join(ast.unparse(stmt) for stmt in kept) or "pass"
    app_name = _app_name(block) or "app"
    factory = "\n".join(f"        {line}" for line in body.splitlines())
    module_name = app_spec.partition(":")[0]
    return (
        f"{Path(source_file).name}:{block.lineno} builds part of the app under `if __name__ == "
        f'"__main__":`, which runs for `python {Path(source_file).name}` but not when the app '
        "is imported (by `flask --app` and by check-app). Move it into a factory:\n\n"
        f"    def create_app():\n{factory}\n        return {app_name}\n\n"
        f'and check that: --app "{module_name}:create_app()"'
    )


def _is_main_block(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    parts = [node.test.left, *node.test.comparators]
    names = {p.id for p in parts if isinstance(p, ast.Name)}
    texts = {p.value for p in parts if isinstance(p, ast.Constant)}
    return names == {"__name__"} and texts == {"__main__"}


def _runs_the_server(stmt: ast.stmt) -> bool:
    """``app.run(...)`` (or ``socketio.run(app)``): the server, not part of a factory."""
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    return (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "run"
    )


def _app_name(block: ast.If) -> str:
    for stmt in block.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        func = call.func if isinstance(call, ast.Call) else None
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "run"
            and isinstance(func.value, ast.Name)
        ):
            return func.value.id
    return ""


def guarded(hook: LoginHook) -> LoginHook:
    """The user's login hook, its failure a usage problem (its own words, one line)."""

    def login(client: Any) -> object:
        try:
            return hook(client)
        except Exception as exc:  # noqa: BLE001 - the user's hook: any failure is theirs
            said = next(iter(str(exc).strip().splitlines()), "")
            raise UsageProblem(
                f"the login hook raised {type(exc).__name__}: {said}".rstrip(": ")
            ) from None

    return login


def load_callable(spec: str, *, option: str = "--login") -> LoginHook:
    """``MODULE:CALLABLE`` (a dotted attribute allowed) imported from the current folder."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise UsageProblem(f"{option} wants MODULE:CALLABLE, got {spec!r}")
    try:
        with imported_once():
            obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageProblem(f"{option} {spec}: cannot import {module_name!r}: {exc}") from None
    for part in attr.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            raise UsageProblem(f"{option} {spec}: {module_name!r} has no {attr!r}")
    if not callable(obj):
        raise UsageProblem(f"{option} {spec}: not callable")
    hook: LoginHook = obj
    return hook


def _one_paragraph(text: str) -> str:
    # Flask's message for an ImportError inside the module carries the whole traceback;
    # its first paragraph says what happened, the last line says which import failed.
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) <= 1:
        return text.strip()
    return f"{lines[0]} ... {lines[-1].strip()}"


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
