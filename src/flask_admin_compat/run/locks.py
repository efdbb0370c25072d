"""Resolutions kept for as long as the release lists they were made against.

Resolving a cell's pins (``uv pip compile``) takes about 0.3 s even with uv's cache warm,
the largest part of making an environment. The answer can only change when the index lists
something new, which is what the index snapshot tracks: so a resolution (a lock, or the
resolver's refusal) is reused while the snapshot it was made under is, and made again after
``--refresh-index`` or once the snapshot is older than ``index-max-age``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from flask_admin_compat.jsonio import read_json_cache, write_text_atomic

LOCK_SCHEMA = "lock-cache"


@dataclass(frozen=True)
class CachedResolution:
    lock: str | None = None  # the resolved pins, or
    refusal: str | None = None  # the resolver's reason for refusing them


@dataclass(frozen=True)
class LockCache:
    folder: Path
    generation: str  # names the index listing (and uv) the resolutions were made with

    def key(self, *, python: str, python_version: str, requirements: Sequence[str]) -> str:
        text = "\n".join((self.generation, python, python_version, *requirements))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def get(self, key: str) -> CachedResolution | None:
        data = read_json_cache(self.folder / f"{key}.json", LOCK_SCHEMA)
        return None if data is None else CachedResolution(data["lock"], data["refusal"])

    def put(self, key: str, resolution: CachedResolution) -> None:
        payload = {"lock": resolution.lock, "refusal": resolution.refusal}
        write_text_atomic(self.folder / f"{key}.json", json.dumps(payload))


def generation(*, index_url: str, fetched_at: str, exclude_newer: str | None) -> str:
    """What a resolution depends on besides the pins: the listing, the date, uv's version."""
    try:
        uv = version("uv")
    except PackageNotFoundError:  # uv from elsewhere on PATH: resolve afresh each run
        uv = "unknown"
    return f"{index_url}|{fetched_at}|{exclude_newer}|uv {uv}"
