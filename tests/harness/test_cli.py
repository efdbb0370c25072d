"""The command line, called as the noxfile calls it: listing, bad input, and runs."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from flask_admin_compat import exitcodes
from flask_admin_compat.cli import main


def test_list_json_for_ci(small_matrix_path: Path) -> None:
    out = io.StringIO()
    assert (
        main(["list", "--matrix", str(small_matrix_path), "--json", "-k", "fsa25"], out=out)
        == exitcodes.OK
    )
    (cell,) = json.loads(out.getvalue())["cells"]
    assert cell["id"] == "py312-flask233-admin16-sqla14-fsa25"
    assert cell["requested"]["flask-sqlalchemy"] == "2.5.*"
    assert cell["excluded"] is None


def test_list_shows_exclusions_with_reasons(small_matrix_path: Path) -> None:
    out = io.StringIO()
    assert (
        main(["list", "--matrix", str(small_matrix_path), "-k", "litelatest and admin161"], out=out)
        == exitcodes.OK
    )
    assert out.getvalue().count("(excluded: Flask-Admin 1.x predates flask-sqlalchemy-lite)") == 2


def test_bad_matrix_is_one_line_on_stderr(
    write_matrix: Callable[[str], Path], capsys: pytest.CaptureFixture[str], small_matrix_path: Path
) -> None:
    path = write_matrix(small_matrix_path.read_text().replace('"3.0.*"', '"3.0; rm -rf /"'))
    assert main(["list", "--matrix", str(path)]) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {path}: axes.flask[0] = '3.0; rm -rf /': ")


def test_run_refuses_a_release_the_index_does_not_have(
    write_matrix: Callable[[str], Path],
    fake_index: Callable[[dict[str, list[tuple[str, str]]]], tuple[str, list[str]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url, _ = fake_index(
        {
            "flask": [("3.1.0", "2024-11-13T00:00:00Z")],
            "flask-admin": [("2.2.0", "2025-01-01T00:00:00Z")],
            "sqlalchemy": [("2.0.40", "2025-01-01T00:00:00Z")],
            "flask-sqlalchemy": [("3.1.1", "2024-01-01T00:00:00Z")],
        }
    )
    monkeypatch.setenv("UV_DEFAULT_INDEX", url)
    path = write_matrix(
        '[axes]\npython = ["3.12"]\nflask = ["3.1.*", "9.9.9"]\nflask-admin = ["2.2.*"]\n'
        'sqlalchemy = ["2.0.*"]\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n'
    )
    assert main(["run", "--matrix", str(path)]) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert f"error: {path}: axes.flask[1] = '9.9.9': no such release on the index" in err
    assert not (tmp_path / "reports").exists()


def test_run_with_no_matching_cell(
    small_matrix_path: Path,
    fake_index: Callable[[dict[str, list[tuple[str, str]]]], tuple[str, list[str]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # The release lists come from an index on loopback: this test must not need the network.
    day = "2025-01-01T00:00:00Z"
    url, _ = fake_index(
        {
            "flask": [("3.0.3", day), ("3.1.0", day), ("2.3.3", day)],
            "flask-admin": [("1.6.1", day), ("2.2.1", day)],
            "sqlalchemy": [("2.0.40", day), ("1.4.54", day)],
            "flask-sqlalchemy": [("3.1.1", day), ("2.5.1", day)],
            "flask-sqlalchemy-lite": [("0.2.0", day)],
        }
    )
    monkeypatch.setenv("UV_DEFAULT_INDEX", url)
    code = main(
        ["run", "--matrix", str(small_matrix_path), "--project", str(tmp_path), "-k", "nosuchcell"]
    )
    assert code == exitcodes.USAGE
    assert "no cell matches" in capsys.readouterr().err


def test_as_of_a_past_date_a_missing_release_is_a_warning(
    write_matrix: Callable[[str], Path],
    fake_index: Callable[[dict[str, list[tuple[str, str]]]], tuple[str, list[str]]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url, _ = fake_index(
        {
            "flask": [("3.1.0", "2024-11-13T00:00:00Z")],
            "flask-admin": [("2.0.2", "2024-10-01T00:00:00Z"), ("2.2.0", "2025-06-01T00:00:00Z")],
            "sqlalchemy": [("2.0.40", "2024-01-01T00:00:00Z")],
            "flask-sqlalchemy": [("3.1.1", "2024-01-01T00:00:00Z")],
        }
    )
    monkeypatch.setenv("UV_DEFAULT_INDEX", url)
    path = write_matrix(
        '[axes]\npython = ["3.12"]\nflask = ["3.1.*"]\nflask-admin = ["2.0.*", "2.2.*"]\n'
        'sqlalchemy = ["2.0.*"]\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n'
    )
    args = ["run", "--matrix", str(path), "--project", str(tmp_path), "-k", "nosuchcell"]
    assert main([*args, "--exclude-newer", "2025-01-15"]) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert (
        f"warning: {path}: axes.flask-admin[1] = '2.2.*': no such release on the index as of 2025-01-15"
        in err
    )
    assert "error: no cell matches the selection" in err
