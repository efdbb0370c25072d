"""Run many cells at once with a pool of workers, reporting progress as cells finish.

Cells spend their time in subprocesses (uv, pytest), so threads are enough to keep every
core busy, and the orchestrator itself stays one small process whatever the cell count.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import IO

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.results.model import VERDICTS, CellResult

SLOW_AFTER_S = 60.0
TICK_S = 30.0


@dataclass(frozen=True)
class Finished:
    cell: Cell
    result: CellResult
    elapsed_s: float


def longest_first(cells: Sequence[Cell], past_s: Mapping[str, float]) -> list[Cell]:
    """The cells in the order that ends soonest: longest first by their last run's seconds.

    A pool that starts a long cell last runs it alone on one core at the end. Cells never run
    before go first (their length is unknown); ties keep the matrix's order.
    """
    return sorted(cells, key=lambda cell: -past_s.get(cell.id, math.inf))


def run_pool(
    cells: Sequence[Cell],
    run_one: Callable[[Cell], CellResult],
    *,
    jobs: int,
    out: IO[str],
    on_interrupt: Callable[[], None],
) -> list[Finished]:
    """Run every cell, ``jobs`` at a time; never stop at a red cell.

    On Ctrl-C, ``on_interrupt`` kills what runs, cells not started are dropped, and the
    KeyboardInterrupt goes on up: every cell already finished has its result on disk.
    """
    finished: list[Finished] = []
    counts: Counter[str] = Counter()
    started_at: dict[str, float] = {}
    lock = threading.Lock()

    def timed(cell: Cell) -> Finished:
        with lock:
            started_at[cell.id] = time.monotonic()
        result = run_one(cell)
        with lock:
            elapsed = time.monotonic() - started_at.pop(cell.id)
        return Finished(cell, result, elapsed)

    executor = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="cell")
    pending: set[Future[Finished]] = set()
    try:
        pending = {executor.submit(timed, cell) for cell in cells}
        while pending:
            done, pending = wait(pending, timeout=TICK_S, return_when=FIRST_COMPLETED)
            for future in done:
                item = future.result()
                finished.append(item)
                counts[item.result.verdict] += 1
                out.write(
                    progress_line(item, done=len(finished), total=len(cells), counts=counts) + "\n"
                )
            if not done:
                with lock:
                    running = dict(started_at)
                slow = slow_cells(running, now=time.monotonic())
                if slow:
                    out.write(f"  still running: {slow}\n")
            out.flush()
    except KeyboardInterrupt:
        # Cancel what has not started first: if a second signal cuts the clean-up short,
        # no queued cell may still start (and be killed at once, with a bogus result).
        unfinished = {future for future in pending if not future.cancel()}
        on_interrupt()
        finish_despite_interrupts(executor, unfinished, on_interrupt)
        raise
    executor.shutdown(wait=True)
    return finished


def finish_despite_interrupts(
    executor: ThreadPoolExecutor, running: set[Future[Finished]], on_interrupt: Callable[[], None]
) -> None:
    """Wait for the running cells to finish their clean-up, whatever signals come meanwhile.

    It waits on the cells' futures, not on their threads. An interrupt inside
    ``Thread.join`` can leave CPython (3.11 here) taking a thread that still runs for
    stopped; the interpreter then exits without it, and the partial log it was about to
    remove stays behind (reproduced with SIGTERM twice, 50 ms apart, under load). The cells'
    commands are killed already, and again on each signal, so the wait is short.
    """
    while True:
        try:
            wait(running)
            executor.shutdown(wait=True, cancel_futures=True)
            return
        except KeyboardInterrupt:
            on_interrupt()


def progress_line(item: Finished, *, done: int, total: int, counts: Counter[str]) -> str:
    """``[ 12/180] py312-... compatible (8.1 s) | compatible 9, workaround 3``."""
    width = len(str(total))
    tally = ", ".join(f"{v} {counts[v]}" for v in VERDICTS if counts[v])
    return (
        f"[{done:>{width}}/{total}] {item.cell.id:<44} {item.result.verdict:<13} "
        f"({item.elapsed_s:5.1f} s) | {tally}"
    )


def slow_cells(running: dict[str, float], *, now: float, limit: int = 3) -> str:
    """The longest-running cells past ``SLOW_AFTER_S``, for the progress ticker."""
    slow = sorted(
        ((now - t, cid) for cid, t in running.items() if now - t > SLOW_AFTER_S), reverse=True
    )
    return ", ".join(f"{cid} ({age:.0f} s)" for age, cid in slow[:limit])
