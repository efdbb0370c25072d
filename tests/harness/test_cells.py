"""Cell expansion: ids, tags, exclusions, includes, and the filters users type."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import PROJECT_ROOT
from packaging.version import Version

from flask_admin_compat.matrix.cells import expand, needs_index, unused_rules
from flask_admin_compat.matrix.matrix import MatrixError, load_matrix
from flask_admin_compat.matrix.select import KeywordError, select
from flask_admin_compat.matrix.series import list_cells, series_cache_for


def test_ids_are_readable_stable_and_dot_free(small_matrix_path: Path) -> None:
    cells = expand(load_matrix(small_matrix_path))
    ids = [c.id for c in cells]
    assert ids[:2] == ["py312-flask30-admin161-sqla20-fsa31", "py312-flask30-admin22-sqla20-fsa31"]
    assert ids[-1] == "py312-flask233-admin16-sqla14-fsa25"  # the [[include]]
    assert len(set(ids)) == len(ids)
    assert all("." not in i for i in ids)


def test_tags_name_each_axis_value(small_matrix_path: Path) -> None:
    cell = expand(load_matrix(small_matrix_path))[0]
    assert cell.tags == ("py-3.12", "flask-3.0", "admin-1.6.1", "sqla-2.0", "fsa-3.1", "fsa")
    assert cell.requirements == (
        "flask==3.0.*",
        "flask-admin==1.6.1",
        "sqlalchemy==2.0.*",
        "flask-sqlalchemy==3.1.*",
    )


def test_exclusion_carries_its_reason(small_matrix_path: Path) -> None:
    matrix = load_matrix(small_matrix_path)
    cells = expand(matrix)
    excluded = [c.id for c in cells if c.excluded_by]
    assert excluded == [
        "py312-flask30-admin161-sqla20-litelatest",
        "py312-flask31-admin161-sqla20-litelatest",
    ]
    assert cells[4].excluded_by is not None
    assert cells[4].excluded_by.reason == "Flask-Admin 1.x predates flask-sqlalchemy-lite"
    assert unused_rules(matrix, cells) == []


def test_rule_that_matches_nothing_is_reported(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    text = small_matrix_path.read_text() + '\n[[exclude]]\nflask = "<1"\nreason = "never"\n'
    matrix = load_matrix(write_matrix(text))
    assert [r.index for r in unused_rules(matrix, expand(matrix))] == [1]


def test_series_rules_match_on_the_series_floor(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    text = small_matrix_path.read_text() + '\n[[exclude]]\nflask = ">=3.1,<3.2"\nreason = "r"\n'
    cells = expand(load_matrix(write_matrix(text)))
    assert {c.id for c in cells if c.excluded_by and c.excluded_by.reason == "r"} == {
        "py312-flask31-admin161-sqla20-fsa31",
        "py312-flask31-admin22-sqla20-fsa31",
        "py312-flask31-admin22-sqla20-litelatest",
    }


def test_include_duplicating_an_axis_cell_is_refused(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    text = small_matrix_path.read_text() + (
        '\n[[include]]\npython = "3.12"\nflask = "3.1.*"\nflask-admin = "2.2.*"\n'
        'sqlalchemy = "2.0.*"\nflask-sqlalchemy = "3.1.*"\n'
    )
    with pytest.raises(MatrixError, match=r"include\[1\].*duplicates"):
        expand(load_matrix(write_matrix(text)))


def test_specs_that_would_share_an_id_are_refused(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    text = small_matrix_path.read_text().replace(
        'flask = ["3.0.*", "3.1.*"]', 'flask = ["3.0.*", "3.0"]'
    )
    with pytest.raises(MatrixError, match="same id"):
        expand(load_matrix(write_matrix(text)))


def test_each_minor_expands_from_the_release_list(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    text = small_matrix_path.read_text().replace(
        'flask = ["3.0.*", "3.1.*"]', 'flask = [{ each = "minor", from = "3.0" }]'
    )
    matrix = load_matrix(write_matrix(text))
    assert needs_index(matrix) == ("flask",)
    with pytest.raises(MatrixError, match="needs the package index"):
        expand(matrix)
    releases = {"flask": [Version(v) for v in ("2.3.3", "3.0.0", "3.0.3", "3.1.2", "3.2.0")]}
    flask_tags = {
        t for c in expand(matrix, releases=releases) for t in c.tags if t.startswith("flask-")
    }
    assert flask_tags == {"flask-3.0", "flask-3.1", "flask-3.2", "flask-2.3.3"}


@pytest.mark.parametrize(
    ("expression", "count"),
    [
        ("admin22", 4),
        ("admin22 and lite", 2),
        ("flask31 and not lite", 2),
        ("fsa25", 1),
        ("py312", 9),
        ("flask3", 8),
    ],
)
def test_keyword_filters_users_type(small_matrix_path: Path, expression: str, count: int) -> None:
    assert len(select(expand(load_matrix(small_matrix_path)), keyword=expression)) == count


def test_noxfile_lists_one_session_per_cell_offline() -> None:
    # A proxy that refuses every connection: listing must not need the network.
    offline = {
        **os.environ,
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
    }
    started = time.monotonic()
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(PROJECT_ROOT / "noxfile.py"), "-l"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env=offline,
    )
    elapsed = time.monotonic() - started
    lines = [ln for ln in listed.stdout.splitlines() if ln.startswith(("* ", "- "))]
    names = {ln.split()[1] for ln in lines}
    matrix = load_matrix(PROJECT_ROOT / "matrix.toml")
    cells, _ = list_cells(matrix, series_cache=series_cache_for(matrix))
    cell_ids = {c.id for c in cells if not c.excluded_by}
    assert names == cell_ids | {"matrix", "report", "advise", "compare", "bench", "tests", "lint"}
    (one,) = [ln for ln in lines if ln.split()[1] == "py312-flask31-admin22-sqla20-fsa31"]
    assert one.endswith(
        "-> Python 3.12: flask 3.1.*, flask-admin 2.2.*, sqlalchemy 2.0.*, flask-sqlalchemy 3.1.*"
    )
    assert "flask-3.1" in one
    print(f"nox -l took {elapsed:.2f} s")  # a figure for the reader, never a timed assertion


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # -k matches substrings: admin22 is also in admin220 and admin221, fsa31 in
        # lite02fsa31; the tag admin-2.2 names the series alone.
        (
            ["-t", "admin-2.2", "-k", "lite and flask31 and sqla20 and not fsa31"],
            {"py312-flask31-admin22-sqla20-lite01", "py312-flask31-admin22-sqla20-lite02"},
        ),
        (
            ["-t", "admin-2.2", "-k", "flask31 and fsa31 and sqla20 and not lite"],
            {"py312-flask31-admin22-sqla20-fsa31"},
        ),
        (
            ["-k", "py310 and admin221 and lite"],
            {
                "py310-flask31-admin221-sqla20-lite01",
                "py310-flask31-admin221-sqla20-lite02",
                "py310-flask31-admin221-sqla21-lite01",
                "py310-flask31-admin221-sqla21-lite02",
                "py310-flask31-admin221-sqla20-lite02fsa31",
                "py310-flask31-admin221-sqla21-lite02fsa31",
            },
        ),
        (["-s", "py312-flask23-admin16-sqla14-fsa25"], {"py312-flask23-admin16-sqla14-fsa25"}),
    ],
)
def test_nox_selection_by_keyword_tag_and_name(args: list[str], expected: set[str]) -> None:
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "nox",
            "-f",
            str(PROJECT_ROOT / "noxfile.py"),
            "-l",
            "--json",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    )
    selected = {s["session"] for s in json.loads(listed.stdout) if s.get("selected", True)}
    assert selected == expected


@pytest.mark.parametrize(
    "expression", ["py312-flask31", "flask3.1", "admin22 and", "__import__('os')", "1"]
)
def test_keywords_nox_would_misread_are_refused(small_matrix_path: Path, expression: str) -> None:
    with pytest.raises(KeywordError, match="join parts with and/or/not"):
        select(expand(load_matrix(small_matrix_path)), keyword=expression)


def test_an_include_may_pin_a_package_beyond_the_axes(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    text = small_matrix_path.read_text() + (
        '\n[[include]]\npython = "3.12"\nflask = "3.0.*"\nflask-admin = "1.6.*"\n'
        'sqlalchemy = "2.0.*"\npins = { wtforms = "3.1.*" }\nflask-sqlalchemy = "3.1.*"\n'
    )
    matrix = load_matrix(write_matrix(text))
    cell = expand(matrix)[-1]
    assert cell.id == "py312-flask30-admin16-sqla20-wtforms31-fsa31"
    assert cell.requirements[-2:] == ("wtforms==3.1.*", "flask-sqlalchemy==3.1.*")
    assert "wtforms-3.1" in cell.tags
    assert "wtforms" in matrix.packages


def test_an_include_pin_must_be_a_package_name(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    text = small_matrix_path.read_text() + (
        '\n[[include]]\npython = "3.12"\nflask = "3.0.*"\nflask-admin = "1.6.*"\n'
        'sqlalchemy = "2.0.*"\n"WT Forms" = "3.1.*"\nflask-sqlalchemy = "3.1.*"\n'
    )
    with pytest.raises(MatrixError, match="include\\[1\\]\\.WT Forms"):
        load_matrix(write_matrix(text))


def test_a_database_axis_adds_server_cells(
    write_matrix: Callable[[str], Path], small_matrix_path: Path
) -> None:
    text = small_matrix_path.read_text().replace(
        'sqlalchemy = ["2.0.*"]', 'sqlalchemy = ["2.0.*"]\ndatabase = ["sqlite", "postgresql"]'
    )
    text += '\n[[exclude]]\ndatabase = "postgresql"\nflask = "3.0.*"\nreason = "one Flask on the server is enough"\n'
    cells = expand(load_matrix(write_matrix(text)))
    pg = [c for c in cells if c.database == "postgresql"]
    assert len(pg) == 8
    assert {c.id for c in pg if not c.excluded_by} == {
        "py312-flask31-admin161-sqla20-fsa31-pg",
        "py312-flask31-admin22-sqla20-fsa31-pg",
        "py312-flask31-admin22-sqla20-litelatest-pg",
    }
    cell = next(c for c in pg if c.id == "py312-flask31-admin22-sqla20-fsa31-pg")
    assert cell.requested["database"] == "postgresql"
    assert cell.tags[-1] == "pg"
    assert cell.description.endswith(", on postgresql")
    assert select(cells, keyword="pg and admin22 and flask31") == [
        c for c in pg if "admin22" in c.id and "flask31" in c.id
    ]
    assert all(c.requested["database"] == "sqlite" for c in cells if c.database == "sqlite")


def test_lite_does_not_select_sqlite_cells(small_matrix_path: Path) -> None:
    cells = expand(load_matrix(small_matrix_path))
    assert {c.backend for c in select(cells, keyword="lite")} == {"flask-sqlalchemy-lite"}


@pytest.mark.parametrize(
    ("axis_line", "key"),
    [
        ('database = ["mysql"]', "axes.database[0]"),
        ('database = ["sqlite", "sqlite"]', "axes.database"),
        ("database = []", "axes.database"),
    ],
)
def test_bad_database_axis(
    write_matrix: Callable[[str], Path], small_matrix_path: Path, axis_line: str, key: str
) -> None:
    text = small_matrix_path.read_text().replace(
        'sqlalchemy = ["2.0.*"]', f'sqlalchemy = ["2.0.*"]\n{axis_line}'
    )
    with pytest.raises(MatrixError, match=rf"{re.escape(key)} = "):
        load_matrix(write_matrix(text))
