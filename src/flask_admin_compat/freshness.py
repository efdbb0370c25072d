"""When a cell's earlier result still stands: same specs, same suite, same index listing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

_IGNORED_PARTS = frozenset({"__pycache__", ".pytest_cache"})


def tree_hash(root: Path) -> str:
    """A hash of every file under ``root`` (names and bytes), caches left out."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root)
        if _IGNORED_PARTS.intersection(relative.parts) or path.suffix == ".pyc":
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def text_hash(text: str) -> str:
    """A hash of one file's text, for a suite defined by data rather than a folder of tests."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(
    *,
    cell_id: str,
    requirements: Sequence[str],
    python: str,
    suite: str,
    suite_hash: str,
    index_digest: str,
    exclude_newer: str | None,
    pytest_args: Sequence[str],
) -> str:
    """The freshness key of one cell run: any change to an input makes a new key."""
    payload = {
        "cell": cell_id,
        "requirements": list(requirements),
        "python": python,
        "suite": suite,
        "suite_hash": suite_hash,
        "index": index_digest,
        "exclude_newer": exclude_newer,
        "pytest_args": list(pytest_args),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]
