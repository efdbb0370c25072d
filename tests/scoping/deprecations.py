"""Flask-Admin's own warnings, recorded per pattern while its app is built and serves requests.

A pattern that passes today may still be one Flask-Admin has announced it will remove
(``ModelView(User, db.session)`` from 2.1 on: "will be removed in version 3.0"). pytest.ini
ignores that warning on purpose (the patterns pass a session because that is what they
measure), so filters cannot be where it is seen: ``warnings.warn`` itself is wrapped for the
run, and every call made from Flask-Admin's code is noted, whatever the filters then do with
it, under the pattern of the test running. Attribution is by the calling frame's module, not
by the warning's filename: Flask-Admin warns with ``stacklevel=3``, which names the caller
(the suite's app factory).

Each test of a pattern reports what was noted for that pattern so far as JUnit properties:
``deprecation`` for a ``DeprecationWarning`` (or subclass), ``warning`` for any other, the
value ``Category: message``. Registered from conftest.py by importing the hooks below.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Generator
from typing import Any

import pytest

from flask_admin_compat.checks import ids, records

DEPRECATION_PROPERTY = records.DEPRECATION
WARNING_PROPERTY = records.WARNING
_FLASK_ADMIN = "flask_admin"
_MESSAGE_LIMIT = 500

_state: dict[str, Any] = {"pattern": None, "original": None}
#: pattern -> (property name, text), in the order first seen.
_noted: dict[str, dict[tuple[str, str], None]] = {}


def _from_flask_admin(module: str) -> bool:
    return module == _FLASK_ADMIN or module.startswith(_FLASK_ADMIN + ".")


def _category(message: object, category: object) -> type[Warning]:
    if isinstance(message, Warning):
        return type(message)
    if isinstance(category, type) and issubclass(category, Warning):
        return category
    return UserWarning


def note(pattern: str, message: object, category: type[Warning]) -> None:
    """Remember one warning of Flask-Admin's under ``pattern``."""
    name = DEPRECATION_PROPERTY if issubclass(category, DeprecationWarning) else WARNING_PROPERTY
    text = f"{category.__name__}: {message}"[:_MESSAGE_LIMIT]
    _noted.setdefault(pattern, {})[(name, text)] = None


def noted(pattern: str) -> list[tuple[str, str]]:
    return list(_noted.get(pattern, {}))


def _recording(original: Callable[..., None]) -> Callable[..., None]:
    def warn(
        message: object,
        category: object = None,
        stacklevel: int = 1,
        source: object = None,
        **kwargs: Any,
    ) -> None:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        pattern = _state["pattern"]
        if pattern is not None and _from_flask_admin(str(caller)):
            note(pattern, message, _category(message, category))
        # One frame more than asked: this wrapper's, so the warning names the same line.
        original(message, category, stacklevel + 1, source, **kwargs)

    return warn


def pytest_configure(config: pytest.Config) -> None:
    if _state["original"] is None:
        _state["original"] = warnings.warn
        warnings.warn = _recording(warnings.warn)  # type: ignore[assignment]


def pytest_unconfigure(config: pytest.Config) -> None:
    if _state["original"] is not None:
        warnings.warn = _state["original"]
        _state["original"] = None


def _pattern_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    pattern = callspec.params.get("pattern_app") if callspec else None
    return pattern if isinstance(pattern, str) and pattern != ids.ANY_PATTERN else None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    # The pattern's app is built in its first test's setup and serves in every test's call.
    _state["pattern"] = _pattern_of(item)
    try:
        return (yield)
    finally:
        _state["pattern"] = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    try:
        return (yield)
    finally:
        # Before the teardown report is made: JUnit XML takes the properties from it.
        pattern = _pattern_of(item)
        if pattern is not None:
            have = set(item.user_properties)
            item.user_properties.extend(p for p in noted(pattern) if p not in have)
