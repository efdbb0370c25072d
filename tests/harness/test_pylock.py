"""pylock.toml beside each result: asked of uv's cache first, of the index only if need be."""

from __future__ import annotations

import io
import os
import stat
import time
from pathlib import Path

import pytest

from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.pylock import PYLOCK_FILE, write_pylock
from flask_admin_compat.run.pythons import FoundPython

# A stand-in for uv that records its arguments and writes the lock only when allowed online.
FAKE_UV = """#!/bin/sh
echo "$@" >> "{calls}"
out=""
offline=0
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out="$2"; shift;;
    --offline) offline=1;;
  esac
  shift
done
cat > /dev/null
if [ "$offline" = "{fail_offline}" ]; then exit 2; fi
printf 'lock-version = "1.0"\\ncreated-by = "fake"\\n' > "$out"
"""


def fake_uv(tmp_path: Path, *, fail_offline: bool) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    uv = folder / "uv"
    uv.write_text(FAKE_UV.format(calls=tmp_path / "calls", fail_offline=int(fail_offline)))
    uv.chmod(uv.stat().st_mode | stat.S_IEXEC)
    return folder


@pytest.mark.parametrize("fail_offline", [False, True])
def test_the_lock_is_written_offline_first_then_online(tmp_path: Path, fail_offline: bool) -> None:
    folder = fake_uv(tmp_path, fail_offline=fail_offline)
    cell_dir = tmp_path / "cell"
    cell_dir.mkdir()
    env = {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}
    options = RunOptions(repo_root=tmp_path, cells_dir=tmp_path, venvs_dir=tmp_path, timeout_s=60)
    written = write_pylock(
        cell_dir,
        "flask==3.1.3\n",
        FoundPython(Path("/bin/python3"), "3.12.1"),
        options,
        log=io.StringIO(),
        env=env,
        deadline=time.monotonic() + 60,
    )
    assert written == cell_dir / PYLOCK_FILE
    assert written.read_text().startswith('lock-version = "1.0"')
    calls = (tmp_path / "calls").read_text().splitlines()
    assert "--offline" in calls[0]
    assert "--format pylock.toml" in calls[0]
    assert "--no-header" in calls[0]  # the header would name this machine's Python
    assert len(calls) == (2 if fail_offline else 1)


def test_a_lock_already_there_for_the_same_pins_is_kept_without_asking_uv(tmp_path: Path) -> None:
    folder = fake_uv(tmp_path, fail_offline=False)
    cell_dir = tmp_path / "cell"
    cell_dir.mkdir()
    (cell_dir / PYLOCK_FILE).write_text(
        'lock-version = "1.0"\n[[packages]]\nname = "Flask"\nversion = "3.1.3"\n'
        '[[packages]]\nname = "psycopg"\nversion = "3.2.1"\n'
    )
    env = {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}
    options = RunOptions(repo_root=tmp_path, cells_dir=tmp_path, venvs_dir=tmp_path, timeout_s=60)
    found = FoundPython(Path("/bin/python3"), "3.12.1")
    same = "flask==3.1.3\npsycopg[binary]==3.2.1 ; python_version >= '3.8'\n"
    write_pylock(
        cell_dir, same, found, options, log=io.StringIO(), env=env, deadline=time.monotonic() + 60
    )
    assert not (tmp_path / "calls").exists()
    write_pylock(
        cell_dir,
        "flask==3.1.2\n",
        found,
        options,
        log=io.StringIO(),
        env=env,
        deadline=time.monotonic() + 60,
    )
    assert len((tmp_path / "calls").read_text().splitlines()) == 1  # one call: offline sufficed
