"""Several matrix tables, ``each = "patch"`` and install sets: the stacks people run."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from packaging.version import Version

from flask_admin_compat.matrix.cells import expand, needs_index
from flask_admin_compat.matrix.index import check_against_index, fetch_snapshot
from flask_admin_compat.matrix.matrix import EachPatch, InstallSet, MatrixError, load_matrix
from flask_admin_compat.matrix.series import list_cells, read_series_cache, write_series_cache

FakeIndex = Callable[[dict[str, list[tuple[Any, ...]]]], tuple[str, list[str]]]

TWO_TABLES = """
[backends]
flask-sqlalchemy = ["3.1.*"]

[[matrix]]
name = "pythons"
python = ["3.11", "3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.*"]
sqlalchemy = ["2.0.*"]

[[matrix]]
name = "flask x sqlalchemy"
python = ["3.12"]
flask = ["3.0.*", "3.1.*"]
flask-admin = ["2.2.*"]
sqlalchemy = ["2.0.*", "2.1.*"]
backends.flask-sqlalchemy-lite = ["0.2.*"]
"""


def test_tables_union_is_the_cell_set(write_matrix: Callable[[str], Path]) -> None:
    matrix = load_matrix(write_matrix(TWO_TABLES))
    ids = [c.id for c in expand(matrix)]
    assert ids == [
        "py311-flask31-admin22-sqla20-fsa31",
        "py312-flask31-admin22-sqla20-fsa31",
        # The second table names its own backends: lite only, no FSA.
        "py312-flask30-admin22-sqla20-lite02",
        "py312-flask30-admin22-sqla21-lite02",
        "py312-flask31-admin22-sqla20-lite02",
        "py312-flask31-admin22-sqla21-lite02",
    ]
    assert [t.name for t in matrix.tables] == ["pythons", "flask x sqlalchemy"]


def test_a_cell_reached_from_two_tables_is_one_cell(write_matrix: Callable[[str], Path]) -> None:
    text = TWO_TABLES.replace('backends.flask-sqlalchemy-lite = ["0.2.*"]\n', "")
    ids = [c.id for c in expand(load_matrix(write_matrix(text)))]
    assert len(ids) == len(set(ids)) == 2 + 4 - 1
    # Where the first table puts it, so that adding a table never moves an existing cell.
    assert ids[:2] == ["py311-flask31-admin22-sqla20-fsa31", "py312-flask31-admin22-sqla20-fsa31"]


def test_axes_and_tables_mix_and_the_single_table_keeps_its_ids(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    before = [c.id for c in expand(load_matrix(small_matrix_path))]
    extra = '\n[[matrix]]\npython = ["3.13"]\nflask = ["3.1.*"]\nflask-admin = ["2.2.*"]\n'
    extra += 'sqlalchemy = ["2.0.*"]\n'
    text = small_matrix_path.read_text().replace("[[exclude]]", extra + "\n[[exclude]]", 1)
    after = [c.id for c in expand(load_matrix(write_matrix(text)))]
    axes_cells = before[:-1]  # the include comes last
    assert after[: len(axes_cells)] == axes_cells
    assert "py313-flask31-admin22-sqla20-fsa31" in after
    assert "py313-flask31-admin22-sqla20-litelatest" in after
    assert after[-1] == before[-1]


def test_excludes_apply_to_every_table(write_matrix: Callable[[str], Path]) -> None:
    text = TWO_TABLES + '\n[[exclude]]\nsqlalchemy = "2.1.*"\nreason = "not yet"\n'
    cells = expand(load_matrix(write_matrix(text)))
    assert sorted(c.id for c in cells if c.excluded_by) == [
        "py312-flask30-admin22-sqla21-lite02",
        "py312-flask31-admin22-sqla21-lite02",
    ]


PATCHES = """
[[matrix]]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.0.*", { each = "patch", from = "2.1" }]
sqlalchemy = ["2.0.*"]
backends.flask-sqlalchemy = ["3.1.*"]
"""

ADMIN_RELEASES = ["2.0.2", "2.1.0", "2.2.0rc1", "2.2.0", "2.2.1", "2.3.0b1"]


def test_each_patch_expands_to_every_final_release_since_the_floor(
    write_matrix: Callable[[str], Path],
) -> None:
    matrix = load_matrix(write_matrix(PATCHES))
    assert needs_index(matrix) == ("flask-admin",)
    with pytest.raises(MatrixError, match=r"matrix\[0\]\.flask-admin.*needs the package index"):
        expand(matrix)
    releases = {"flask-admin": [Version(v) for v in ADMIN_RELEASES]}
    assert [c.id for c in expand(matrix, releases=releases)] == [
        "py312-flask31-admin20-sqla20-fsa31",
        "py312-flask31-admin210-sqla20-fsa31",
        "py312-flask31-admin220-sqla20-fsa31",
        "py312-flask31-admin221-sqla20-fsa31",
    ]
    cell = expand(matrix, releases=releases)[2]
    assert "flask-admin==2.2.0" in cell.requirements
    assert "admin-2.2.0" in cell.tags


def test_each_patch_takes_prereleases_only_when_asked(write_matrix: Callable[[str], Path]) -> None:
    text = PATCHES.replace('from = "2.1" }', 'from = "2.2", pre = true }')
    matrix = load_matrix(write_matrix(text))
    (admin,) = [v for n, v in matrix.axes if n == "flask-admin"]
    assert admin[1] == EachPatch(Version("2.2"), pre=True)
    releases = {"flask-admin": [Version(v) for v in ADMIN_RELEASES]}
    fragments = [c.id.split("-")[2] for c in expand(matrix, releases=releases)]
    assert fragments == ["admin20", "admin220rc1", "admin220", "admin221", "admin230b1"]


def test_each_patch_leaves_yanked_releases_out_and_lists_offline(
    write_matrix: Callable[[str], Path], fake_index: FakeIndex
) -> None:
    url, _ = fake_index(
        {
            "flask-admin": [
                ("2.1.0", "2026-04-28T00:00:00Z"),
                ("2.2.0", "2026-05-07T00:00:00Z", True),  # yanked
                ("2.2.1", "2026-09-21T00:00:00Z"),
                ("2.3.0rc1", "2026-10-01T00:00:00Z"),
            ]
        }
    )
    path = write_matrix(PATCHES)
    matrix = load_matrix(path)
    snapshot = fetch_snapshot(["flask-admin"], index_url=url, now=datetime(2026, 11, 1, tzinfo=UTC))
    cache = path.parent / "series-cache.json"
    with pytest.raises(MatrixError, match="once online"):
        list_cells(matrix, series_cache=cache)
    assert write_series_cache(cache, matrix, snapshot)
    stored = read_series_cache(cache)
    assert stored is not None
    # No pre-release is asked for, so none is committed.
    assert stored.releases["flask-admin"] == [Version("2.1.0"), Version("2.2.1")]
    cells, notes = list_cells(matrix, series_cache=cache)
    assert [c.id.split("-")[2] for c in cells] == ["admin20", "admin210", "admin221"]
    assert notes


def test_the_cache_keeps_prereleases_where_an_axis_asks(
    write_matrix: Callable[[str], Path], fake_index: FakeIndex
) -> None:
    url, _ = fake_index(
        {"flask-admin": [("2.2.1", "2026-09-21T00:00:00Z"), ("2.3.0rc1", "2026-10-01T00:00:00Z")]}
    )
    path = write_matrix(PATCHES.replace('from = "2.1" }', 'from = "2.1", pre = true }'))
    matrix = load_matrix(path)
    cache = path.parent / "series-cache.json"
    write_series_cache(cache, matrix, fetch_snapshot(["flask-admin"], index_url=url))
    cells, _ = list_cells(matrix, series_cache=cache)
    assert [c.id.split("-")[2] for c in cells] == ["admin20", "admin221", "admin230rc1"]


INSTALL_SET = """
[[matrix]]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.1"]
sqlalchemy = ["2.0.*"]
backends.flask-sqlalchemy-lite = [
  "0.2.*",
  { version = "0.2.*", with = { flask-sqlalchemy = "3.1.*" } },
]
"""


def test_an_install_set_is_its_own_cell_beside_the_plain_backend(
    write_matrix: Callable[[str], Path],
) -> None:
    matrix = load_matrix(write_matrix(INSTALL_SET))
    (lite,) = [v for n, v in matrix.backends if n == "flask-sqlalchemy-lite"]
    assert isinstance(lite[1], InstallSet)
    plain, both = expand(matrix)
    assert plain.id == "py312-flask31-admin221-sqla20-lite02"
    assert both.id == "py312-flask31-admin221-sqla20-lite02fsa31"
    assert both.backend == "flask-sqlalchemy-lite"
    assert both.requirements == (
        "flask==3.1.*",
        "flask-admin==2.2.1",
        "sqlalchemy==2.0.*",
        "flask-sqlalchemy-lite==0.2.*",
        "flask-sqlalchemy==3.1.*",
    )
    assert both.requested["flask-sqlalchemy"] == "3.1.*"
    assert "with-fsa-3.1" in both.tags
    assert "fsa" not in both.tags  # `nox -t fsa` still means the FSA backend
    assert "lite" in both.tags
    assert "with flask-sqlalchemy 3.1.*" in both.description
    assert "flask-sqlalchemy" in matrix.packages


def test_an_include_may_name_an_install_set(write_matrix: Callable[[str], Path]) -> None:
    text = (
        INSTALL_SET
        + """
[[include]]
python = "3.12"
flask = "3.0.*"
flask-admin = "2.2.1"
sqlalchemy = "2.0.*"
flask-sqlalchemy-lite = { version = "0.2.*", with = { flask-sqlalchemy = "3.1.*" } }
"""
    )
    assert (
        expand(load_matrix(write_matrix(text)))[-1].id
        == "py312-flask30-admin221-sqla20-lite02fsa31"
    )


def test_the_index_check_covers_tables_and_install_sets(
    write_matrix: Callable[[str], Path], fake_index: FakeIndex
) -> None:
    t = "2026-01-01T00:00:00Z"
    url, _ = fake_index(
        {
            "flask": [("3.1.2", t)],
            "flask-admin": [("2.2.1", t)],
            "sqlalchemy": [("2.0.40", t)],
            "flask-sqlalchemy-lite": [("0.2.1", t)],
            "flask-sqlalchemy": [("3.0.5", t)],
        }
    )
    path = write_matrix(INSTALL_SET)
    matrix = load_matrix(path)
    snapshot = fetch_snapshot(matrix.packages, index_url=url)
    assert check_against_index(matrix, snapshot, exclude_newer=None) == [
        (
            f"{path}: matrix[0].backends.flask-sqlalchemy-lite[1].with.flask-sqlalchemy = '3.1.*': "
            "no such release on the index"
        )
    ]


BAD = [
    pytest.param(
        TWO_TABLES.replace('flask = ["3.0.*", "3.1.*"]', 'flask = ["3.x"]'),
        "matrix[1].flask[0]",
        "'3.x'",
        id="bad-spec-in-second-table",
    ),
    pytest.param(
        TWO_TABLES.replace('flask = ["3.0.*", "3.1.*"]\n', ""),
        "matrix[1].flask",
        "missing",
        id="missing-axis-in-table",
    ),
    pytest.param(
        TWO_TABLES.replace('[backends]\nflask-sqlalchemy = ["3.1.*"]\n', ""),
        "matrix[0].backends",
        "a [backends] table for all",
        id="table-without-backends",
    ),
    pytest.param(
        TWO_TABLES.replace('name = "pythons"', "name = 3"),
        "matrix[0].name",
        "string",
        id="bad-name",
    ),
    pytest.param(
        TWO_TABLES.replace(
            'flask = ["3.0.*", "3.1.*"]', 'flask = ["3.1.*"]\nflask-sqlalchemy = ["3.1.*"]'
        ),
        "matrix[1].flask-sqlalchemy",
        "this table's backends.flask-sqlalchemy",
        id="backend-as-axis",
    ),
    pytest.param(
        PATCHES.replace('from = "2.1" }', 'from = "2.1", pre = "yes" }'),
        "matrix[0].flask-admin[1].pre",
        "pre = true",
        id="bad-pre",
    ),
    pytest.param(
        PATCHES.replace('{ each = "patch", from = "2.1" }', '{ each = "patch" }'),
        "matrix[0].flask-admin[1]",
        "each",
        id="patch-without-floor",
    ),
    pytest.param(
        PATCHES.replace(
            '{ each = "patch", from = "2.1" }', '{ each = "minor", from = "2.1", pre = true }'
        ),
        "matrix[0].flask-admin[1].pre",
        'only { each = "patch" } takes pre',
        id="pre-on-minor",
    ),
    pytest.param(
        INSTALL_SET.replace('with = { flask-sqlalchemy = "3.1.*" }', 'beside = "fsa"'),
        "matrix[0].backends.flask-sqlalchemy-lite[1].with",
        "install set",
        id="install-set-bad-keys",
    ),
    pytest.param(
        INSTALL_SET.replace('flask-sqlalchemy = "3.1.*"', 'flask-sqlalchemy = "3.1; rm -rf /"'),
        "matrix[0].backends.flask-sqlalchemy-lite[1].with.flask-sqlalchemy",
        "rm -rf",
        id="install-set-injection",
    ),
    pytest.param(
        INSTALL_SET.replace('flask-sqlalchemy = "3.1.*"', 'flask-sqlalchemy-lite = "0.1.*"'),
        "matrix[0].backends.flask-sqlalchemy-lite[1].with.flask-sqlalchemy-lite",
        "backend itself",
        id="install-set-names-its-backend",
    ),
    pytest.param(
        INSTALL_SET.replace('with = { flask-sqlalchemy = "3.1.*" }', "with = {}"),
        "matrix[0].backends.flask-sqlalchemy-lite[1].with",
        "name the packages",
        id="install-set-empty",
    ),
    pytest.param("[settings]\ntimeout = 5\n", "axes", "[[matrix]]", id="no-tables"),
    pytest.param(
        'matrix = 3\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n',
        "matrix",
        "array of tables",
        id="matrix-not-tables",
    ),
]


@pytest.mark.parametrize(("text", "key", "fragment"), BAD)
def test_bad_tables_are_one_clear_line(
    write_matrix: Callable[[str], Path], text: str, key: str, fragment: str
) -> None:
    path = write_matrix(text)
    with pytest.raises(MatrixError) as caught:
        load_matrix(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key} = ")
    assert fragment in message
