"""A pytest plugin that pins one admin surface inside Flask-Admin's own tests.

It measures upstream's blind spot: which of the suite's per-surface fakes Flask-Admin's own
SQLAlchemy tests notice. Loaded into the upstream suite's run with ``PYTHONPATH=tests:src``,
``-p scoping.fakes.upstream_pin`` and ``SCOPING_FAKE_ADMIN_SURFACE=<surface>``; the views there
are upstream's, so requests are told apart by the view method Flask matched.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

SURFACE_ENV = "SCOPING_FAKE_ADMIN_SURFACE"
_KEEPER = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    word = os.environ.get(SURFACE_ENV)
    if not word:
        return
    from .surface_pin import pin_surface

    pinned = pin_surface(word)
    if isinstance(pinned, str):
        raise pytest.UsageError(pinned)
    config.stash[_KEEPER] = pinned


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Say how often the pin answered, so that "no test noticed" cannot mean "never applied"."""
    keeper = config.stash.get(_KEEPER, None)
    if keeper is not None:
        terminalreporter.write_line(
            f"pinned {keeper.surface}: {keeper.reads} session reads kept, in {keeper.apps} app(s)"
        )
