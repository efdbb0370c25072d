"""A command's output in bounded memory: streamed to the log, its head and tail kept.

A cell's pytest may print anything: the issue's printed 200 MB, and the harness held it all
(517 MB at its peak) and wrote it all into log.txt. Here the output goes to the log as it
comes, up to :data:`LOG_HEAD_CHARS` per command; past that only its last
:data:`TAIL_CHARS` are kept in memory, and written after a line saying how much was cut
when the command ends. What the harness reads back (a lock, the resolver's words, the last
lines of a crash) is the first :data:`HEAD_CHARS` and that tail.
"""

from __future__ import annotations

from collections import deque
from typing import IO

#: The first characters of a command's output that its log keeps, streamed as they come.
LOG_HEAD_CHARS = 4 * 1024 * 1024
#: The last characters kept in memory, for the log's end and for the harness to read.
TAIL_CHARS = 1024 * 1024
#: The first characters kept in memory for the harness (a lock is a few KB).
HEAD_CHARS = 1024 * 1024


class Output:
    """One command's output as it comes: the log gets its head now and its tail at the end."""

    def __init__(self, log: IO[str]) -> None:
        self._log = log
        self._head: list[str] = []
        self._head_chars = 0
        self._tail: deque[str] = deque()
        self._tail_chars = 0
        self.total = 0  # characters the command printed
        self._logged = 0  # characters of it already in the log

    def add(self, chunk: str) -> None:
        """Take the next piece of output."""
        start = self.total
        self.total += len(chunk)
        if self._logged == start and start < LOG_HEAD_CHARS:
            written = chunk[: LOG_HEAD_CHARS - start]
            self._log.write(written)
            self._logged += len(written)
        if self._head_chars < HEAD_CHARS:
            kept = chunk[: HEAD_CHARS - self._head_chars]
            self._head.append(kept)
            self._head_chars += len(kept)
            chunk = chunk[len(kept) :]
        if chunk:
            self._tail.append(chunk)
            self._tail_chars += len(chunk)
            while self._tail_chars - len(self._tail[0]) >= TAIL_CHARS:
                self._tail_chars -= len(self._tail.popleft())

    def finish(self) -> None:
        """Write what the log has not had yet: a line saying what was cut, then the tail."""
        if self._logged == self.total:
            return
        tail = "".join(self._tail)[-TAIL_CHARS:]
        cut = self.total - self._logged - len(tail)
        if cut > 0:
            self._log.write(
                f"\n(… {cut:,} characters of this command's output cut here: the log keeps "
                f"its first {LOG_HEAD_CHARS:,} and its last {len(tail):,})\n"
            )
        else:  # the tail overlaps what the log has: write only the rest
            tail = tail[len(tail) - (self.total - self._logged) :]
        self._log.write(tail)
        self._logged = self.total

    def text(self) -> str:
        """The output for the harness to read: whole if small, else its head and its tail."""
        head = "".join(self._head)
        tail = "".join(self._tail)
        cut = self.total - len(head) - len(tail)
        if cut <= 0:
            return head + tail
        return f"{head}\n(… {cut:,} characters cut here)\n{tail}"
