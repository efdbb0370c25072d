"""What a failed ``uv pip compile`` means: the pins conflict, or the machine failed.

Only the first is a verdict (``uninstallable``). uv exits 1 for both, so the difference is
read from its words: its resolver's refusal always opens with the same sentence, and a
machine's fault (a full disk under uv's cache, an index that cannot be reached, a file that
cannot be read) names an OS error or a request instead. Anything that is not plainly the
resolver is an environment problem: a cell's run is better reported as ``error`` and run
again than recorded, and cached, as a stack that does not install.
"""

from __future__ import annotations

#: The sentence uv's resolver opens every refusal with (``error: No solution found when
#: resolving dependencies:``, or with a ``×`` in uv's fancier output).
RESOLVER_REFUSAL = "No solution found when resolving dependencies"

#: Words of a refusal that was the machine's doing after all: uv offline (its "Because X was
#: not found in the cache" is a conclusion from missing data), an OS error, a request.
ENVIRONMENT_SIGNS: tuple[str, ...] = (
    "network was disabled",
    "(os error ",
    "Request failed",
    "Failed to fetch",
    "Failed to download",
    "Failed to read",
    "Failed to write",
    "error sending request",
    "No space left on device",
)


def refused_by_resolver(output: str) -> bool:
    """Whether uv's failure is its resolver saying that the pins cannot be installed together.

    Works on uv's whole output and on the message kept from it (``resolver_message``), so
    that a refusal cached by an older harness can be judged again.
    """
    return RESOLVER_REFUSAL in output and not any(sign in output for sign in ENVIRONMENT_SIGNS)


def environment_problem(message: str) -> str:
    """The reason an ``error`` cell gives when uv failed for a reason that is not the pins."""
    return f"uv could not resolve the pins (a problem of this machine, not a verdict): {message}"
