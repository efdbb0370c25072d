"""A cell's environment: installed from uv's cache offline when it can, online when it must."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from pathlib import Path

import pytest

from flask_admin_compat.run.bytecode import BytecodeStore
from flask_admin_compat.run.env import ensure_environment, installed_versions
from flask_admin_compat.run.pythons import FoundPython

#: Stands in for uv: records each call, makes a venv's folders, "installs" one distribution;
#: refuses an offline sync when FAKE_UV_NOT_CACHED is set, as uv does for a pin not cached.
FAKE_UV = """\
import json, os, sys
from pathlib import Path
args = sys.argv[1:]
with open(os.environ["FAKE_UV_CALLS"], "a") as calls:
    calls.write(json.dumps(args) + "\\n")
if args[0] == "venv":
    site = Path(args[-1], "lib", "python3.12", "site-packages")
    site.mkdir(parents=True, exist_ok=True)
elif args[:2] == ["pip", "sync"]:
    if "--offline" in args and os.environ.get("FAKE_UV_NOT_CACHED"):
        print("error: Network connectivity is disabled, but flask was not found in the cache")
        sys.exit(2)
    python = Path(args[args.index("--python") + 1])
    meta = python.parent.parent / "lib" / "python3.12" / "site-packages" / "Flask-3.1.2.dist-info"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "METADATA").write_text("Metadata-Version: 2.1\\nName: Flask\\nVersion: 3.1.2\\n")
"""


@pytest.fixture
def fake_uv(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "bin"
    folder.mkdir()
    uv = folder / "uv"
    uv.write_text(f"#!{sys.executable}\n{FAKE_UV}", encoding="utf-8")
    uv.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
        "FAKE_UV_CALLS": str(tmp_path / "calls.jsonl"),
    }


def _ensure(tmp_path: Path, env: dict[str, str], log: io.StringIO) -> str | None:
    return ensure_environment(
        tmp_path / "venv",
        FoundPython(Path(sys.executable), "3.12.1"),
        "flask==3.1.2\n",
        log=log,
        deadline=time.monotonic() + 60,
        env=env,
        echo=None,
        reaper=None,
        bytecode=BytecodeStore(tmp_path / "bytecode"),
    )


def _syncs(env: dict[str, str]) -> list[list[str]]:
    calls = Path(env["FAKE_UV_CALLS"]).read_text(encoding="utf-8").splitlines()
    return [args for args in map(json.loads, calls) if args[:2] == ["pip", "sync"]]


def test_pins_already_in_uvs_cache_install_offline(tmp_path: Path, fake_uv: dict[str, str]) -> None:
    log = io.StringIO()

    assert _ensure(tmp_path, fake_uv, log) is None
    assert [("--offline" in args) for args in _syncs(fake_uv)] == [True]
    assert installed_versions(tmp_path / "venv", log=log) == {"flask": "3.1.2"}


def test_a_pin_missing_from_the_cache_is_installed_from_the_index(
    tmp_path: Path, fake_uv: dict[str, str]
) -> None:
    log = io.StringIO()

    assert _ensure(tmp_path, {**fake_uv, "FAKE_UV_NOT_CACHED": "1"}, log) is None
    assert [("--offline" in args) for args in _syncs(fake_uv)] == [True, False]
    assert "installing from the index" in log.getvalue()
    assert installed_versions(tmp_path / "venv", log=log) == {"flask": "3.1.2"}


def test_an_environment_holding_the_pins_is_reused(tmp_path: Path, fake_uv: dict[str, str]) -> None:
    log = io.StringIO()
    _ensure(tmp_path, fake_uv, log)

    assert _ensure(tmp_path, fake_uv, log) is None
    assert len(_syncs(fake_uv)) == 1
    assert "it already holds these pins" in log.getvalue()


def test_an_environment_without_metadata_lists_nothing_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "venv" / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    log = io.StringIO()

    assert installed_versions(tmp_path / "venv", log=log) == {}
    assert "could not list the installed packages" in log.getvalue()


def test_a_dist_info_without_its_metadata_is_skipped(tmp_path: Path) -> None:
    site = tmp_path / "venv" / "lib" / "python3.12" / "site-packages"
    (site / "half-1.0.dist-info").mkdir(parents=True)  # an install killed half-way
    whole = site / "Flask-3.1.2.dist-info"
    whole.mkdir()
    (whole / "METADATA").write_text("Metadata-Version: 2.1\nName: Flask\nVersion: 3.1.2\n")

    assert installed_versions(tmp_path / "venv", log=io.StringIO()) == {"flask": "3.1.2"}
