"""Two results of one stack compared: did the verdict or any pattern x check outcome change?

``bisect`` compares its probes this way, and the grid compares the cells of neighbouring
releases, so that both name a change in the same words; ``compare`` says whether an unreleased
build regressed, fixed or left alone what the release did, check by check, with the surfaces.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from flask_admin_compat.checks.ids import ANY_PATTERN, ERROR, FAILED, PASSED
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


# -- what a build changes, check by check (``compare``) -----------------------------------------

Direction = Literal["regressed", "fixed", "same"]
_PASSING = (PASSED,)
_FAILING = (FAILED, ERROR)
#: How good a verdict is, for the verdicts that judge a stack that installed.
_VERDICT_RANK = {"compatible": 0, "workaround": 1, "incompatible": 2}


@dataclass(frozen=True)
class CheckChange:
    """One pattern x check whose outcome differs between two results of one stack.

    ``surfaces`` are those at fault: the after's failed surfaces for a regression, the
    before's for a fix.
    """

    pattern: str
    check: str
    before: str
    after: str
    surfaces: tuple[str, ...] = ()
    message: str = ""

    @property
    def direction(self) -> Direction:
        if self.before in _PASSING and self.after in _FAILING:
            return "regressed"
        if self.before in _FAILING and self.after in _PASSING:
            return "fixed"
        return "same"

    def words(self) -> str:
        """``db-at-setup/per-request (list, details): passed → failed: two requests shared...``."""
        where = self.check if self.pattern == ANY_PATTERN else f"{self.pattern}/{self.check}"
        on = f" ({', '.join(self.surfaces)})" if self.surfaces else ""
        said = f": {self.message}" if self.message else ""
        return f"{where}{on}: {self.before} → {self.after}{said}"


def check_changes(before: CellResult, after: CellResult) -> tuple[CheckChange, ...]:
    """Every pattern x check that passed on one side and failed on the other, in check order."""
    old = {c.key: c for c in before.checks}
    new = {c.key: c for c in after.checks}
    changes: list[CheckChange] = []
    for key in sorted(old.keys() & new.keys()):
        was, now = old[key], new[key]
        change = CheckChange(*key, was.outcome, now.outcome)
        if change.direction == "same":
            continue
        at_fault = now if change.direction == "regressed" else was
        message = _TRAILING_PATH.sub("", first_line(at_fault.message))[:_MESSAGE_CHARS]
        changes.append(replace(change, surfaces=at_fault.failed_surfaces, message=message))
    return tuple(changes)


def direction(before: CellResult, after: CellResult) -> Direction:
    """Whether ``after`` (a build) regressed, fixed, or left as it was what ``before`` did.

    A check that went from passing to failing is a regression, whatever else it fixed; so is
    a worse verdict, or a stack that no longer installs or starts.
    """
    changes = check_changes(before, after)
    rank_before, rank_after = _VERDICT_RANK.get(before.verdict), _VERDICT_RANK.get(after.verdict)
    if any(c.direction == "regressed" for c in changes):
        return "regressed"
    if rank_before is not None and (rank_after is None or rank_after > rank_before):
        return "regressed"
    if any(c.direction == "fixed" for c in changes):
        return "fixed"
    if rank_after is not None and (rank_before is None or rank_after < rank_before):
        return "fixed"
    return "same"
