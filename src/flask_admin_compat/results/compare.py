"""Two results of one stack compared: did the verdict or any pattern x check outcome change?

``bisect`` compares its probes this way, and the grid compares the cells of neighbouring
releases, so that both name a change in the same words.
"""

from __future__ import annotations

from flask_admin_compat.results.junit import _TRAILING_PATH
from flask_admin_compat.results.model import CellResult, first_line

_MESSAGE_CHARS = 300

Signature = tuple[str, tuple[tuple[str, str, str], ...]]


def signature(result: CellResult) -> Signature:
    """What two probes are compared on: the verdict and every pattern x check outcome."""
    checks = tuple(sorted((c.pattern, c.check, c.outcome) for c in result.checks))
    return (result.verdict, checks)


def differences(before: CellResult, after: CellResult) -> tuple[str, ...]:
    """``verdict: workaround → incompatible``, ``startup: passed → failed: <why>``, ...

    The verdict first, then checks whose outcome became a failure or a pass (with the check's
    first message line), and last those merely skipped or not run as a consequence.
    """
    changes: list[str] = []
    if before.verdict != after.verdict:
        changes.append(f"verdict: {before.verdict} → {after.verdict}")
    old = {(c.pattern, c.check): c for c in before.checks}
    new = {(c.pattern, c.check): c for c in after.checks}
    telling: list[str] = []
    consequences: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        was = old[key].outcome if key in old else "not run"
        now = new[key].outcome if key in new else "not run"
        if was == now:
            continue
        pattern, check = key
        where = check if pattern == "*" else f"{pattern}/{check}"
        message = first_line(new[key].message) if now in ("failed", "error") else ""
        # An ImportError names the file it looked in: a path of one machine, noise here.
        message = _TRAILING_PATH.sub("", message)[:_MESSAGE_CHARS]
        line = f"{where}: {was} → {now}" + (f": {message}" if message else "")
        (consequences if now in ("skipped", "not run") else telling).append(line)
    return (*changes, *telling, *consequences)
