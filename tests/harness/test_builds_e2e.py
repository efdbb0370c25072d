"""Unreleased builds end to end: two wheels of one version, and ``compare``, with real installs.

The wheels are Flask-Admin 2.2.1's own, downloaded once and re-packed: one as it is, one with
a scoping fault baked in (every view keeps the first Session it resolves,
``factories.KEEPS_FIRST_SESSION``). Both call themselves 2.2.1. Kept to one Flask-SQLAlchemy
cell per side: the release's cell runs once and is fresh for the second comparison.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from factories import FAULTY_MODULE, KEEPS_FIRST_SESSION, PROJECT_ROOT, repack_wheel

from flask_admin_compat.cli import main
from flask_admin_compat.results.model import read_result

pytestmark = pytest.mark.e2e

RELEASE = "2.2.1"
STACK = """
[settings]
timeout = 300

[axes]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = [{admin}]
sqlalchemy = ["2.0.*"]

[backends]
flask-sqlalchemy = ["3.1.*"]
"""


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The release's wheel, and two builds of it with its version: as it is, and faulty."""
    folder = tmp_path_factory.mktemp("wheels")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            f"flask-admin=={RELEASE}",
            "--dest",
            str(folder / "release"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (release,) = (folder / "release").glob("*.whl")
    return {
        "release": release,
        "clean": repack_wheel(release, folder / "clean"),
        "faulty": repack_wheel(
            release, folder / "faulty", patches={FAULTY_MODULE: lambda t: t + KEEPS_FIRST_SESSION}
        ),
    }


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main([*args, "--project", str(PROJECT_ROOT)], out=out)
    return code, out.getvalue()


def test_two_builds_of_one_version_are_two_cells_that_answer_differently(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    matrix = tmp_path / "matrix.toml"
    builds = ", ".join(
        f'{{ path = "{wheels[label].relative_to(wheels["release"].parents[1])}", '
        f'label = "{label}" }}'
        for label in ("clean", "faulty")
    )
    matrix.write_text(STACK.format(admin=builds), encoding="utf-8")
    (tmp_path / "clean").symlink_to(wheels["clean"].parent)
    (tmp_path / "faulty").symlink_to(wheels["faulty"].parent)
    reports = tmp_path / "reports"
    code, _ = _run("run", "--matrix", str(matrix), "--reports", str(reports))
    assert code == 0
    cells = {p.name: read_result(p / "result.json") for p in (reports / "cells").iterdir()}
    assert set(cells) == {
        "py312-flask31-adminclean-sqla20-fsa31",
        "py312-flask31-adminfaulty-sqla20-fsa31",
    }
    clean, faulty = (
        cells[f"py312-flask31-admin{label}-sqla20-fsa31"] for label in ("clean", "faulty")
    )
    # Each names its build; both installed what calls itself 2.2.1.
    for result, label in ((clean, "clean"), (faulty, "faulty")):
        record = result.builds["flask-admin"]
        assert record["label"] == label
        assert record["path"] == f"{label}/{wheels[label].name}"
        assert result.installed["flask-admin"] == RELEASE
        assert "unreleased" in result.flags
    assert clean.builds["flask-admin"]["sha256"] != faulty.builds["flask-admin"]["sha256"]
    # Check by check: the fault shows where the two builds scope sessions differently.
    outcomes = {r.cell_id: {c.key: c.outcome for c in r.checks} for r in (clean, faulty)}
    differing = {
        key
        for key, outcome in outcomes[clean.cell_id].items()
        if outcomes[faulty.cell_id][key] != outcome
    }
    assert ("db-at-setup", "per-request") in differing
    assert outcomes[clean.cell_id][("db-at-setup", "per-request")] == "passed"
    assert clean.verdict == "compatible"
    assert faulty.verdict == "incompatible"


def test_compare_names_the_regression_and_exits_1_then_nothing_against_itself(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(STACK.format(admin=f'"{RELEASE}"'), encoding="utf-8")
    reports = tmp_path / "reports"
    where = ("--matrix", str(matrix), "--reports", str(reports))

    code, said = _run("compare", *where, "--with", f"flask-admin={wheels['faulty']}")
    assert code == 1, said
    first = said.splitlines()[2]
    assert first.startswith("py312-flask31-admin221-sqla20-fsa31  regressed  compatible → ")
    # The check, then its surfaces, then what the build does to it, in the check's own words.
    (per_request,) = [ln for ln in said.splitlines() if ln.startswith("  db-at-setup/per-request")]
    assert per_request.startswith("  db-at-setup/per-request (list, search, ")
    assert ": passed → failed: " in per_request
    assert "shared one Session" in per_request
    assert said.rstrip().endswith("1 cells: 1 regressed, 0 fixed, 0 same")
    # Apart from the grid's cells, which it never writes.
    assert not (reports / "cells").exists()
    assert {p.name for p in (reports / "compare" / "cells").iterdir()} == {
        "py312-flask31-admin221-sqla20-fsa31",
        "py312-flask31-adminbuild-sqla20-fsa31",
    }
    assert (reports / "compare" / "compare.md").read_text(encoding="utf-8") == said

    code, said = _run("compare", *where, "--with", f"flask-admin={wheels['release']}")
    assert code == 0, said
    assert said.splitlines()[2].startswith("py312-flask31-admin221-sqla20-fsa31  same  compatible")
    assert said.rstrip().endswith("1 cells: 0 regressed, 0 fixed, 1 same")
    assert "→" not in said
