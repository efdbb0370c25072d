"""--download-python (nox's option): never by default, auto and always through uv."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from factories import PROJECT_ROOT

from flask_admin_compat.cli import _parser
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.specs import VersionSpec
from flask_admin_compat.run.env import prerelease_args
from flask_admin_compat.run.pythons import FoundPython, PythonNotFound, provide_python


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def _fake_uv(tmp_path: Path, *, install_works: bool) -> dict[str, str]:
    """A uv whose `python install` logs its call and fails offline (or lands a Python)."""
    managed = tmp_path / "managed" / "cpython-3.14.0" / "bin" / "python3.14"
    calls = tmp_path / "uv-calls.txt"
    install = (
        f'mkdir -p "{managed.parent}"; printf "#!/bin/sh\\necho 3.14.0\\n" > "{managed}"; '
        f'chmod +x "{managed}"; exit 0'
        if install_works
        else "echo 'error: Failed to download python: dns error' >&2; exit 1"
    )
    _script(
        tmp_path / "bin" / "uv",
        f'echo "$@" >> "{calls}"\n'
        f'case "$1 $2" in\n'
        f'  "python install") {install};;\n'
        f'  "python find") if [ "$3" = "--managed-python" ] && [ -x "{managed}" ]; then '
        f'echo "{managed}"; exit 0; fi; exit 2;;\n'
        f"esac\nexit 2",
    )
    return {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "PYENV_ROOT": str(tmp_path / "none")}


def _calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "uv-calls.txt"
    return path.read_text().splitlines() if path.is_file() else []


def test_never_reports_a_missing_python_and_downloads_nothing(tmp_path: Path) -> None:
    env = _fake_uv(tmp_path, install_works=True)
    found = provide_python("3.14", download="never", env=env)
    assert isinstance(found, PythonNotFound)
    assert "--download-python auto" in found.message  # the hint says how to let uv fetch it
    assert not any(c.startswith("python install") for c in _calls(tmp_path))


def test_auto_downloads_only_what_is_missing(tmp_path: Path) -> None:
    env = _fake_uv(tmp_path, install_works=True)
    found = provide_python("3.14", download="auto", env=env)
    assert isinstance(found, FoundPython)
    assert found.version == "3.14.0"
    assert "python install --no-bin 3.14" in _calls(tmp_path)
    _script(tmp_path / "bin" / "python3.13", "echo 3.13.0")
    assert provide_python("3.13", download="auto", env=env) == FoundPython(
        tmp_path / "bin" / "python3.13", "3.13.0"
    )
    assert _calls(tmp_path).count("python install --no-bin 3.13") == 0


def test_always_uses_a_managed_python_even_when_one_is_installed(tmp_path: Path) -> None:
    env = _fake_uv(tmp_path, install_works=True)
    _script(tmp_path / "bin" / "python3.14", "echo 3.14.0")
    found = provide_python("3.14", download="always", env=env)
    assert isinstance(found, FoundPython)
    assert "managed" in str(found.executable)


def test_a_failed_download_is_an_error_with_uvs_words(tmp_path: Path) -> None:
    env = _fake_uv(tmp_path, install_works=False)
    found = provide_python("3.14", download="auto", env=env)
    assert isinstance(found, PythonNotFound)
    assert "dns error" in found.message
    assert "--download-python auto" in found.message
    assert "\n" not in found.message


def test_run_takes_noxs_values_and_defaults_to_never() -> None:
    assert _parser().parse_args(["run"]).download_python == "never"
    assert _parser().parse_args(["run", "--download-python", "auto"]).download_python == "auto"
    with pytest.raises(SystemExit):
        _parser().parse_args(["run", "--download-python", "sometimes"])


def _cell(*specs: tuple[str, VersionSpec]) -> Cell:
    return Cell(VersionSpec("exact", "3.10"), specs, "flask-sqlalchemy")


def test_the_resolver_takes_no_prerelease_unless_one_is_pinned() -> None:
    series = _cell(("sqlalchemy", VersionSpec("series", "2.1.*")))
    assert prerelease_args(series) == ("--prerelease", "disallow")
    pinned = _cell(("flask-admin", VersionSpec("exact", "2.3.0rc1")))
    assert prerelease_args(pinned) == ("--prerelease", "explicit")


@pytest.mark.parametrize(
    ("args", "env", "passed"),
    [
        (["--download-python", "auto"], {}, "--download-python auto"),
        ([], {"NOX_DOWNLOAD_PYTHON": "always"}, "--download-python always"),
        ([], {}, None),  # nox's own default (auto) is not passed on: the harness's is never
    ],
)
def test_the_noxfile_passes_noxs_own_option_on(
    args: list[str], env: dict[str, str], passed: str | None
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nox",
            "-f",
            str(PROJECT_ROOT / "noxfile.py"),
            "-R",
            "-s",
            "matrix",
            *args,
            "--",
            "--help",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=PROJECT_ROOT,
        env={**{k: v for k, v in os.environ.items() if k != "NOX_DOWNLOAD_PYTHON"}, **env},
    )
    assert done.returncode == 0, done.stderr
    (command,) = [ln for ln in done.stderr.splitlines() if "flask-admin-compat run" in ln]
    if passed is None:
        assert "--download-python" not in command
    else:
        assert passed in command
