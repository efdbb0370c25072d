"""Freshness: what makes an earlier result stand, and the committed series cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from packaging.version import Version
from test_results import make_result

from flask_admin_compat.matrix.cells import expand
from flask_admin_compat.matrix.freshness import fingerprint, fingerprints, stale_suites, tree_hash
from flask_admin_compat.matrix.index import IndexSnapshot, Release, check_against_index
from flask_admin_compat.matrix.matrix import MatrixError, load_matrix
from flask_admin_compat.matrix.series import list_cells, read_series_cache, write_series_cache
from flask_admin_compat.results.model import write_result


def _snapshot(**packages: list[str]) -> IndexSnapshot:
    return IndexSnapshot(
        "http://index",
        datetime(2026, 1, 1, tzinfo=UTC),
        {
            name.replace("_", "-"): tuple(Release(Version(v), None) for v in vs)
            for name, vs in packages.items()
        },
    )


BASE = {
    "cell_id": "c",
    "requirements": ["flask==3.1.*"],
    "python": "3.12",
    "suite": "scoping",
    "suite_hash": "s",
    "index_digest": "i",
    "exclude_newer": None,
    "pytest_args": [],
}


@pytest.mark.parametrize(
    "change",
    [
        {"requirements": ["flask==3.0.*"]},
        {"suite_hash": "s2"},
        {"index_digest": "i2"},
        {"exclude_newer": "2025-01-01"},
        {"pytest_args": ["-x"]},
        {"python": "3.13"},
    ],
)
def test_any_input_change_makes_a_new_fingerprint(change: dict[str, object]) -> None:
    assert fingerprint(**BASE) != fingerprint(**{**BASE, **change})  # type: ignore[arg-type]
    assert fingerprint(**BASE) == fingerprint(**dict(BASE))  # type: ignore[arg-type]


def test_suite_hash_follows_content_not_caches(tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text("x = 1\n")
    before = tree_hash(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "test_a.pyc").write_bytes(b"junk")
    assert tree_hash(tmp_path) == before
    (tmp_path / "test_a.py").write_text("x = 2\n")
    assert tree_hash(tmp_path) != before


def test_a_new_upstream_release_makes_only_its_cells_stale(
    small_matrix_path: Path, tmp_path: Path
) -> None:
    cells = expand(load_matrix(small_matrix_path))
    old = _snapshot(
        flask=["3.1.0"],
        flask_admin=["2.2.0"],
        sqlalchemy=["2.0.1"],
        flask_sqlalchemy=["3.1.1"],
        flask_sqlalchemy_lite=["0.2.1"],
    )
    new = _snapshot(
        flask=["3.1.0"],
        flask_admin=["2.2.0"],
        sqlalchemy=["2.0.1"],
        flask_sqlalchemy=["3.1.1"],
        flask_sqlalchemy_lite=["0.2.1", "0.3.0"],
    )
    kwargs = {"suite": "scoping", "suite_dir": tmp_path, "exclude_newer": None, "pytest_args": ()}
    before = fingerprints(cells, snapshot=old, **kwargs)  # type: ignore[arg-type]
    after = fingerprints(cells, snapshot=new, **kwargs)  # type: ignore[arg-type]
    changed = {cid for cid in before if before[cid] != after[cid]}
    assert changed == {c.id for c in cells if c.backend == "flask-sqlalchemy-lite"}


def test_fresh_means_same_fingerprint_and_not_an_error(tmp_path: Path) -> None:
    write_result(tmp_path / "a", make_result(fingerprint="f1"))
    write_result(tmp_path / "b", make_result(fingerprint="f1", verdict="error", reason="timed out"))
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "result.json").write_text("{truncated")

    def fresh(cell_dir: Path, expected: str) -> bool:
        return stale_suites(cell_dir, {"scoping": expected}, excluded=False) == ()

    assert fresh(tmp_path / "a", "f1")
    assert not fresh(tmp_path / "a", "f2")
    assert not fresh(tmp_path / "b", "f1")
    assert not fresh(tmp_path / "c", "f1")
    assert not fresh(tmp_path / "missing", "f1")


def test_index_check_names_missing_releases(small_matrix_path: Path) -> None:
    snapshot = _snapshot(
        flask=["2.3.3", "3.0.3", "3.1.0"],
        flask_admin=["1.6.0", "2.2.0"],
        sqlalchemy=["1.4.54", "2.0.1"],
        flask_sqlalchemy=["2.5.1", "3.1.1"],
        flask_sqlalchemy_lite=["0.2.1"],
    )
    problems = check_against_index(load_matrix(small_matrix_path), snapshot, exclude_newer=None)
    assert problems == [
        f"{small_matrix_path}: axes.flask-admin[0] = '1.6.1': no such release on the index"
    ]


def test_index_check_covers_includes(small_matrix_path: Path) -> None:
    snapshot = _snapshot(
        flask=["3.0.3", "3.1.0"],
        flask_admin=["1.6.1", "2.2.0"],
        sqlalchemy=["2.0.1"],
        flask_sqlalchemy=["3.1.1"],
        flask_sqlalchemy_lite=["0.2.1"],
    )
    problems = check_against_index(load_matrix(small_matrix_path), snapshot, exclude_newer=None)
    assert (
        f"{small_matrix_path}: include[0].flask = '2.3.3': no such release on the index" in problems
    )


def test_series_cache_keeps_listing_offline(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    path = write_matrix(
        small_matrix_path.read_text().replace(
            'flask = ["3.0.*", "3.1.*"]', 'flask = [{ each = "minor", from = "3.0" }]'
        )
    )
    matrix = load_matrix(path)
    cache = path.parent / "series-cache.json"
    with pytest.raises(MatrixError, match="run `nox -s matrix` once online"):
        list_cells(matrix, series_cache=cache)
    assert write_series_cache(
        cache, matrix, _snapshot(flask=["2.3.3", "3.0.3", "3.1.0", "3.2.0rc1"])
    )
    assert not write_series_cache(
        cache, matrix, _snapshot(flask=["2.3.3", "3.0.3", "3.1.0", "3.2.0rc1"])
    )
    stored = read_series_cache(cache)
    assert stored is not None
    assert stored.releases["flask"] == [Version("2.3.3"), Version("3.0.3"), Version("3.1.0")]
    cells, notes = list_cells(matrix, series_cache=cache)
    assert {t for c in cells for t in c.tags if t.startswith("flask-")} == {
        "flask-3.0",
        "flask-3.1",
        "flask-2.3.3",
    }
    assert notes
    assert "minor series as of 2026-01-01" in notes[0]
