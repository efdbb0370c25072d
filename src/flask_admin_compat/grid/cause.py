"""A cause as the grid keeps it: the model and its JSON form (grouping is ``causes.py``).

Apart from the grouping so that ``model.py`` can hold causes in a :class:`Grid` and read and
write them without importing the code that finds them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_admin_compat.checks.ids import ANY_PATTERN


@dataclass(frozen=True)
class UpstreamIssue:
    """The upstream report a cause is known as (from ``known-issues.toml``)."""

    repository: str
    number: int
    title: str

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repository}/issues/{self.number}"

    @property
    def label(self) -> str:
        return f"{self.repository}#{self.number}"


@dataclass(frozen=True)
class Release:
    """A first bad or first fixed release, and the release before it that the grid measured."""

    version: str
    after: str


@dataclass(frozen=True)
class Cause:
    """One upstream behaviour behind failed checks in many cells."""

    id: str
    signature: str  # the normalised message
    raised: bool
    patterns: tuple[str, ...]  # ``*`` alone for a failure of the stack as a whole
    checks: tuple[str, ...]
    surfaces: tuple[str, ...]
    cells: tuple[str, ...]
    shared: str  # the versions its cells share, in axis terms
    example: str  # the cell its reproduction is built from
    example_pattern: str  # the pattern the reproduction registers views with
    example_surfaces: tuple[str, ...]  # the surfaces it exercises
    first_bad: Release | None = None
    first_fixed: Release | None = None
    upstream: UpstreamIssue | None = None

    @property
    def summary(self) -> str:
        """One line: what fails and under which registration, for headings and feeds."""
        if self.patterns == (ANY_PATTERN,):
            where = "the stack does not start"
        else:
            where = f"{', '.join(self.checks)} with {', '.join(self.patterns)}"
        return f"{self.signature} ({where})"


def cause_to_json(cause: Cause) -> dict[str, Any]:
    return {
        "id": cause.id,
        "summary": cause.summary,
        "signature": cause.signature,
        "raised": cause.raised,
        "patterns": list(cause.patterns),
        "checks": list(cause.checks),
        "surfaces": list(cause.surfaces),
        "cells": list(cause.cells),
        "shared": cause.shared,
        "example": {
            "cell_id": cause.example,
            "pattern": cause.example_pattern,
            "surfaces": list(cause.example_surfaces),
        },
        "first_bad": _release_to_json(cause.first_bad),
        "first_fixed": _release_to_json(cause.first_fixed),
        "upstream": None
        if cause.upstream is None
        else {
            "repository": cause.upstream.repository,
            "number": cause.upstream.number,
            "title": cause.upstream.title,
            "url": cause.upstream.url,
        },
    }


def _release_to_json(release: Release | None) -> dict[str, str] | None:
    return None if release is None else {"version": release.version, "after": release.after}


def cause_from_json(data: Mapping[str, Any]) -> Cause:
    """The inverse of :func:`cause_to_json`, for data the grid schema has validated."""
    upstream = data.get("upstream")
    example = data["example"]
    return Cause(
        id=data["id"],
        signature=data["signature"],
        raised=data["raised"],
        patterns=tuple(data["patterns"]),
        checks=tuple(data["checks"]),
        surfaces=tuple(data["surfaces"]),
        cells=tuple(data["cells"]),
        shared=data["shared"],
        example=example["cell_id"],
        example_pattern=example["pattern"],
        example_surfaces=tuple(example["surfaces"]),
        first_bad=_release_from_json(data.get("first_bad")),
        first_fixed=_release_from_json(data.get("first_fixed")),
        upstream=None
        if upstream is None
        else UpstreamIssue(upstream["repository"], upstream["number"], upstream["title"]),
    )


def _release_from_json(data: Mapping[str, str] | None) -> Release | None:
    return None if data is None else Release(data["version"], data["after"])
