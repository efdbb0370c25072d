"""Resolutions are reused while the index listing they were made against stands."""

from __future__ import annotations

from pathlib import Path

from flask_admin_compat.run.locks import CachedResolution, LockCache, generation


def test_a_resolution_is_kept_per_listing_python_and_pins(tmp_path: Path) -> None:
    first = LockCache(tmp_path, generation(index_url="i", fetched_at="t1", exclude_newer=None))
    key = first.key(python="/py3.12", python_version="3.12.1", requirements=["flask==3.1.*"])
    assert first.get(key) is None
    first.put(key, CachedResolution(lock="flask==3.1.3\n"))
    assert first.get(key) == CachedResolution(lock="flask==3.1.3\n")
    refreshed = LockCache(tmp_path, generation(index_url="i", fetched_at="t2", exclude_newer=None))
    assert (
        refreshed.key(python="/py3.12", python_version="3.12.1", requirements=["flask==3.1.*"])
        != key
    )
    assert (
        first.key(python="/py3.12", python_version="3.12.1", requirements=["flask==3.0.*"]) != key
    )
    assert (
        first.key(python="/py3.13", python_version="3.13.0", requirements=["flask==3.1.*"]) != key
    )


def test_a_refusal_is_kept_too_and_junk_is_ignored(tmp_path: Path) -> None:
    cache = LockCache(tmp_path, "g")
    cache.put("k", CachedResolution(refusal="No solution found"))
    assert cache.get("k") == CachedResolution(refusal="No solution found")
    (tmp_path / "bad.json").write_text("{not json")
    assert cache.get("bad") is None
