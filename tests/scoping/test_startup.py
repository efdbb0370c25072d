"""The one check about the stack rather than a pattern: does it import and start at all?"""

from __future__ import annotations

import pytest

from flask_admin_compat.checks import ids

from .stack import Startup


@pytest.mark.check(ids.STARTUP)
def test_stack_starts(startup: Startup) -> None:
    assert startup.ok, f"the stack did not start: {startup.error}"
