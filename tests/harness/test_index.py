"""Release lists: asked once per package, read from PEP 691 or PEP 503, kept as a snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from packaging.version import Version

from flask_admin_compat.matrix.index import (
    IndexUnavailable,
    configured_index_url,
    fetch_snapshot,
    load_or_fetch_snapshot,
    releases_from_html,
    releases_from_json,
)

FakeIndex = Callable[[dict[str, list[tuple[str, str]]]], tuple[str, list[str]]]
RELEASES = {
    "flask": [("3.0.3", "2024-04-07T00:00:00Z"), ("3.1.0", "2024-11-13T00:00:00Z")],
    "flask-admin": [("2.0.2", "2024-10-01T00:00:00Z"), ("2.1.0", "2025-04-01T00:00:00Z")],
}


def test_json_page_skips_yanked_and_keeps_earliest_upload() -> None:
    page = {
        "files": [
            {"filename": "flask-3.1.0.tar.gz", "upload-time": "2024-11-13T10:00:00Z"},
            {"filename": "flask-3.1.0-py3-none-any.whl", "upload-time": "2024-11-13T09:00:00Z"},
            {"filename": "flask-3.0.9-py3-none-any.whl", "yanked": "broken"},
            {"filename": "flask-3.0.3-py3-none-any.whl"},
            {"filename": "README.txt"},
        ]
    }
    releases = releases_from_json(page)
    assert [str(r.version) for r in releases] == ["3.0.3", "3.1.0"]
    assert releases[1].uploaded == datetime(2024, 11, 13, 9, tzinfo=UTC)
    assert releases[0].uploaded is None


def test_html_page() -> None:
    html = '<a href="x">Flask-2.3.3.tar.gz</a><a href="y" data-yanked="">flask-2.3.4.tar.gz</a>'
    assert [str(r.version) for r in releases_from_html(html)] == ["2.3.3"]


def test_snapshot_from_a_real_http_index(fake_index: FakeIndex) -> None:
    url, requests = fake_index(RELEASES)
    snapshot = fetch_snapshot(["Flask", "flask-admin", "flask"], index_url=url)
    assert sorted(requests) == ["flask", "flask-admin"]  # once per package, never per cell
    assert snapshot.versions("flask") == [Version("3.0.3"), Version("3.1.0")]
    as_of = datetime(2025, 1, 1, tzinfo=UTC)
    assert snapshot.versions("flask-admin", exclude_newer=as_of) == [Version("2.0.2")]
    assert snapshot.digest(["flask"]) != snapshot.digest(["flask-admin"])


def test_unknown_package_is_named(fake_index: FakeIndex) -> None:
    url, _ = fake_index(RELEASES)
    with pytest.raises(IndexUnavailable, match="flask-mongo: no such package"):
        fetch_snapshot(["flask-mongo"], index_url=url)


def test_unreachable_index_is_named() -> None:
    with pytest.raises(IndexUnavailable, match="flask: the index could not be reached"):
        fetch_snapshot(["flask"], index_url="http://127.0.0.1:9")


def test_snapshot_is_reused_while_young(fake_index: FakeIndex, tmp_path: Path) -> None:
    url, requests = fake_index(RELEASES)
    path = tmp_path / "snapshot.json"
    now = datetime(2026, 1, 1, tzinfo=UTC)
    first, fetched = load_or_fetch_snapshot(path, ["flask"], max_age_s=60, index_url=url, now=now)
    assert fetched
    again, fetched = load_or_fetch_snapshot(
        path, ["flask"], max_age_s=60, index_url=url, now=now + timedelta(seconds=30)
    )
    assert not fetched
    assert again == first
    _, fetched = load_or_fetch_snapshot(
        path, ["flask"], max_age_s=60, index_url=url, now=now + timedelta(seconds=61)
    )
    assert fetched
    _, fetched = load_or_fetch_snapshot(
        path, ["flask", "flask-admin"], max_age_s=60, index_url=url, now=now + timedelta(seconds=62)
    )
    assert fetched  # a package the snapshot lacks
    assert sorted(requests) == ["flask", "flask", "flask", "flask-admin"]


def test_configured_index_prefers_uv_then_pip_settings() -> None:
    assert (
        configured_index_url({"UV_DEFAULT_INDEX": "http://a/simple/", "PIP_INDEX_URL": "http://b"})
        == "http://a/simple"
    )
    assert configured_index_url({"PIP_INDEX_URL": "http://b/simple"}) == "http://b/simple"
