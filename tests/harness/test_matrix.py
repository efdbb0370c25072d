"""matrix.toml loading: the default matrix, and one clear line for every kind of bad input."""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import PROJECT_ROOT
from packaging.requirements import Requirement
from packaging.version import Version

from flask_admin_compat.jsonio import load_schema
from flask_admin_compat.matrix.matrix import (
    MATRIX_SCHEMA,
    MAX_JOBS,
    EachMinor,
    MatrixError,
    load_matrix,
)
from flask_admin_compat.matrix.series import list_cells, series_cache_for

GOOD_AXES = """
[axes]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.*"]
sqlalchemy = ["2.0.*"]
"""
GOOD_BACKENDS = """
[backends]
flask-sqlalchemy = ["3.1.*"]
"""


def test_default_matrix_is_what_people_run_today() -> None:
    matrix = load_matrix(PROJECT_ROOT / "matrix.toml")
    cells, _ = list_cells(matrix, series_cache=series_cache_for(matrix))  # offline
    ids = [c.id for c in cells]
    assert len(ids) == len(set(ids)) <= 450
    pythons = {c.python.text for c in cells}
    assert pythons == {"3.10", "3.11", "3.12", "3.13"}
    # Every Python x every Flask-Admin series x every backend series, on the newest Flask and
    # SQLAlchemy series.
    series = {"1.6.*", "2.0.*", "2.1.0", "2.2.0", "2.2.1"}
    backends = {("flask-sqlalchemy", s) for s in ("2.5.*", "3.0.*", "3.1.*")}
    backends |= {("flask-sqlalchemy-lite", s) for s in ("0.1.*", "0.2.*")}
    wanted = {(py, admin, backend) for py in pythons for admin in series for backend in backends}
    reached = {
        (c.python.text, c.requested["flask-admin"], (c.backend, c.requested[c.backend]))
        for c in cells
        if c.requested["flask"] == "3.1.*" and c.requested["sqlalchemy"] == "2.1.*" and not c.beside
    }
    assert wanted <= reached
    # Every release of Flask-Admin's newest two minor series has cells of its own.
    assert {"2.1.0", "2.2.0", "2.2.1"} <= {c.requested["flask-admin"] for c in cells}
    # The lite + Flask-SQLAlchemy install set, for the lite cells of the newest series.
    sets = [c for c in cells if c.beside]
    assert sets
    assert all(c.backend == "flask-sqlalchemy-lite" and c.id.endswith("-lite02fsa31") for c in sets)
    assert {c.requested["flask-admin"] for c in sets} == {"2.2.*", "2.2.0", "2.2.1"}
    # Today's grid keeps its ids.
    assert "py312-flask23-admin16-sqla14-fsa25" in ids
    assert "py312-flask31-admin22-sqla21-lite02" in ids


def test_python_314_is_one_line_away(write_matrix: Callable[[str], Path]) -> None:
    text = (PROJECT_ROOT / "matrix.toml").read_text(encoding="utf-8")
    line = 'python = ["3.10", "3.11", "3.12", "3.13", "3.14"]'
    assert text.count(f"# {line}\n") == 1
    path = write_matrix(
        text.replace(f"# {line}\n", f"{line}\n").replace(
            'python = ["3.10", "3.11", "3.12", "3.13"]\n# Where', "# Where", 1
        )
    )
    (path.parent / "series-cache.json").write_text(
        (PROJECT_ROOT / "series-cache.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    matrix = load_matrix(path)
    cells, _ = list_cells(matrix, series_cache=series_cache_for(matrix))
    assert len(cells) <= 450
    assert {c.python.text for c in cells} == {"3.10", "3.11", "3.12", "3.13", "3.14"}


def test_small_matrix_settings_and_rules(small_matrix_path: Path) -> None:
    matrix = load_matrix(small_matrix_path)
    assert matrix.settings.timeout_s == 120
    assert matrix.settings.jobs == 2
    assert matrix.excludes[0].reason.startswith("Flask-Admin 1.x")
    assert matrix.packages == (
        "flask",
        "flask-admin",
        "sqlalchemy",
        "flask-sqlalchemy",
        "flask-sqlalchemy-lite",
    )


def test_each_minor_is_kept_for_the_index_to_expand(write_matrix: Callable[[str], Path]) -> None:
    path = write_matrix(
        GOOD_AXES.replace('flask = ["3.1.*"]', 'flask = [{ each = "minor", from = "2.2" }]')
        + GOOD_BACKENDS
    )
    (flask_values,) = [v for name, v in load_matrix(path).axes if name == "flask"]
    assert flask_values == (EachMinor(floor=Version("2.2")),)


BAD_INPUTS = [
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + "\n[extras]\nx = 1\n",
        "extras",
        "unknown key",
        id="unknown-top-key",
    ),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]', 'flask = ["3.x"]') + GOOD_BACKENDS,
        "axes.flask[0]",
        "'3.x'",
        id="not-pep440",
    ),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]', 'flask = ["1.0; rm -rf /"]') + GOOD_BACKENDS,
        "axes.flask[0]",
        "rm -rf",
        id="shell-injection",
    ),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]', 'flask = ["--index-url=http://x"]') + GOOD_BACKENDS,
        "axes.flask[0]",
        "--index-url",
        id="option-injection",
    ),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]', 'flask = ["-e ."]') + GOOD_BACKENDS,
        "axes.flask[0]",
        "-e .",
        id="editable-injection",
    ),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]', "flask = []") + GOOD_BACKENDS,
        "axes.flask",
        "empty axis",
        id="empty-axis",
    ),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]', 'flask = ["3.1.*", "3.1.*"]') + GOOD_BACKENDS,
        "axes.flask[1]",
        "duplicate",
        id="duplicate",
    ),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]\n', "") + GOOD_BACKENDS,
        "axes.flask",
        "missing",
        id="missing-axis",
    ),
    pytest.param(
        GOOD_AXES + 'Flask_WTF = ["1.2.*"]\n' + GOOD_BACKENDS,
        "axes.Flask_WTF",
        "flask-wtf",
        id="non-canonical-package",
    ),
    pytest.param(
        GOOD_AXES + '"bad name!" = ["1.0"]\n' + GOOD_BACKENDS,
        "axes.bad name!",
        "package name",
        id="invalid-package",
    ),
    pytest.param(
        GOOD_AXES + '\n[backends]\nflask-mongo = ["1.0"]\n',
        "backends.flask-mongo",
        "unknown backend",
        id="unknown-backend",
    ),
    pytest.param(
        GOOD_AXES.replace('python = ["3.12"]', 'python = ["three"]') + GOOD_BACKENDS,
        "axes.python[0]",
        "3.12",
        id="bad-python",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[[exclude]]\nflask = ">=3"\n',
        "exclude[0].reason",
        "reason",
        id="exclude-without-reason",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[[exclude]]\nwtforms = ">=3"\nreason = "r"\n',
        "exclude[0].wtforms",
        "unknown axis",
        id="exclude-unknown-axis",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[[exclude]]\nflask = "=>3"\nreason = "r"\n',
        "exclude[0].flask",
        "specifier",
        id="exclude-bad-specifier",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + "[settings]\ntimeout = -1\n",
        "settings.timeout",
        "-1",
        id="bad-timeout",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + "[settings]\nparallel = 2\n",
        "settings.parallel",
        "unknown setting",
        id="unknown-setting",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[[include]]\npython = "3.12"\nflask = "3.0.*"\n',
        "include[0]",
        "backend",
        id="include-without-backend",
    ),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]', 'flask = [{ each = "major" }]') + GOOD_BACKENDS,
        "axes.flask[0]",
        "each",
        id="bad-each",
    ),
    pytest.param("[axes\n", "(file)", "not valid TOML", id="not-toml"),
]


def test_missing_file_is_a_matrix_error(tmp_path: Path) -> None:
    with pytest.raises(MatrixError, match="cannot read"):
        load_matrix(tmp_path / "nope.toml")


def test_the_schema_and_the_cli_agree_on_the_most_jobs() -> None:
    jobs = load_schema(MATRIX_SCHEMA)["$defs"]["settings"]["properties"]["jobs"]
    assert jobs["else"]["maximum"] == MAX_JOBS


MORE_BAD = [
    pytest.param("axes = 3\n", "axes", "a table of axes", id="axes-not-a-table"),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]', "flask = [3]") + GOOD_BACKENDS,
        "axes.flask[0]",
        "a version spec",
        id="number-as-spec",
    ),
    pytest.param(
        GOOD_AXES.replace('flask = ["3.1.*"]', 'flask = [{ each = "minor", from = "2.x" }]')
        + GOOD_BACKENDS,
        "axes.flask[0].from",
        'a release such as "2.2"',
        id="each-bad-floor",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[settings]\njobs = "many"\n',
        "settings.jobs",
        '"auto"',
        id="jobs-word",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[settings]\nsuites = ["scoping", "scoping"]\n',
        "settings.suites",
        "once",
        id="suite-twice",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[[exclude]]\nflask = ">=3"\nreason = " "\n',
        "exclude[0].reason",
        "needs a reason",
        id="blank-reason",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[[exclude]]\nreason = "r"\n',
        "exclude[0]",
        "at least one axis condition",
        id="exclude-without-condition",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[[include]]\npython = "3.12"\nflask = "3.1.*"\n'
        'flask-admin = "2.2.*"\nsqlalchemy = "2.0.*"\nflask-sqlalchemy = "3.1.*"\n'
        'flask-sqlalchemy-lite = "0.2.*"\n',
        "include[0]",
        "exactly one backend",
        id="include-two-backends",
    ),
    pytest.param(
        GOOD_AXES + GOOD_BACKENDS + '[[include]]\npython = "3.12"\nflask = "3.1.*"\n'
        'flask-admin = { each = "minor", from = "2.1" }\nsqlalchemy = "2.0.*"\n'
        'flask-sqlalchemy = "3.1.*"\n',
        "include[0].flask-admin",
        "one version",
        id="include-each",
    ),
]


@pytest.mark.parametrize(("text", "key", "fragment"), [*BAD_INPUTS, *MORE_BAD])
def test_bad_input_is_one_clear_line(
    write_matrix: Callable[[str], Path], text: str, key: str, fragment: str
) -> None:
    path = write_matrix(text)
    with pytest.raises(MatrixError) as caught:
        load_matrix(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {key} = ")
    assert fragment in message


def test_the_noxfile_names_what_listing_needs() -> None:
    """`nox -l` validates matrix.toml with jsonschema: nox alone (`uvx nox`) must install it.

    nox reads the noxfile's PEP 723 block and, when a dependency is missing from its own
    environment, makes one that has them (its script mode).
    """
    text = (PROJECT_ROOT / "noxfile.py").read_text(encoding="utf-8")
    block = text.split("# /// script\n", 1)[1].split("# ///\n", 1)[0]
    toml = tomllib.loads("\n".join(line.removeprefix("# ") for line in block.splitlines()))
    names = {Requirement(dep).name for dep in toml["dependencies"]}
    assert {"nox", "jsonschema"} <= names
