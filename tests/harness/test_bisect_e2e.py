"""bisect for real: Flask-Admin 2.1.0 -> 2.2.1 with flask-sqlalchemy-lite, the T_SESSION break.

Real installs from the index (uv's cache makes them fast after the first run), the project's
own scoping suite, and its environments folder, so that the probes reuse what cells made.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from factories import PROJECT_ROOT

from flask_admin_compat import exitcodes
from flask_admin_compat.cli import main
from flask_admin_compat.results.model import read_result

pytestmark = pytest.mark.e2e

MATRIX = """
[[matrix]]
python = ["3.12"]
flask = ["3.1.*"]
flask-admin = ["2.2.*"]
sqlalchemy = ["2.0.*"]
backends.flask-sqlalchemy-lite = ["0.2.*"]
"""
CELL = "py312-flask31-admin22-sqla20-lite02"


def test_bisect_names_221_and_its_import_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(MATRIX, encoding="utf-8")
    reports = tmp_path / "reports"
    code = main(
        [
            "bisect",
            CELL,
            "--axis",
            "flask-admin",
            "--good",
            "2.1.0",
            "--matrix",
            str(matrix),
            "--project",
            str(PROJECT_ROOT),
            "--reports",
            str(reports),
        ]
    )
    out = capsys.readouterr().out
    assert code == exitcodes.OK, out
    answer = json.loads((reports / "bisect" / CELL / "bisect.json").read_text(encoding="utf-8"))
    assert answer["first_bad"] == "2.2.1"
    assert answer["last_good"] == "2.2.0"
    assert answer["changes"][0] == "verdict: workaround → incompatible"
    assert answer["changes"][1].startswith("startup: passed → failed: ")
    assert "T_SESSION" in answer["changes"][1]
    assert [p["version"] for p in answer["probes"]] == ["2.1.0", "2.2.0", "2.2.1"]
    assert "first bad: flask-admin 2.2.1 (after 2.2.0)" in out
    probes = reports / "bisect" / CELL / "cells"
    # Each probe is a real cell run, kept; the one at 2.2.0 passes only with lazy-proxy, which
    # Flask-Admin warns it will remove in 3.0.
    kept = read_result(probes / "py312-flask31-admin220-sqla20-lite02" / "result.json")
    assert kept.verdict == "workaround"
    assert kept.recommended_pattern == "lazy-proxy"
    assert kept.flags == ("deprecated",)
    assert kept.deprecation is not None
    assert "will be removed in version 3.0" in kept.deprecation
