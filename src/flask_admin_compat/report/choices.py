"""What to use: for each backend install set and Flask-Admin series, the best the grid measured.

Computed from the cells, never written by hand: the newest compatible stack; where there is
none, the newest workaround and its pattern (flagged when Flask-Admin says the pattern is
deprecated); where there is neither, the causes that stand in the way. A hand-written summary
goes stale with the next run; this is the next run's own answer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from flask_admin_compat.grid.model import Grid, GridCell, spec_sort_key
from flask_admin_compat.matrix.matrix import BACKENDS
from flask_admin_compat.results.release_flags import RELEASE_FLAGS
from flask_admin_compat.results.verdict import documented_pattern

FLASK_ADMIN = "flask-admin"
#: What a group of cells answers, best first.
_BEST: tuple[str, ...] = ("compatible", "workaround", "incompatible", "uninstallable")


@dataclass(frozen=True)
class Choice:
    """The answer for one install set and one Flask-Admin series."""

    install_set: str  # ``flask-sqlalchemy-lite 0.2.* with flask-sqlalchemy 3.1.* beside``
    series: str  # ``2.2``
    verdict: str  # the best verdict any of its cells has
    cell_id: str | None  # the cell that shows it (the newest stack), None if none ran
    stack: str = ""  # ``Flask-Admin 2.2.1, Flask 3.1.3, SQLAlchemy 2.1.0, Python 3.13``
    pattern: str | None = None  # the registration pattern to use
    documented: bool = False  # the pattern is the one the installed Flask-Admin documents
    deprecation: str | None = None  # Flask-Admin's warning about that pattern
    causes: tuple[str, ...] = ()  # where nothing works: the causes of its cells, most first


def what_to_use(grid: Grid) -> tuple[Choice, ...]:
    """One choice per install set and Flask-Admin series, in the order of their versions."""
    groups: dict[tuple[str, str], list[GridCell]] = {}
    for cell in grid.cells:
        series = _series(cell)
        # Never a pre-release or an unreleased build: nothing a user installs as it stands.
        offered = not any(flag in cell.flags for flag in RELEASE_FLAGS)
        if series is None or cell.unreadable is not None or not offered:
            continue
        groups.setdefault((install_set(cell), series), []).append(cell)
    choices = [_choose(key, cells, grid) for key, cells in groups.items()]
    return tuple(sorted(choices, key=_order))


def install_set(cell: GridCell) -> str:
    """The backend under test and what its install set puts beside it, as the matrix says."""
    backends = [b for b in BACKENDS if b in cell.requested]
    if not backends:
        return "no backend"
    # Lite is the backend under test whenever it is installed: Flask-SQLAlchemy is only ever
    # put beside it, never the other way round.
    lead = backends[-1]
    text = f"{lead} {cell.requested[lead]}"
    beside = [f"{b} {cell.requested[b]}" for b in backends if b != lead]
    return f"{text} with {', '.join(beside)} beside" if beside else text


def _series(cell: GridCell) -> str | None:
    installed = cell.installed.get(FLASK_ADMIN)
    text = installed or cell.requested.get(FLASK_ADMIN, "").removesuffix(".*")
    parts = text.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 and all(p.isdigit() for p in parts[:2]) else None


def _choose(key: tuple[str, str], cells: Sequence[GridCell], grid: Grid) -> Choice:
    install, series = key
    for verdict in ("compatible", "workaround"):
        found = [c for c in cells if c.verdict == verdict]
        if found:
            best = min(found, key=_newest_first)
            pattern = best.recommended_pattern
            return Choice(
                install,
                series,
                verdict,
                best.cell_id,
                stack_words(best),
                pattern,
                pattern is not None and pattern == documented_pattern(best.installed),
                best.deprecation,
            )
    ran = [c for c in cells if c.verdict == "incompatible"]
    if ran:
        counted = Counter(cause.id for c in ran for cause in grid.causes_of(c.cell_id))
        causes = tuple(cause for cause, _ in counted.most_common())
        return Choice(install, series, "incompatible", None, causes=causes)
    verdict = "uninstallable" if any(c.verdict == "uninstallable" for c in cells) else "error"
    return Choice(install, series, verdict, None)


def stack_words(cell: GridCell) -> str:
    """``Flask-Admin 2.2.1, Flask 3.1.3, SQLAlchemy 2.1.0, Python 3.13.1``: what installed."""
    names = (("flask-admin", "Flask-Admin"), ("flask", "Flask"), ("sqlalchemy", "SQLAlchemy"))
    parts = [f"{name} {cell.installed[p]}" for p, name in names if p in cell.installed]
    parts += [f"{b} {cell.installed[b]}" for b in BACKENDS if b in cell.installed]
    if cell.python_version:
        parts.append(f"Python {cell.python_version}")
    return ", ".join(parts)


def _newest_first(cell: GridCell) -> tuple[tuple[int, ...], ...]:
    texts = [cell.installed.get(p, "") for p in (FLASK_ADMIN, "flask", "sqlalchemy", *BACKENDS)]
    return (*(_descending(t) for t in texts), _descending(cell.python_version or ""), ())


def _descending(text: str) -> tuple[int, ...]:
    try:
        return (0, *(-part for part in Version(text).release))
    except InvalidVersion:
        return (1,)


def _order(choice: Choice) -> tuple[object, ...]:
    return (choice.install_set, spec_sort_key(choice.series), _rank(choice.verdict))


def _rank(verdict: str) -> int:
    return _BEST.index(verdict) if verdict in _BEST else len(_BEST)
