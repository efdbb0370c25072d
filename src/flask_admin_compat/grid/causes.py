"""From failed checks in many cells to a few causes: what fails, where, since and until when.

A cell's *evidence* is each check that failed in it, for one registration pattern (or the
stack as a whole, for ``startup``), with the surfaces it found at fault and the message's
:func:`~flask_admin_compat.grid.signature.signature`. Evidence is grouped in three steps, each
a pure function of the grid:

1. An observation made only on surfaces whose requests already raised (``none of the admin
   requests ran a query through a session``, after every list request answered 500) is a
   consequence of that exception, in that cell and pattern: it joins the exception's cause.
   The other way round, an exception SQLAlchemy raises for one Session used by two threads at
   once (``IllegalStateChangeError``), in a cell and pattern where a Session was seen shared,
   is a consequence of the sharing, and which one a run meets is down to timing: it joins
   the sharing's cause.
2. Evidence quoting the same exception is one cause where its *pattern families* nest: the
   family is the set of patterns the exception shows under in one cell. ``'tuple' object has no
   attribute 'items'`` under all four patterns on Flask-SQLAlchemy, and under the three that
   can be built on lite, is one cause; the same text under two patterns that never meet would
   be two.
3. Observations without an exception (``two create requests shared one Session``) are one
   cause per pattern, check and surfaces; and those seen only in cells where a larger one of
   the same pattern is seen too (a check's view of the same kept Session) join it.

A cause then carries its cells, the versions they share in axis terms, the first bad and first
fixed Flask-Admin release where the matrix has a cell for each release, and the upstream issue
a hand-kept ``known-issues.toml`` maps it to.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from packaging.version import InvalidVersion, Version

from flask_admin_compat.checks.ids import ANY_PATTERN, PATTERN_IDS
from flask_admin_compat.grid.cause import Cause, Release, UpstreamIssue
from flask_admin_compat.grid.model import Grid, GridCell
from flask_admin_compat.grid.releases import exact_version
from flask_admin_compat.grid.signature import signature
from flask_admin_compat.results.model import STARTUP_CHECK, check_rank
from flask_admin_compat.results.verdict import documented_pattern

#: The family of a failure that stops the stack before any pattern is built.
STACK = "stack"
FLASK_ADMIN = "flask-admin"
_FAILING = ("failed", "error")
#: Verdicts of cells where something was measured: the others say nothing about a cause.
_MEASURED = ("compatible", "workaround", "incompatible")


@dataclass(frozen=True)
class Evidence:
    """One failed check in one cell, reduced to what can be compared across cells."""

    cell_id: str
    pattern: str  # ``*`` for the stack-wide startup check
    check: str
    surfaces: tuple[str, ...]
    signature: str
    raised: bool


def evidence(cell: GridCell) -> tuple[Evidence, ...]:
    """Every failed check of ``cell`` as evidence; none for a cell that measured nothing."""
    if cell.unreadable is not None or cell.verdict not in _MEASURED:
        return ()
    found: list[Evidence] = []
    for outcome in cell.checks:
        if outcome.outcome not in _FAILING:
            continue
        sig = signature(outcome.message or outcome.check)
        found.append(
            Evidence(
                cell.cell_id,
                outcome.pattern,
                outcome.check,
                tuple(outcome.failed_surfaces),
                sig.text,
                sig.raised,
            )
        )
    return tuple(found)


@dataclass(frozen=True)
class _Group:
    """Evidence on its way to becoming a cause: its key, and every piece of it."""

    key: str
    items: tuple[Evidence, ...]

    @property
    def cells(self) -> frozenset[str]:
        return frozenset(e.cell_id for e in self.items)


def find_causes(
    cells: Sequence[GridCell], *, known: Sequence[KnownIssueLike] = ()
) -> tuple[Cause, ...]:
    """Group the failing evidence of ``cells`` into causes, most cells first."""
    items = [e for cell in cells for e in evidence(cell)]
    attached = _attach_races(_attach_consequences(items))
    groups = [*_raised_groups(attached), *_observed_groups(attached)]
    by_id = {c.cell_id: c for c in cells}
    causes = [_cause(group, by_id, cells) for group in groups]
    causes = [replace(c, upstream=_upstream(c, known)) for c in causes]
    return tuple(sorted(causes, key=lambda c: (-len(c.cells), c.id)))


def _attach_consequences(items: Sequence[Evidence]) -> list[Evidence]:
    """Observations on surfaces that already raised take their exception's signature."""
    raised: dict[tuple[str, str], list[Evidence]] = {}
    for item in items:
        if item.raised and item.pattern != ANY_PATTERN:
            raised.setdefault((item.cell_id, item.pattern), []).append(item)
    out: list[Evidence] = []
    for item in items:
        cause = None
        if not item.raised:
            cause = next(
                (
                    r
                    for r in raised.get((item.cell_id, item.pattern), ())
                    if item.surfaces and set(item.surfaces) <= set(r.surfaces)
                ),
                None,
            )
        out.append(item if cause is None else replace(item, signature=cause.signature, raised=True))
    return out


#: What SQLAlchemy raises when two threads use one Session at once (its "isce" errors): which
#: of them a run meets depends on how the threads interleave.
RACE_SIGNATURES = re.compile(r"IllegalStateChangeError|concurrent operations are not permitted")
#: An observation of one Session serving more than one request.
SHARED = "shared one Session"


def _attach_races(items: Sequence[Evidence]) -> list[Evidence]:
    """A race on a shared Session takes the signature of the sharing seen in that cell and
    pattern (the largest such observation)."""
    shared: dict[tuple[str, str], Evidence] = {}
    for item in items:
        if not item.raised and SHARED in item.signature:
            known = shared.get((item.cell_id, item.pattern))
            if known is None or len(item.surfaces) > len(known.surfaces):
                shared[(item.cell_id, item.pattern)] = item
    out: list[Evidence] = []
    for item in items:
        sharing = shared.get((item.cell_id, item.pattern))
        if item.raised and sharing is not None and RACE_SIGNATURES.search(item.signature):
            item = replace(item, signature=sharing.signature, raised=False)
        out.append(item)
    return out


def _raised_groups(items: Sequence[Evidence]) -> list[_Group]:
    """Step 2: one group per exception and nesting chain of pattern families."""
    by_signature: dict[tuple[bool, str], list[Evidence]] = {}
    for item in items:
        if item.raised:
            stack = item.pattern == ANY_PATTERN
            by_signature.setdefault((stack, item.signature), []).append(item)
    groups: list[_Group] = []
    for (stack, text), members in sorted(by_signature.items()):
        families: dict[str, set[str]] = {}
        for item in members:
            families.setdefault(item.cell_id, set()).add(item.pattern)
        chains = _nesting_chains({frozenset(f) for f in families.values()})
        for index, chain in enumerate(chains):
            chosen = [m for m in members if frozenset(families[m.cell_id]) in chain]
            key = f"{STACK if stack else 'raised'}|{text}|{index}"
            groups.append(_Group(key, tuple(chosen)))
    return groups


def _nesting_chains(families: set[frozenset[str]]) -> list[set[frozenset[str]]]:
    """Families joined where one holds the other, largest first; disjoint ones stay apart."""
    chains: list[set[frozenset[str]]] = []
    for family in sorted(families, key=lambda f: (-len(f), sorted(f))):
        home = next((c for c in chains if any(family <= member for member in c)), None)
        if home is None:
            chains.append({family})
        else:
            home.add(family)
    return chains


def _observed_groups(items: Sequence[Evidence]) -> list[_Group]:
    """Step 3: observations by pattern, check and surfaces; contained ones join the larger."""
    keyed: dict[str, list[Evidence]] = {}
    for item in items:
        if not item.raised:
            key = f"observed|{item.pattern}|{item.check}|{','.join(item.surfaces)}|{item.signature}"
            keyed.setdefault(key, []).append(item)
    ordered = sorted(
        (_Group(k, tuple(v)) for k, v in keyed.items()),
        key=lambda g: (-len(g.cells), g.key),
    )
    merged: list[_Group] = []
    for group in ordered:
        pattern = group.items[0].pattern
        index = next(
            (
                i
                for i, home in enumerate(merged)
                if home.items[0].pattern == pattern and group.cells <= home.cells
            ),
            None,
        )
        if index is None:
            merged.append(group)
        else:
            home = merged[index]
            merged[index] = _Group(home.key, (*home.items, *group.items))
    return merged


def _cause(group: _Group, by_id: Mapping[str, GridCell], every: Sequence[GridCell]) -> Cause:
    items = group.items
    cells = tuple(sorted(group.cells))
    members = [by_id[c] for c in cells]
    example = _example(members, items)
    on_example = [e for e in items if e.cell_id == example.cell_id]
    pattern = _example_pattern(example, on_example)
    surfaces = tuple(
        dict.fromkeys(s for e in on_example if e.pattern == pattern for s in e.surfaces)
    )
    lead = max(items, key=lambda e: (e.raised, -check_rank(e.check)[0]))
    # The id's first word: the first pattern in the suite's order, whatever order cells came in.
    patterns = _ordered_patterns(e.pattern for e in items)
    bad, fixed = _releases(members, every, frozenset(group.cells))
    return Cause(
        id=_cause_id(group.key, lead.signature, patterns[0]),
        signature=lead.signature,
        raised=lead.raised,
        patterns=patterns,
        checks=tuple(sorted({e.check for e in items}, key=check_rank)),
        surfaces=tuple(dict.fromkeys(s for e in items for s in e.surfaces)),
        cells=cells,
        shared=shared_versions(members, every),
        example=example.cell_id,
        example_pattern=pattern,
        example_surfaces=surfaces,
        first_bad=bad,
        first_fixed=fixed,
    )


def _ordered_patterns(patterns: Iterable[str]) -> tuple[str, ...]:
    seen = set(patterns)
    return tuple(p for p in (ANY_PATTERN, *PATTERN_IDS) if p in seen) + tuple(
        sorted(seen - {ANY_PATTERN, *PATTERN_IDS})
    )


def _example(members: Sequence[GridCell], items: Sequence[Evidence]) -> GridCell:
    """The cell a reproduction pins: one whose documented pattern shows the cause, newest first.

    Newest versions first, since that is what a reader would install today and what upstream
    asks a report to be about.
    """
    shown = {(e.cell_id, e.pattern) for e in items}

    def key(cell: GridCell) -> tuple[Any, ...]:
        documented = (cell.cell_id, documented_pattern(cell.installed)) in shown
        return (not documented, _newest_first(cell), cell.cell_id)

    return min(members, key=key)


def _newest_first(cell: GridCell) -> tuple[tuple[int, ...], ...]:
    """A sort key that puts the newest Flask-Admin, Flask, SQLAlchemy and Python first."""
    texts = [cell.installed.get(p, "") for p in ("flask-admin", "flask", "sqlalchemy")]
    return tuple(_descending(_version(t)) for t in (*texts, cell.python_version or ""))


def _descending(version: Version | None) -> tuple[int, ...]:
    return (1,) if version is None else (0, *(-part for part in version.release))


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _example_pattern(cell: GridCell, on_cell: Sequence[Evidence]) -> str:
    patterns = [e.pattern for e in on_cell]
    documented = documented_pattern(cell.installed)
    if ANY_PATTERN in patterns or not patterns:
        return ANY_PATTERN  # the stack does not start: no pattern to build, only the app
    return documented if documented in patterns else _ordered_patterns(patterns)[0]


def _cause_id(key: str, text: str, pattern: str) -> str:
    """A readable, stable id: the exception's or observation's words, and a short hash."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace("_", ""))
    stop = {"the", "a", "an", "of", "object", "has", "no", "from", "to", "in", "was", "not"}
    kept = [w for w in words if w not in stop][:5]
    lead = STACK if pattern == ANY_PATTERN else pattern
    digest = hashlib.sha256(key.encode()).hexdigest()[:6]
    return "-".join([lead, *kept, digest])


# --- the versions a cause's cells share ------------------------------------------------------

#: How an axis is named in a sentence.
_NAMES: Mapping[str, str] = {
    "python": "Python",
    "flask": "Flask",
    "flask-admin": "Flask-Admin",
    "sqlalchemy": "SQLAlchemy",
    "flask-sqlalchemy": "Flask-SQLAlchemy",
    "flask-sqlalchemy-lite": "flask-sqlalchemy-lite",
    "wtforms": "WTForms",
    "database": "database",
}
_BACKENDS = ("flask-sqlalchemy", "flask-sqlalchemy-lite")


def shared_versions(members: Sequence[GridCell], every: Sequence[GridCell]) -> str:
    """``Flask-Admin 2.2.1 with flask-sqlalchemy-lite 0.1 and 0.2 alone, on every Python ...``.

    Each axis is named with the releases its cells installed (Flask-Admin) or the series
    (the rest), or the specs they asked for where nothing installed; an axis whose every
    measured value in the grid is among them is ``every``. An axis the matrix never varies, or
    that only some of the cells name (an ``[[include]]``'s WTForms pin), says nothing here.
    """
    measured = [c for c in every if c.verdict in _MEASURED]
    present = [a for a in dict.fromkeys(a for c in members for a in c.requested)]
    axes = sorted(present, key=lambda a: a != FLASK_ADMIN)
    named: list[str] = []
    everything: list[str] = []
    for axis in axes:
        if axis in _BACKENDS or not all(axis in c.requested for c in members):
            continue
        values, universe = _values(axis, members), _values(axis, measured)
        if len(universe) <= 1:
            continue
        if values >= universe:
            everything.append(_NAMES.get(axis, axis))
        else:
            named.append(f"{_NAMES.get(axis, axis)} {_join(sorted(values, key=_release_key))}")
    text = (named[0] if named else "Every stack") + _backend_words(members)
    if named[1:]:
        text += ", on " + ", ".join(named[1:])
    if everything:
        text += (", and" if named[1:] else ",") + " on every " + _join(everything)
        text += " of the matrix"
    return text


def _values(axis: str, cells: Iterable[GridCell]) -> set[str]:
    found: set[str] = set()
    for cell in cells:
        if axis not in cell.requested:
            continue
        if axis == "python":
            installed = ".".join((cell.python_version or "").split(".")[:2])
        else:
            installed = cell.installed.get(axis, "")
        if not installed:
            found.add(cell.requested[axis].removesuffix(".*"))
        else:
            found.add(installed if axis == FLASK_ADMIN else _series(installed))
    return found


def _series(version: str) -> str:
    """Dependencies are named by series (``SQLAlchemy 2.0``); Flask-Admin by release."""
    return ".".join(version.split(".")[:2])


def _release_key(text: str) -> tuple[Any, ...]:
    parsed = _version(text.removesuffix(".*"))
    return (0, parsed) if parsed is not None else (1, text)


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _backend_words(members: Sequence[GridCell]) -> str:
    """`` with flask-sqlalchemy-lite 0.1 and 0.2 alone or Flask-SQLAlchemy 2.5``.

    Lite is the one backend the matrix also installs with Flask-SQLAlchemy beside it, so lite
    on its own is said to be ``alone``, and the pair is named as lite with the other beside.
    """
    sets: dict[tuple[str, ...], list[GridCell]] = {}
    for cell in members:
        sets.setdefault(tuple(b for b in _BACKENDS if b in cell.requested), []).append(cell)
    words: list[str] = []
    for backends, cells in sorted(sets.items(), key=lambda kv: (len(kv[0]), kv[0])):
        specs = {b: _join(sorted(_values(b, cells), key=_release_key)) for b in backends}
        if backends == ("flask-sqlalchemy-lite",):
            words.append(f"flask-sqlalchemy-lite {specs[backends[0]]} alone")
        elif len(backends) == 1:
            words.append(f"{_NAMES[backends[0]]} {specs[backends[0]]}")
        elif backends:
            lead, *others = sorted(backends, key=lambda b: b != "flask-sqlalchemy-lite")
            beside = " and ".join(f"{_NAMES[b]} {specs[b]}" for b in others)
            words.append(f"{_NAMES[lead]} {specs[lead]} with {beside} beside")
    return f" with {' or '.join(words)}" if words else ""


# --- first bad and first fixed release ---------------------------------------------------------


def _releases(
    members: Sequence[GridCell], every: Sequence[GridCell], cause_cells: frozenset[str]
) -> tuple[Release | None, Release | None]:
    """The first Flask-Admin release showing the cause, and the first after it that does not.

    Only cells that pin an exact release count (the matrix's ``each = "patch"`` cells), and
    only neighbours that differ in nothing else: a series cell says nothing about a release.
    A release counts as fixed only where its cell measured something and the cause is gone.
    """
    groups: dict[tuple[tuple[str, str], ...], list[tuple[Version, GridCell]]] = {}
    for cell in every:
        version = exact_version(cell.requested.get(FLASK_ADMIN))
        if version is None or cell.verdict not in _MEASURED:
            continue
        rest = tuple(sorted((a, s) for a, s in cell.requested.items() if a != FLASK_ADMIN))
        groups.setdefault(rest, []).append((version, cell))
    bad: list[Release] = []
    fixed: list[Release] = []
    for members_of in groups.values():
        members_of.sort(key=lambda item: item[0])
        shows = [cell.cell_id in cause_cells for _, cell in members_of]
        for index in range(1, len(members_of)):
            before_v, (after_v, after) = members_of[index - 1][0], members_of[index]
            if shows[index] and not shows[index - 1]:
                bad.append(Release(str(after_v), str(before_v)))
            if shows[index - 1] and not shows[index] and not _stopped(after):
                fixed.append(Release(str(after_v), str(before_v)))
    return _earliest(bad), _earliest(fixed)


def _stopped(cell: GridCell) -> bool:
    """Whether the stack failed before any pattern ran: a cause hidden, not fixed."""
    return any(c.check == STARTUP_CHECK and c.outcome in _FAILING for c in cell.checks)


def _earliest(found: Sequence[Release]) -> Release | None:
    return min(found, key=lambda r: Version(r.version), default=None)


# --- the upstream issue ------------------------------------------------------------------------


class KnownIssueLike(Protocol):
    """What :func:`find_causes` needs of a ``known-issues.toml`` entry (see ``known.py``)."""

    @property
    def issue(self) -> UpstreamIssue: ...

    def matches(self, cause: Cause) -> bool: ...


def _upstream(cause: Cause, known: Sequence[KnownIssueLike]) -> UpstreamIssue | None:
    return next((k.issue for k in known if k.matches(cause)), None)


def with_causes(grid: Grid, *, known: Sequence[KnownIssueLike] = ()) -> Grid:
    """The grid with its causes found afresh from its cells (a carried grid's old ones dropped)."""
    return replace(grid, causes=find_causes(grid.cells, known=known))
