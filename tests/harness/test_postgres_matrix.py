"""A small PostgreSQL matrix end to end: real installs, a throwaway server, real verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import PROJECT_ROOT

from flask_admin_compat.cli import main
from flask_admin_compat.results.model import read_result
from flask_admin_compat.run.postgres import find_bindir

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        find_bindir() is None, reason="no PostgreSQL server (scripts/bootstrap.sh installs it)"
    ),
]

# SQLAlchemy 1.4 reads postgresql:// as psycopg2 and 2.1 as psycopg 3: both drivers are used.
PG_MATRIX = """
[axes]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.*"]
sqlalchemy = ["1.4.*", "2.1.*"]
database = ["sqlite", "postgresql"]

[backends]
flask-sqlalchemy = ["3.0.*"]

[[include]]
python = "3.12"
flask = "3.1.*"
flask-admin = "2.0.*"
sqlalchemy = "2.0.*"
flask-sqlalchemy-lite = "0.2.*"
database = "postgresql"
"""


def test_postgresql_cells_get_real_verdicts_on_a_throwaway_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(PG_MATRIX)
    reports = tmp_path / "reports"
    code = main(
        [
            "run",
            "--matrix",
            str(matrix),
            "--project",
            str(PROJECT_ROOT),
            "--reports",
            str(reports),
            "--force",
        ]
    )
    assert code == 0
    results = {p.parent.name: read_result(p) for p in (reports / "cells").glob("*/result.json")}
    assert set(results) == {
        "py312-flask31-admin22-sqla14-fsa30",
        "py312-flask31-admin22-sqla14-fsa30-pg",
        "py312-flask31-admin22-sqla21-fsa30",
        "py312-flask31-admin22-sqla21-fsa30-pg",
        "py312-flask31-admin20-sqla20-lite02-pg",
    }
    for cid, result in results.items():
        assert result.verdict in {"compatible", "workaround", "incompatible"}, (cid, result.reason)
    assert "psycopg2-binary" in results["py312-flask31-admin22-sqla14-fsa30-pg"].installed
    assert "psycopg" in results["py312-flask31-admin22-sqla21-fsa30-pg"].installed
    assert "psycopg2-binary" not in results["py312-flask31-admin22-sqla14-fsa30"].installed
    # Flask-Admin 2.0 keeps lite's one session when built inside an app context: on a server
    # that shows as a connection left idle in transaction.
    lite = results["py312-flask31-admin20-sqla20-lite02-pg"]
    teardown = next(
        c for c in lite.checks if c.pattern == "in-app-context" and c.check == "teardown"
    )
    assert teardown.outcome == "failed"
    assert "idle in transaction" in teardown.message
