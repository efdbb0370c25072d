"""``known-issues.toml``: which upstream issue a cause is, kept by hand and schema-checked.

A cause's id is a hash of its evidence, which a person cannot write down ahead of time; an
entry instead says what the cause looks like (a regular expression over its normalised message,
and optionally its patterns, checks or surfaces), so that it keeps matching as cells come and
go. Only issues someone has read belong here: each entry names its repository and number.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from flask_admin_compat.grid.cause import Cause, UpstreamIssue
from flask_admin_compat.jsonio import FileProblem, schema_problem, value_at

KNOWN_FILE = "known-issues.toml"
KNOWN_SCHEMA = "known-issues"


class KnownIssuesError(FileProblem):
    """A problem in known-issues.toml, said in one line naming the key and the value."""

    def __init__(self, name: str, key: str, value: object, problem: str) -> None:
        super().__init__(f"{name}: {key} = {value!r}: {problem}")


@dataclass(frozen=True)
class KnownIssue:
    """One entry: the upstream issue, and what a cause must look like to be it."""

    issue: UpstreamIssue
    message: re.Pattern[str]
    patterns: frozenset[str] = frozenset()
    checks: frozenset[str] = frozenset()
    surfaces: frozenset[str] = frozenset()

    def matches(self, cause: Cause) -> bool:
        """Its message matches, and each list given shares a member with the cause's own."""
        return (
            self.message.search(cause.signature) is not None
            and _meets(self.patterns, cause.patterns)
            and _meets(self.checks, cause.checks)
            and _meets(self.surfaces, cause.surfaces)
        )


def _meets(wanted: frozenset[str], present: Sequence[str]) -> bool:
    return not wanted or bool(wanted & set(present))


@cache
def _packaged_text() -> str:
    return resources.files("flask_admin_compat").joinpath(KNOWN_FILE).read_text(encoding="utf-8")


def load_known(path: Path | None = None) -> tuple[KnownIssue, ...]:
    """Read and validate the known issues (the packaged file unless ``path`` names one)."""
    name = KNOWN_FILE if path is None else str(path)
    try:
        text = _packaged_text() if path is None else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnownIssuesError(name, "(file)", name, f"cannot be read: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KnownIssuesError(name, "(file)", name, f"not valid TOML: {exc}") from None
    return parse_known(raw, name=name)


def parse_known(raw: Mapping[str, Any], *, name: str = KNOWN_FILE) -> tuple[KnownIssue, ...]:
    """Validate parsed TOML against ``schema/known-issues.schema.json``, then each regex."""
    problem = schema_problem(raw, KNOWN_SCHEMA)
    if problem is not None:
        value = value_at(raw, problem.path)
        raise KnownIssuesError(name, problem.where, value, problem.expected or problem.message)
    issues: list[KnownIssue] = []
    for index, entry in enumerate(raw["issue"]):
        try:
            message = re.compile(entry["message"])
        except re.error as exc:
            key = f"issue[{index}].message"
            raise KnownIssuesError(name, key, entry["message"], f"not a regex: {exc}") from None
        issues.append(
            KnownIssue(
                UpstreamIssue(entry["repository"], entry["number"], entry["title"]),
                message,
                frozenset(entry.get("patterns", ())),
                frozenset(entry.get("checks", ())),
                frozenset(entry.get("surfaces", ())),
            )
        )
    return tuple(issues)
