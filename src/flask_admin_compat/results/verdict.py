"""A cell's verdict, from the outcomes of the checks that ran in it and nothing else.

- ``compatible``: the pattern the installed Flask-Admin documents (``ModelView(Model, db)``
  from 2.1, ``ModelView(Model, db.session)`` before) passes every check, built at setup time;
- ``workaround``: it does not, but another pattern does (the verdict names it);
- ``incompatible``: no pattern passes, or the stack does not even import or start.
Which pattern is *documented* is the only version knowledge here; whether it works is
measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from packaging.version import InvalidVersion, Version

from flask_admin_compat.checks.ids import CHECK_IDS, PATTERN_IDS
from flask_admin_compat.results.junit import _TRAILING_PATH
from flask_admin_compat.results.model import (
    STARTUP_CHECK,
    CheckOutcome,
    UpstreamFailure,
    UpstreamReport,
    UpstreamStatus,
    Verdict,
)

SESSION_AT_SETUP = "session-at-setup"
DB_AT_SETUP = "db-at-setup"
#: Flask-Admin documents ModelView(Model, db) from this release on.
DB_FORM_SINCE = Version("2.1")


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    recommended_pattern: str | None = None
    flaky: bool = False
    # The recommended pattern passes, and Flask-Admin warned it is deprecated: its words.
    deprecation: str | None = None

    @property
    def flags(self) -> tuple[str, ...]:
        return (("flaky",) if self.flaky else ()) + (("deprecated",) if self.deprecation else ())


def documented_pattern(installed: Mapping[str, str]) -> str:
    """The registration pattern the installed Flask-Admin's documentation shows."""
    try:
        version = Version(installed.get("flask-admin", "0"))
    except InvalidVersion:
        return SESSION_AT_SETUP
    return DB_AT_SETUP if version >= DB_FORM_SINCE else SESSION_AT_SETUP


def judge(
    outcomes: Sequence[CheckOutcome],
    *,
    installed: Mapping[str, str],
    deprecations: Mapping[str, Sequence[str]] | None = None,
) -> Judgement:
    """The verdict of a cell whose suite ran to the end and reported ``outcomes``.

    ``deprecations`` (pattern to Flask-Admin's DeprecationWarnings for it) flags a verdict
    whose recommended pattern passes today but is announced to go: a workaround that breaks
    in the next major release is not a lasting answer.
    """
    judgement = _judge(outcomes, installed=installed)
    warned = (deprecations or {}).get(judgement.recommended_pattern or "", ())
    if judgement.verdict in ("compatible", "workaround") and warned:
        return replace(judgement, deprecation=_first_line(warned[0], limit=500))
    return judgement


def _judge(outcomes: Sequence[CheckOutcome], *, installed: Mapping[str, str]) -> Judgement:
    flaky = any(o.flaky for o in outcomes)
    startup = [o for o in outcomes if o.check == STARTUP_CHECK]
    if any(o.outcome != "passed" for o in startup):
        failed = next(o for o in startup if o.outcome != "passed")
        why = _first_line(failed.message)
        if not why.startswith("the stack did not start"):
            why = f"the stack did not start: {why}"
        return Judgement("incompatible", why, flaky=flaky)
    by_pattern = {p: {o.check: o for o in outcomes if o.pattern == p} for p in PATTERN_IDS}
    documented = documented_pattern(installed)
    if _passes(by_pattern[documented]):
        return Judgement(
            "compatible",
            f"the documented pattern ({documented}) passes every check",
            documented,
            flaky,
        )
    failing = _failures(by_pattern[documented])
    for pattern in PATTERN_IDS:
        if pattern != documented and _passes(by_pattern[pattern]):
            return Judgement(
                "workaround",
                f"{documented} fails ({failing}); use {pattern}, which passes every check",
                pattern,
                flaky,
            )
    return Judgement(
        "incompatible",
        f"no pattern passes every check; {documented} fails ({failing})",
        None,
        flaky,
    )


def missing_checks(outcomes: Sequence[CheckOutcome]) -> list[str]:
    """Pattern x check pairs the suite should have reported and did not (a harness fault)."""
    seen = {o.key for o in outcomes}
    if any(o.check == STARTUP_CHECK and o.outcome != "passed" for o in outcomes):
        return []
    if not any(o.check == STARTUP_CHECK for o in outcomes):
        return [STARTUP_CHECK]
    return [f"{p}/{c}" for p in PATTERN_IDS for c in CHECK_IDS if (p, c) not in seen]


def _passes(checks: Mapping[str, CheckOutcome]) -> bool:
    return all(c in checks and checks[c].outcome == "passed" for c in CHECK_IDS)


def _failures(checks: Mapping[str, CheckOutcome]) -> str:
    failed = [
        f"{c}: {_first_line(checks[c].message)}" if checks[c].message else c
        for c in CHECK_IDS
        if c in checks and checks[c].outcome in ("failed", "error")
    ]
    if not failed:
        construct = checks.get("construct")
        return f"construct: {_first_line(construct.message)}" if construct else "not run"
    return "; ".join(failed[:2]) + (f"; and {len(failed) - 2} more" if len(failed) > 2 else "")


def _first_line(text: str, limit: int = 200) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


#: Failures listed per cell; the counts always cover them all.
MAX_FAILURES = 100


def judge_report(report: UpstreamReport) -> tuple[UpstreamStatus, str]:
    """``ran`` with its counts, or ``n/a`` when the suite could not be collected here."""
    if report.uncollected:
        first = next(f for f in report.failures if f.nodeid == report.uncollected[0])
        modules = ", ".join(Path(m).name for m in report.uncollected)
        cause = first.message.splitlines()[-1] if first.message else "see the log"
        # An ImportError names the file it looked in: a path of this machine, noise here.
        cause = _TRAILING_PATH.sub("", cause)
        return "n/a", f"could not collect {modules}: {cause}"
    if report.counts.total == 0:
        return "n/a", "the suite collected no tests"
    return "ran", report.counts.summary()


def listed_failures(report: UpstreamReport) -> tuple[UpstreamFailure, ...]:
    """The failures a result keeps: the modules that failed to collect first, then the rest."""
    first = [f for f in report.failures if f.nodeid in report.uncollected]
    rest = [f for f in report.failures if f.nodeid not in report.uncollected]
    return tuple((first + rest)[:MAX_FAILURES])
