"""Load the user's app the way ``flask --app`` does, and their ``--login`` callable."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import flask
from flask.cli import NoAppException, ScriptInfo


class UsageProblem(Exception):
    """Bad input from the user (``--app``, ``--login``, nothing to check): exit status 2."""


LoginHook = Callable[[Any], object]


def load_app(import_path: str) -> flask.Flask:
    """``MODULE``, ``MODULE:NAME`` or ``MODULE:factory(args)``, resolved by Flask's own helpers.

    ``ScriptInfo.load_app`` is what ``flask --app`` uses (prepare_import, locate_app,
    find_best_app) and has the same behaviour from Flask 2.3 to 3.1. ``set_debug_flag=False``:
    FLASK_DEBUG must not flip ``app.debug`` under the checks.
    """
    try:
        return ScriptInfo(app_import_path=import_path, set_debug_flag=False).load_app()
    except NoAppException as exc:
        raise UsageProblem(f"--app {import_path}: {_one_paragraph(str(exc))}") from None
    except Exception as exc:  # noqa: BLE001 - whatever the user's factory raised
        # The factory itself failed (its own exception, not an import problem): the user's
        # app cannot be built, which is a usage problem of this run, not a failed check.
        raise UsageProblem(
            f"--app {import_path}: building the app raised {type(exc).__name__}: "
            f"{_first_line(str(exc))}"
        ) from None


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
