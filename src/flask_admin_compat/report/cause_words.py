"""How both renderers speak of causes: the headline, a cause's short name, its release words.

Markdown and HTML differ only in markup; what they say about causes is chosen here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_admin_compat.grid.cause import Cause
from flask_admin_compat.grid.model import Grid, safe_link
from flask_admin_compat.report.choices import Choice

#: Verdicts of the cells the causes are there to explain.
EXPLAINED = ("incompatible", "workaround")


def headline(grid: Grid) -> str:
    """``13 causes explain 223 cells (150 incompatible, 73 workaround)``.

    Causes can also name compatible cells (a pattern other than the documented one failed
    there); the headline counts only the cells they are there to explain.
    """
    troubled = [c for c in grid.cells if c.verdict in EXPLAINED]
    covered = {cell for cause in grid.causes for cell in cause.cells}
    explained = [c for c in troubled if c.cell_id in covered]
    parts = [f"{sum(1 for c in explained if c.verdict == v)} {v}" for v in EXPLAINED]
    noun = "cause explains" if len(grid.causes) == 1 else "causes explain"
    text = f"{len(grid.causes)} {noun} {len(explained)} cells ({', '.join(parts)})"
    if len(explained) < len(troubled):
        text += f"; {len(troubled) - len(explained)} such cells have no cause found"
    return text


def numbers(grid: Grid) -> Mapping[str, int]:
    """Cause id to its number on the page (1 for the cause with the most cells)."""
    return {cause.id: index for index, cause in enumerate(grid.causes, start=1)}


def anchor(cause: Cause) -> str:
    return f"cause-{cause.id}"


def release_words(cause: Cause) -> str:
    """``first bad: Flask-Admin 2.2.1 (after 2.2.0)``; empty where no neighbours say."""
    parts = []
    if cause.first_bad is not None:
        parts.append(
            f"first bad: Flask-Admin {cause.first_bad.version} (after {cause.first_bad.after})"
        )
    if cause.first_fixed is not None:
        parts.append(
            f"first fixed: Flask-Admin {cause.first_fixed.version} (after {cause.first_fixed.after})"
        )
    return "; ".join(parts)


def where_words(cause: Cause) -> str:
    """``per-request, teardown with in-app-context, on create and inline models``."""
    if cause.patterns == ("*",):
        return "the stack does not start"
    text = f"{', '.join(cause.checks)} with {', '.join(cause.patterns)}"
    return text + (f", on {', '.join(cause.surfaces)}" if cause.surfaces else "")


@dataclass(frozen=True)
class Fact:
    """One labelled line about a cause; ``link`` is where its text points, if anywhere."""

    label: str
    text: str
    link: str | None = None


def facts(cause: Cause) -> tuple[Fact, ...]:
    """What both pages say of a cause, in order: where, which cells, releases, upstream."""
    found = [Fact("Where", where_words(cause)), Fact(f"Cells ({len(cause.cells)})", cause.shared)]
    releases = release_words(cause)
    if releases:
        found.append(Fact("Releases", releases))
    if cause.upstream is not None:
        text = f"{cause.upstream.label}: {cause.upstream.title}"
        found.append(Fact("Upstream", text, safe_link(cause.upstream.url)))
    return tuple(found)


def reproduce_command(cause: Cause) -> str:
    """How a reader runs the cause's reproduction, from the grid's folder."""
    return f"uv run --script repro/{cause.id}.py"


def choice_words(choice: Choice) -> str:
    """What a reader should do, in words both renderers escape their own way."""
    if choice.verdict in ("compatible", "workaround") and choice.pattern:
        how = "the documented registration" if choice.documented else "the workaround"
        return f"{choice.stack}, with {how} {choice.pattern}"
    if choice.verdict == "incompatible":
        return "nothing the suite knows works here"
    if choice.verdict == "uninstallable":
        return "does not install"
    return "nothing measured"
