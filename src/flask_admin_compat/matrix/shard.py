"""Split cells into N balanced shards that every CI job computes the same way.

The partition depends only on the cell ids and the durations recorded in the committed
``reports/grid.json``: longest cells first, each to the least-loaded shard (ties by index),
so shard i of N is the same set on every machine that has the same checkout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import TypeVar

_SHARD_RE = re.compile(r"^([0-9]+)/([0-9]+)$")
#: Seconds assumed for a cell the grid has never timed.
DEFAULT_CELL_S = 10.0

T = TypeVar("T")


class ShardError(ValueError):
    """A ``--shard`` value that is not ``i/N`` with 1 <= i <= N."""


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as people write it
    count: int


def parse_shard(text: str) -> Shard:
    match = _SHARD_RE.match(text)
    if not match:
        raise ShardError(f"--shard {text!r}: write i/N, e.g. 1/4")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard {text!r}: i must be from 1 to N, and N at least 1")
    return Shard(index, count)


def partition(ids: Sequence[str], *, durations: Mapping[str, float], count: int) -> list[list[str]]:
    """``count`` lists of ids with totals as even as the longest-first greedy makes them."""
    known = [d for d in durations.values() if d > 0]
    guess = median(known) if known else DEFAULT_CELL_S
    weighted = sorted(ids, key=lambda cid: (-durations.get(cid, guess), cid))
    shards: list[list[str]] = [[] for _ in range(count)]
    loads = [0.0] * count
    for cid in weighted:
        target = min(range(count), key=lambda i: (loads[i], i))
        shards[target].append(cid)
        loads[target] += durations.get(cid, guess)
    return [sorted(s) for s in shards]


def pick(
    items: Sequence[T], ids: Sequence[str], shard: Shard, durations: Mapping[str, float]
) -> list[T]:
    """The items (cells) of one shard, in their original order."""
    mine = set(partition(ids, durations=durations, count=shard.count)[shard.index - 1])
    return [item for item, cid in zip(items, ids, strict=True) if cid in mine]


def durations_from_grid(path: Path) -> dict[str, float]:
    """Each cell's total seconds from a grid.json; nothing when there is no readable grid."""
    try:
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return {
            c["cell_id"]: float(c["durations"].get("total", 0.0))
            for c in cells
            if isinstance(c.get("durations"), dict)
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}
