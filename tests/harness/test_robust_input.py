"""Bad input, through nox or the CLI: one line naming file, key and value, a non-zero exit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import PROJECT_ROOT, make_result

from flask_admin_compat import exitcodes
from flask_admin_compat.cli import main
from flask_admin_compat.matrix.matrix import MAX_JOBS, MatrixError, load_matrix
from flask_admin_compat.results.model import write_result

TINY = (
    '[axes]\npython = ["3.12"]\nflask = ["3.1.*"]\nflask-admin = ["2.2.*"]\n'
    'sqlalchemy = ["2.0.*"]\n\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n'
)
INCLUDE = (
    '\n[[include]]\npython = "3.12"\nflask = "3.1.*"\nflask-admin = "2.2.*"\n'
    'sqlalchemy = "2.0.*"\nflask-sqlalchemy = "3.0.*"\n'
)


def _nox(matrix: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(PROJECT_ROOT / "noxfile.py"), *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
        env={**os.environ, "FLASK_ADMIN_COMPAT_MATRIX": str(matrix)},
    )


@pytest.mark.parametrize("args", [("-l",), ("-s", "matrix")], ids=["list", "matrix"])
def test_nox_says_a_bad_matrix_in_one_line(
    write_matrix: Callable[[str], Path], args: tuple[str, ...]
) -> None:
    path = write_matrix(TINY.replace('"3.1.*"]', '"3.1; rm -rf /"]', 1))
    done = _nox(path, *args)
    assert done.returncode == exitcodes.USAGE
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {path}: axes.flask[0] = '3.1; rm -rf /': ")


def test_a_matrix_that_is_not_utf8_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "matrix.toml"
    path.write_bytes(TINY.encode() + b"# caf\xe9 in Latin-1\n")
    with pytest.raises(MatrixError, match=r"not UTF-8 text \(byte 0xe9"):
        load_matrix(path)
    assert main(["list", "--matrix", str(path)]) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {path}: ")
    done = _nox(path, "-l")
    assert done.returncode == exitcodes.USAGE
    assert "UnicodeDecodeError" not in done.stderr
    assert str(path) in done.stderr


@pytest.mark.parametrize(
    ("edit", "key", "value", "words"),
    [
        pytest.param(
            lambda t: "[settings]\njobs = 10000\n" + t,
            "settings.jobs",
            "10000",
            f"at most {MAX_JOBS}",
            id="jobs-10000",
        ),
        pytest.param(
            lambda t: (
                t + INCLUDE.replace('sqlalchemy = "2.0.*"\n', 'sqlalchemy = "2.0.*"\nfoo = "1.0"\n')
            ),
            "include[0].foo",
            "'1.0'",
            "unknown key",
            id="include-unknown-key",
        ),
        pytest.param(
            lambda t: t + INCLUDE.replace('python = "3.12"', 'python = "?"'),
            "include[0].python",
            "'?'",
            "a Python version",
            id="include-python-?",
        ),
        pytest.param(
            lambda t: t.replace('flask = ["3.1.*"]', 'flask = ["3.1.*", "3.1"]'),
            "axes.flask[1]",
            "'3.1'",
            "same id as axes.flask[0] = '3.1.*'",
            id="same-id",
        ),
        pytest.param(
            lambda t: t.replace('flask = ["3.1.*"]', 'flask = ["3.1.*", "3.1.*"]'),
            "axes.flask[1]",
            "'3.1.*'",
            "duplicate value on this axis: same as axes.flask[0] = '3.1.*'",
            id="duplicate",
        ),
        pytest.param(
            lambda t: t + INCLUDE.replace('python = "3.12"', 'python = "3.12"\npins = "x"'),
            "include[0].pins",
            "'x'",
            "pins = { package",
            id="pins-not-a-table",
        ),
    ],
)
def test_bad_values_are_one_line_naming_key_and_value(
    write_matrix: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
    edit: Callable[[str], str],
    key: str,
    value: str,
    words: str,
) -> None:
    path = write_matrix(edit(TINY))
    assert main(["list", "--matrix", str(path)]) == exitcodes.USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"error: {path}: {key} = {value}: ")
    assert words in err


def test_jobs_at_the_limit_is_taken(write_matrix: Callable[[str], Path]) -> None:
    matrix = load_matrix(write_matrix(f"[settings]\njobs = {MAX_JOBS}\n" + TINY))
    assert matrix.settings.jobs == MAX_JOBS


def test_an_include_pins_packages_beyond_the_axes_in_pins(
    write_matrix: Callable[[str], Path],
) -> None:
    text = TINY + INCLUDE.replace(
        'python = "3.12"', 'python = "3.12"\npins = { wtforms = "3.1.*" }'
    )
    (include,) = load_matrix(write_matrix(text)).includes
    assert [name for name, _ in include.values][-2:] == ["wtforms", "flask-sqlalchemy"]


def test_a_pin_may_not_repeat_an_axis(write_matrix: Callable[[str], Path]) -> None:
    text = TINY + INCLUDE.replace('python = "3.12"', 'python = "3.12"\npins = { flask = "3.0.*" }')
    with pytest.raises(MatrixError, match=r"include\[0\]\.pins\.flask = '3\.0\.\*'"):
        load_matrix(write_matrix(text))


def test_cli_refuses_jobs_beyond_the_limit(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--jobs", str(MAX_JOBS + 1)])
    assert exited.value.code == exitcodes.USAGE
    assert f"at most {MAX_JOBS}" in capsys.readouterr().err


def test_merge_exits_non_zero_when_a_result_is_unreadable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cells = tmp_path / "reports" / "cells"
    good = cells / "py312-flask31-admin22-sqla20-fsa31"
    good.mkdir(parents=True)
    write_result(good, make_result("py312-flask31-admin22-sqla20-fsa31"))
    args = ["merge", "--cells", str(cells), "--out", str(tmp_path / "reports")]
    assert main(args) == exitcodes.OK
    broken = cells / "py312-flask30-admin22-sqla20-fsa31"
    broken.mkdir()
    (broken / "result.json").write_text("{", encoding="utf-8")
    assert main(args) == exitcodes.DAMAGED
    assert "py312-flask30-admin22-sqla20-fsa31/result.json" in capsys.readouterr().err
