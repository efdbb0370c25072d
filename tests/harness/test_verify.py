"""Trust before a red verdict: an environment checked against its lock and its RECORD files."""

from __future__ import annotations

import base64
import hashlib
import py_compile
from pathlib import Path

from factories import make_outcome, make_result

from flask_admin_compat.run.verify import distrusted, summary, verify_environment

LOCK = "pkg==1.0\n"


def _site(tmp_path: Path) -> Path:
    """A site-packages holding one distribution, ``pkg`` 1.0, with its RECORD as a wheel has."""
    site = tmp_path / "site-packages"
    (site / "pkg").mkdir(parents=True)
    files = {"pkg/__init__.py": b"", "pkg/mod.py": b"VALUE = 1\n"}
    info = site / "pkg-1.0.dist-info"
    info.mkdir()
    files["pkg-1.0.dist-info/METADATA"] = b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"
    lines = []
    for name, data in files.items():
        (site / name).write_bytes(data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        lines.append(f"{name},sha256={digest},{len(data)}")
    lines.append("pkg-1.0.dist-info/RECORD,,")
    (info / "RECORD").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return site


def test_an_intact_environment_passes(tmp_path: Path) -> None:
    site = _site(tmp_path)
    py_compile.compile(str(site / "pkg" / "mod.py"), doraise=True)
    assert verify_environment(site, LOCK) == ()


def test_a_deleted_package_folder_is_named(tmp_path: Path) -> None:
    """The issue's ``site-packages/flask/`` deleted: the stack would not start."""
    site = _site(tmp_path)
    for file in (site / "pkg").iterdir():
        file.unlink()
    problems = verify_environment(site, LOCK)
    assert "pkg 1.0: pkg/mod.py is missing" in problems
    assert "pkg 1.0: pkg/__init__.py is missing" in problems


def test_a_changed_file_does_not_match_its_record(tmp_path: Path) -> None:
    site = _site(tmp_path)
    (site / "pkg" / "mod.py").write_bytes(b"VALUE = 2\n")
    assert verify_environment(site, LOCK) == ("pkg 1.0: pkg/mod.py does not match its RECORD hash",)


def test_a_truncated_pyc_is_named(tmp_path: Path) -> None:
    site = _site(tmp_path)
    compiled = py_compile.compile(str(site / "pkg" / "mod.py"), doraise=True)
    assert compiled is not None
    pyc = Path(compiled)
    pyc.write_bytes(pyc.read_bytes()[:20])
    (problem,) = verify_environment(site, LOCK)
    assert problem.startswith("pkg/__pycache__/mod.")
    assert "marshal data too short" in problem


def test_a_pin_missing_or_moved_is_named(tmp_path: Path) -> None:
    site = _site(tmp_path)
    assert verify_environment(site, "pkg==1.1\nother==2.0\n") == (
        "pkg: the lock pins 1.1, installed 1.0",
        "other: the lock pins 2.0, installed None",
    )


def test_the_summary_names_a_few_and_counts_the_rest() -> None:
    assert summary(tuple(f"p{i}" for i in range(8))) == "p0; p1; p2; p3; p4; and 3 more"


def test_what_is_verified_before_it_is_recorded() -> None:
    installed = {"flask": "3.1.2"}
    started = make_outcome("startup", pattern="*")
    did_not_start = make_outcome("startup", "failed", pattern="*")
    sound = make_result(installed=installed, checks=(started,))
    broken = make_result(verdict="incompatible", installed=installed, checks=(did_not_start,))
    assert distrusted(broken, None)  # a stack that does not start
    assert distrusted(broken, broken)  # ... every time
    assert not distrusted(sound, None)
    assert not distrusted(sound, sound)  # the same result as last time
    assert distrusted(make_result(verdict="workaround", installed=installed), sound)
    assert distrusted(make_result(verdict="error", installed=installed), None)  # a crash
    assert not distrusted(
        make_result(verdict="error", installed=installed, reason="timed out after 900 s"), None
    )
    assert not distrusted(make_result(verdict="uninstallable"), sound)  # nothing installed
