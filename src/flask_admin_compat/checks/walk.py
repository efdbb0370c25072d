"""A walk: requests sent one after another, each recorded right when it ended.

A visit records the Sessions its request used and what they still held, the pooled
connections it left checked out (counted as a change, so that a connection kept by one
surface is not blamed on every later one), server transactions left idle, and whether its
effect is what was asked. The checks of :mod:`.judge` read the record; they send nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from .observe import PoolCount, leftovers
from .probe import Answer, FormData, Prober

#: What a page must show, or what a write must have done: empty when it is so, else why not.
Expect = Callable[[Answer], str]
Effect = Callable[[], str]


@dataclass(frozen=True)
class Visit:
    """One request of a walk and what was seen when it ended."""

    surface: str
    answer: Answer
    #: What its Sessions still held, and connections or server transactions it left open.
    leftovers: tuple[str, ...]
    #: Why its effect is not what was asked (crud's question); empty when it is.
    effect: str = ""

    @property
    def where(self) -> str:
        return f"{self.answer.method} {self.answer.path}"


@dataclass(frozen=True)
class Walked:
    """A walk's record: its visits, the surfaces it reached, and those the app lacks."""

    visits: tuple[Visit, ...]
    exercised: tuple[str, ...]
    unavailable: dict[str, str] = field(default_factory=dict)


def shows(*present: str, hidden: tuple[str, ...] = ()) -> Expect:
    """The page must show every text of ``present`` and none of ``hidden``."""

    def check(answer: Answer) -> str:
        missing = [text for text in present if text not in answer.body]
        lingering = [text for text in hidden if text in answer.body]
        said = []
        if missing:
            said.append(f"did not show {missing}")
        if lingering:
            said.append(f"still showed {lingering}")
        return " and ".join(said)

    return check


class Walker:
    """Sends a walk's requests and records each visit as it ends.

    ``server_idle`` counts the database server's connections left idle in a transaction
    (PostgreSQL; None elsewhere). ``close_after_each``: close every Session once a visit is
    recorded, so that a stack that leaks a connection a request does not starve the pool
    halfway through a walk; a Session kept across requests is still the same object, and
    the ledger catches it when it serves again.
    """

    def __init__(
        self,
        prober: Prober,
        pool: PoolCount,
        label: str,
        *,
        unavailable: dict[str, str] | None = None,
        server_idle: Callable[[], int | None] | None = None,
        close_after_each: bool = True,
    ) -> None:
        self.prober = prober
        self.pool = pool
        self.label = label
        self.unavailable = dict(unavailable or {})
        self.server_idle = server_idle or (lambda: None)
        self.close_after_each = close_after_each
        self.visits: list[Visit] = []

    def visit(
        self,
        surface: str,
        method: str,
        path: str,
        data: FormData | None = None,
        *,
        expect: Expect | None = None,
        effect: Effect | None = None,
    ) -> Answer | None:
        """One request on ``surface``; skipped (None) when the app does not offer it."""
        if surface in self.unavailable:
            return None
        pool_before = self.pool.outstanding
        idle_before = self.server_idle() or 0
        answer = self.prober.send(method, path, label=f"{self.label}-{len(self.visits)}", data=data)
        found = [item for session in answer.sessions for item in leftovers(session)]
        pool_after = self.pool.outstanding
        if pool_after > pool_before:
            found.append(f"{pool_after - pool_before} pooled connection(s) still checked out")
        idle = (self.server_idle() or 0) - idle_before
        if idle > 0:
            found.append(f"{idle} server connection(s) left idle in transaction")
        problem = ""
        if not answer.ok:
            problem = answer.describe()
        elif expect is not None and (said := expect(answer)):
            problem = f"{method} {path} {said} ({answer.describe()})"
        elif effect is not None and (said := effect()):
            problem = f"{said} ({answer.describe()})"
        self.visits.append(Visit(surface, answer, tuple(found), problem))
        if self.close_after_each:
            from sqlalchemy.orm import close_all_sessions

            close_all_sessions()
        return answer

    def walked(self) -> Walked:
        from .surfaces import in_order

        exercised = in_order(v.surface for v in self.visits)
        return Walked(tuple(self.visits), tuple(exercised), dict(self.unavailable))
