"""Finding interpreters the way machines like ours keep them (pyenv, shims that fail)."""

from __future__ import annotations

import stat
from pathlib import Path

from flask_admin_compat.run.pythons import FoundPython, PythonNotFound, find_python


def _script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n" + body + "\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_pyenv_version_is_found_past_a_failing_shim(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    _script(shims / "python3.12", "echo 'pyenv: python3.12: command not found' >&2; exit 127")
    _script(tmp_path / "pyenv/versions/3.12.1/bin/python3.12", "echo 3.12.1")
    _script(tmp_path / "pyenv/versions/3.12.10/bin/python3.12", "echo 3.12.10")
    _script(tmp_path / "pyenv/versions/3.120.0/bin/python3.120", "echo 3.120.0")
    env = {"PATH": f"{shims}:/usr/bin:/bin", "PYENV_ROOT": str(tmp_path / "pyenv")}
    found = find_python("3.12", env=env)
    assert found == FoundPython(tmp_path / "pyenv/versions/3.12.10/bin/python3.12", "3.12.10")


def test_a_working_python_on_path_is_used(tmp_path: Path) -> None:
    on_path = _script(tmp_path / "bin" / "python3.11", "echo 3.11.7")
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "PYENV_ROOT": str(tmp_path / "none")}
    assert find_python("3.11", env=env) == FoundPython(on_path, "3.11.7")


def test_missing_python_is_a_value_with_a_hint(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    _script(shims / "python3.7", "exit 127")
    env = {"PATH": f"{shims}:/usr/bin:/bin", "PYENV_ROOT": str(tmp_path / "none")}
    found = find_python("3.7", env=env)
    assert isinstance(found, PythonNotFound)
    assert found.message.startswith("Python 3.7 not found")
    assert str(shims / "python3.7") in found.message
    assert "uv python install 3.7" in found.message
