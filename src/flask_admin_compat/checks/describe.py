"""Exceptions in a user's words, with the standard library alone.

Imported where the stack may not even import (the suite's startup check), so nothing of
Flask or SQLAlchemy is touched here.
"""

from __future__ import annotations


def describe_exception(exc: BaseException) -> str:
    """``Type: message`` on one line, the way a user would quote an error."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
