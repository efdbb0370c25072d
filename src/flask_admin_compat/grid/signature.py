"""A failed check's message reduced to what stays the same wherever the failure happens.

Two cells fail for the same reason when their messages say the same thing once paths,
addresses, object ids and version numbers are taken out. Where the message quotes an exception
(``... answered 500 (AttributeError: 'tuple' object has no attribute 'items')``), its type and
text are the signature: the words around it are the check's, which differ from check to check
for one and the same exception. Where it quotes none (``two list requests shared one Session
(GET /admin/post/ and ...)``), the observation's first clause is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_admin_compat.grid.scrub import scrub_paths

# ``TypeError``, ``sqlalchemy.exc.OperationalError``, ``ModuleNotFoundError``, ``SystemExit``...
_EXCEPTION = re.compile(
    r"(?<![\w.])((?:[a-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning))(?=:|\b)"
)
# Flask's and SQLAlchemy's messages go on with advice after their first sentence.
_ADVICE = re.compile(r"\.\s+(?:This typically|To solve this|See the documentation|Background).*")
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]+\b")
_OBJECT_AT = re.compile(r"<([\w.]+) object at [^>]*>")
_VERSION = re.compile(r"(?<![\w.])v?\d+(?:\.\d+)+(?:[ab]|rc|\.post|\.dev)?\d*(?![\w.])")
_IDS = re.compile(r"\b(id|pk|Session|session)([ =#]+)\d+\b")
_PATH_MARK = re.compile(r"\s*\((?:<[\w-]+>|[\w.-]+/)[^()]*\)")
_SPACES = re.compile(r"\s+")
_MAX = 240


@dataclass(frozen=True)
class Signature:
    """A message's normalised form, and whether it quotes an exception or an observation."""

    text: str
    raised: bool  # an exception's type and text, rather than an observation of the checks


def signature(message: str) -> Signature:
    """The normalised message: the innermost quoted exception, or the observation's gist."""
    text = scrub_paths(message.split("\n[truncated")[0])
    found = list(_EXCEPTION.finditer(text))
    if found:
        return Signature(_normalise(_exception_text(text, found[0].start())), raised=True)
    return Signature(_normalise(_observation(text)), raised=False)


def _exception_text(text: str, start: int) -> str:
    """From the exception's name to the bracket that closes around it (or the line's end).

    A wrapper (``ViewError: the author view (inline posts): RuntimeError: ...``) is the suite's
    own; the innermost exception is what the stack raised.
    """
    depth = 0
    end = len(text)
    for index in range(start, len(text)):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            if depth == 0:
                end = index
                break
            depth -= 1
        elif char in ";\n" and depth == 0:
            end = index
            break
    quoted = text[start:end]
    inner = list(_EXCEPTION.finditer(quoted))
    if len(inner) > 1:
        quoted = quoted[inner[-1].start() :]
    return _ADVICE.sub(".", quoted)


def _observation(text: str) -> str:
    """The first clause of an observation: ``two list requests shared one Session``."""
    first = re.split(r"[:;(]", text, maxsplit=1)[0]
    return first


def _normalise(text: str) -> str:
    text = _PATH_MARK.sub("", text)  # ``from 'flask' (<site-packages>/flask/__init__.py)``
    text = _OBJECT_AT.sub(r"<\1 object>", text)
    text = _ADDRESS.sub("0x…", text)
    text = _IDS.sub(r"\1\2…", text)
    text = _VERSION.sub("<version>", text)
    text = _SPACES.sub(" ", text).strip().rstrip(".,;:")
    return text if len(text) <= _MAX else text[: _MAX - 1] + "…"
