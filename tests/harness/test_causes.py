"""Causes: messages normalised, machine paths scrubbed, failing evidence grouped across cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import RESOURCES, make_grid, make_grid_cell, make_outcome

from flask_admin_compat.grid.causes import find_causes, shared_versions, with_causes
from flask_admin_compat.grid.known import KnownIssuesError, load_known, parse_known
from flask_admin_compat.grid.model import (
    GRID_SCHEMA_VERSION,
    Grid,
    GridCell,
    grid_from_json,
    grid_to_json,
    read_grid,
)
from flask_admin_compat.grid.scrub import scrub_cell, scrub_grid, scrub_paths
from flask_admin_compat.grid.signature import signature
from flask_admin_compat.report.outputs import MergeRequest, merge_folder

PATTERNS = ("session-at-setup", "db-at-setup", "in-app-context", "lazy-proxy")
EVERY = (
    "list",
    "search",
    "filter",
    "sort",
    "pagination",
    "details",
    "create",
    "edit",
    "delete",
    "batch delete",
    "ajax lookup",
    "inline models",
    "export",
)
T_SESSION = (
    "the stack did not start: ImportError: cannot import name 'T_SESSION' from "
    "'flask_admin.contrib.sqla._types' ({root}/.venvs/{cell}/lib/python3.12/site-packages/"
    "flask_admin/contrib/sqla/_types.py)"
)


def test_signature_is_the_innermost_exception_without_paths_addresses_or_versions() -> None:
    one = signature(T_SESSION.format(root="/home/a/checkout", cell="py310-x"))
    two = signature(T_SESSION.format(root="/srv/ci/build", cell="py313-y"))
    assert one == two
    assert one.raised
    assert (
        one.text
        == "ImportError: cannot import name 'T_SESSION' from 'flask_admin.contrib.sqla._types'"
    )
    wrapped = signature(
        "the admin views cannot be built this way: ViewError: the author view (inline posts): "
        "RuntimeError: Working outside of application context. This typically means that ..."
    )
    assert wrapped.text == "RuntimeError: Working outside of application context"
    quoted = signature(
        "the list requests ran no query through a session: GET /admin/post/ answered 500 "
        "(AttributeError: 'tuple' object has no attribute 'items'), GET /admin/author/ ..."
    )
    assert quoted.text == "AttributeError: 'tuple' object has no attribute 'items'"
    noisy = signature("KeyError: <Session object at 0x7f3a2b> id=1234 in sqlalchemy 2.0.36")
    assert noisy.text == "KeyError: <Session object> id=… in sqlalchemy <version>"


def test_an_observation_without_exception_keeps_its_first_clause() -> None:
    found = signature(
        "two list requests shared one Session (GET /admin/post/ and GET /admin/author/); list "
        "and search shared one Session (...)"
    )
    assert found.text == "two list requests shared one Session"
    assert not found.raised


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        (
            "from 'flask' (/home/ci/x/.venvs/py310-a/lib/python3.10/site-packages/flask/__init__.py)",
            "from 'flask' (<site-packages>/flask/__init__.py)",
        ),
        (r"C:\Users\me\venv\Lib\site-packages\flask\app.py", "<site-packages>/flask/app.py"),
        (
            "File /usr/lib/python3.12/json/decoder.py, line 3",
            "File <stdlib>/json/decoder.py, line 3",
        ),
        ("(/srv/build/.venvs/py312-flask31-admin22-sqla…", "(<venv>…"),
        ("/home/alice/project/app.py failed", "<path>/app.py failed"),
        (
            "GET /admin/post/?flt0_2=linus answered 500",
            "GET /admin/post/?flt0_2=linus answered 500",
        ),
        ("see http://localhost/admin/model2view", "see http://localhost/admin/model2view"),
        ("tests/scoping/test_checks.py:180: skipped", "tests/scoping/test_checks.py:180: skipped"),
    ],
)
def test_machine_paths_are_scrubbed_and_the_rest_kept(text: str, scrubbed: str) -> None:
    assert scrub_paths(text) == scrubbed


def startup_failure(cell_id: str, spec: str, *, lite: str = "0.1.*") -> GridCell:
    return make_grid_cell(
        cell_id,
        {
            "python": "3.12",
            "flask": "3.1.*",
            "flask-admin": spec,
            "sqlalchemy": "2.0.*",
            "flask-sqlalchemy-lite": lite,
        },
        "incompatible",
        reason=T_SESSION.format(root=f"/m/{cell_id}", cell=cell_id),
        installed={"flask-admin": "2.2.1", "flask": "3.1.3", "sqlalchemy": "2.0.4"},
        python_version="3.12.1",
        checks=(
            make_outcome(
                "startup",
                "failed",
                pattern="*",
                message=T_SESSION.format(root=f"/m/{cell_id}", cell=cell_id),
            ),
        ),
    )


def passing(cell_id: str, spec: str, version: str, *, lite: str = "0.1.*") -> GridCell:
    return make_grid_cell(
        cell_id,
        {
            "python": "3.12",
            "flask": "3.1.*",
            "flask-admin": spec,
            "sqlalchemy": "2.0.*",
            "flask-sqlalchemy-lite": lite,
        },
        "compatible",
        installed={"flask-admin": version, "flask": "3.1.3", "sqlalchemy": "2.0.4"},
        python_version="3.12.1",
        checks=(
            make_outcome("startup", pattern="*"),
            *(make_outcome(c, pattern="db-at-setup") for c in ("construct", "per-request")),
        ),
    )


def test_the_same_failure_in_many_cells_is_one_cause_with_its_first_bad_release() -> None:
    cells = (
        passing("py312-a220-lite01", "2.2.0", "2.2.0"),
        startup_failure("py312-a221-lite01", "2.2.1"),
        passing("py312-a220-lite02", "2.2.0", "2.2.0", lite="0.2.*"),
        startup_failure("py312-a221-lite02", "2.2.1", lite="0.2.*"),
    )
    (cause,) = find_causes(cells)
    assert cause.cells == ("py312-a221-lite01", "py312-a221-lite02")
    assert cause.patterns == ("*",)
    assert cause.checks == ("startup",)
    assert cause.first_bad is not None
    assert (cause.first_bad.version, cause.first_bad.after) == ("2.2.1", "2.2.0")
    assert cause.first_fixed is None
    assert cause.example_pattern == "*"
    assert cause.shared.startswith("Flask-Admin 2.2.1 with flask-sqlalchemy-lite 0.1 and 0.2 alone")


def request_failure(
    cell_id: str, pattern: str, message: str, surfaces: tuple[str, ...]
) -> GridCell:
    return make_grid_cell(
        cell_id,
        {"python": "3.12", "flask-admin": "1.6.*", "flask-sqlalchemy": "3.1.*"},
        "incompatible",
        installed={"flask-admin": "1.6.1"},
        checks=(
            make_outcome("startup", pattern="*"),
            make_outcome(
                "crud",
                "failed",
                pattern=pattern,
                message=message,
                failed_surfaces=surfaces,
                surfaces=EVERY,
            ),
        ),
    )


def test_one_exception_under_nesting_pattern_families_is_one_cause() -> None:
    tuple_error = "create: POST /admin/author/new/ answered 500 (AttributeError: 'tuple' object has no attribute 'items')"
    every = make_grid_cell(
        "py312-every",
        {"python": "3.12", "flask-admin": "1.6.*", "flask-sqlalchemy": "3.1.*"},
        "incompatible",
        installed={"flask-admin": "1.6.1"},
        checks=tuple(
            make_outcome(
                "crud", "failed", pattern=p, message=tuple_error, failed_surfaces=("create",)
            )
            for p in PATTERNS
        ),
    )
    three = request_failure("py312-lite", "in-app-context", tuple_error, ("create",))
    (cause,) = find_causes((every, three))
    assert set(cause.cells) == {"py312-every", "py312-lite"}
    assert cause.patterns == PATTERNS
    assert cause.surfaces == ("create",)


def test_an_observation_on_surfaces_that_raised_joins_the_exception() -> None:
    raised = "GET /admin/post/ answered 500 (AttributeError: 'SQLAlchemy' object has no attribute 'query')"
    cell = make_grid_cell(
        "py312-db",
        {"python": "3.12", "flask-admin": "2.0.*", "flask-sqlalchemy": "3.1.*"},
        "workaround",
        installed={"flask-admin": "2.0.2"},
        checks=(
            make_outcome(
                "per-request",
                "failed",
                pattern="db-at-setup",
                message=raised,
                failed_surfaces=("list", "search"),
            ),
            make_outcome(
                "teardown",
                "failed",
                pattern="db-at-setup",
                message="none of the admin requests ran a query through a session",
                failed_surfaces=("list",),
            ),
        ),
    )
    (cause,) = find_causes((cell,))
    assert cause.checks == ("per-request", "teardown")
    assert cause.signature == "AttributeError: 'SQLAlchemy' object has no attribute 'query'"


def shared_session(
    cell_id: str, surfaces: tuple[str, ...], *, concurrency: bool = False
) -> GridCell:
    first = surfaces[0]
    checks = [
        make_outcome(
            "per-request",
            "failed",
            pattern="in-app-context",
            message=f"two {first} requests shared one Session (...)",
            failed_surfaces=surfaces,
        ),
        make_outcome(
            "teardown",
            "failed",
            pattern="in-app-context",
            message="when a request ended, its session was not cleaned up: ...",
            failed_surfaces=surfaces,
        ),
    ]
    if concurrency:
        checks.append(
            make_outcome(
                "concurrency",
                "failed",
                pattern="in-app-context",
                message="readers on list showed another request's uncommitted change",
                failed_surfaces=("list",),
            )
        )
    return make_grid_cell(
        cell_id,
        {"python": "3.12", "flask-admin": "2.0.*", "flask-sqlalchemy-lite": "0.2.*"},
        "workaround",
        installed={"flask-admin": "2.0.2"},
        checks=tuple(checks),
    )


def test_observations_split_by_surfaces_and_contained_ones_join_the_larger() -> None:
    cells = (
        shared_session("py312-a20-1", EVERY, concurrency=True),
        shared_session("py312-a20-2", EVERY),
        shared_session("py312-a21-1", ("create", "inline models")),
    )
    causes = find_causes(cells)
    assert len(causes) == 2
    everywhere = next(c for c in causes if "list" in c.surfaces)
    assert everywhere.cells == ("py312-a20-1", "py312-a20-2")
    assert everywhere.checks == ("per-request", "teardown", "concurrency")
    create = next(c for c in causes if c is not everywhere)
    assert create.cells == ("py312-a21-1",)
    assert create.signature == "two create requests shared one Session"


def test_every_non_compatible_cell_of_a_real_grid_belongs_to_a_cause() -> None:
    grid = with_causes(read_grid(RESOURCES / "repro-grid.json"))
    covered = {cell for cause in grid.causes for cell in cause.cells}
    troubled = [c.cell_id for c in grid.cells if c.verdict in ("incompatible", "workaround")]
    assert troubled
    assert set(troubled) <= covered
    t_session = [c for c in grid.causes if "T_SESSION" in c.signature]
    assert [c.cells for c in t_session] == [
        ("py312-flask31-admin221-sqla20-lite01", "py312-flask31-admin221-sqla20-lite02")
    ]


def test_cause_ids_are_stable_and_safe() -> None:
    grid = read_grid(RESOURCES / "repro-grid.json")
    first = [c.id for c in find_causes(grid.cells)]
    again = [c.id for c in find_causes(tuple(reversed(grid.cells)))]
    assert sorted(first) == sorted(again)
    assert all(c.replace("-", "").isalnum() for c in first)


def test_causes_ride_in_grid_json_and_an_older_grid_still_reads() -> None:
    old = json.loads((RESOURCES / "repro-grid.json").read_text())
    assert old["schema_version"] == "1.1"
    assert "causes" not in old
    grid = grid_from_json(old)
    assert grid.causes == ()
    found = with_causes(grid, known=load_known())
    data = grid_to_json(found)
    assert data["schema_version"] == GRID_SCHEMA_VERSION == "1.2"
    back = grid_from_json(json.loads(json.dumps(data)))
    assert back.causes == found.causes
    assert {c["id"] for c in data["causes"]} == {c.id for c in found.causes}


def test_the_merge_scrubs_old_results_and_finds_their_causes(tmp_path: Path) -> None:
    old = json.loads((RESOURCES / "repro-grid.json").read_text())
    dirty = T_SESSION.format(root="/home/someone/checkout", cell="py312-x")
    for cell in old["cells"]:
        for check in cell["checks"]:
            if check["outcome"] == "failed" and "T_SESSION" in check["message"]:
                check["message"] = dirty
    (tmp_path / "grid.json").write_text(json.dumps(old))
    cells = {c["cell_id"]: c["requested"] for c in old["cells"]}
    code = merge_folder(tmp_path / "cells", tmp_path, MergeRequest(matrix_cells=cells))
    assert code == 0
    text = (tmp_path / "grid.json").read_text()
    assert "/home/someone" not in text
    assert "<site-packages>/flask_admin/contrib/sqla/_types.py" in text
    merged = read_grid(tmp_path / "grid.json")
    assert any("T_SESSION" in c.signature for c in merged.causes)
    assert merged.causes_of("py312-flask31-admin221-sqla20-lite01")
    md = (tmp_path / "grid.md").read_text()
    assert md.index("causes explain") < md.index("## Python")
    assert md.index("## What to use") < md.index("## Python")


def test_shared_versions_name_what_differs_and_what_is_every() -> None:
    grid = read_grid(RESOURCES / "repro-grid.json")
    lite = [c for c in grid.cells if c.cell_id.endswith("lite01")]
    text = shared_versions(lite, grid.cells)
    assert "flask-sqlalchemy-lite 0.1 alone" in text
    assert "Flask-Admin" in text


def test_scrub_grid_scrubs_every_cell() -> None:
    cell = startup_failure("py312-a221-lite01", "2.2.1")
    grid: Grid = scrub_grid(make_grid(cell))
    assert "/m/" not in grid.cells[0].reason
    assert scrub_cell(grid.cells[0]) == grid.cells[0]


def test_known_issues_file_is_valid_and_matches_the_unique_validator_cause() -> None:
    known = load_known()
    grid = with_causes(read_grid(RESOURCES / "repro-grid.json"), known=known)
    unique = [c for c in grid.causes if c.signature == "two create requests shared one Session"]
    assert unique
    assert unique[0].upstream is not None
    assert unique[0].upstream.number == 2953


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (
            {"issue": [{"repository": "a/b", "number": 0, "title": "t", "message": "x"}]},
            "issue[0].number = 0",
        ),
        (
            {"issue": [{"repository": "a/b", "number": 1, "title": "t", "message": "("}]},
            "issue[0].message = '('",
        ),
        (
            {"issue": [{"repository": "nope", "number": 1, "title": "t", "message": "x"}]},
            "issue[0].repository = 'nope'",
        ),
        ({"issues": []}, "known-issues.toml: "),
    ],
)
def test_a_bad_known_issues_entry_is_one_line_naming_key_and_value(
    raw: dict[str, object], said: str
) -> None:
    with pytest.raises(KnownIssuesError) as caught:
        parse_known(raw)
    message = str(caught.value)
    assert said in message
    assert "\n" not in message


def test_a_race_on_a_shared_session_joins_the_sharings_cause() -> None:
    """IllegalStateChangeError in one run, "shared one Session" in the next: one cause."""
    race = (
        "a concurrent list request failed: GET /admin/post/ answered 500 "
        "(IllegalStateChangeError: Method 'rollback()' can't be called here; method "
        "'_connection_for_bind()' is already in progress)"
    )
    raced = make_grid_cell(
        "py312-a20-1",
        {"python": "3.12", "flask-admin": "2.0.*", "flask-sqlalchemy-lite": "0.2.*"},
        "workaround",
        installed={"flask-admin": "2.0.2"},
        checks=(
            *shared_session("py312-a20-1", EVERY).checks,
            make_outcome(
                "concurrency",
                "failed",
                pattern="in-app-context",
                message=race,
                failed_surfaces=("list", "search"),
            ),
        ),
    )
    calm = shared_session("py312-a20-2", EVERY, concurrency=True)
    (cause,) = find_causes((raced, calm))
    assert set(cause.cells) == {"py312-a20-1", "py312-a20-2"}
    assert "concurrency" in cause.checks
    assert "IllegalStateChangeError" not in cause.signature
    # Where no Session was seen shared, the same exception is a cause of its own.
    alone = make_grid_cell(
        "py312-a20-3",
        {"python": "3.12", "flask-admin": "2.0.*", "flask-sqlalchemy-lite": "0.2.*"},
        "workaround",
        installed={"flask-admin": "2.0.2"},
        checks=(make_outcome("concurrency", "failed", pattern="in-app-context", message=race),),
    )
    (own,) = find_causes((alone,))
    assert own.signature.startswith("IllegalStateChangeError")
