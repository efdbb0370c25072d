"""The bytecode store: a module compiled in one environment is not compiled again in the next.

Two "environments" here hold one source file as hard links to a third, as uv's cache does.
"""

from __future__ import annotations

import os
import py_compile
import subprocess
import sys
from pathlib import Path

import pytest

from flask_admin_compat.run.bytecode import BytecodeStore

TAG = sys.implementation.cache_tag
SOURCE = "VALUE = 'from the source'\n\ndef where():\n    return where.__code__.co_filename\n"


def _environments(tmp_path: Path) -> tuple[Path, Path]:
    """``a`` and ``b``'s site-packages, each holding ``pkg/mod.py`` linked from one cache file."""
    cache = tmp_path / "uv-cache" / "mod.py"
    cache.parent.mkdir()
    cache.write_text(SOURCE, encoding="utf-8")
    sites = []
    for name in ("a", "b"):
        site = tmp_path / name / "site-packages"
        (site / "pkg").mkdir(parents=True)
        (site / "pkg" / "__init__.py").write_text("", encoding="utf-8")  # one link: not shared
        (site / "pkg" / "mod.py").hardlink_to(cache)
        sites.append(site)
    return sites[0], sites[1]


def _compile(site: Path) -> None:
    """What the suite's first import does in a fresh environment: write timestamp .pyc files."""
    for source in (site / "pkg").glob("*.py"):
        py_compile.compile(
            str(source), doraise=True, invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP
        )


def _pyc(site: Path, module: str = "mod") -> Path:
    return site / "pkg" / "__pycache__" / f"{module}.{TAG}.pyc"


def _import_in(site: Path) -> str:
    """Import pkg.mod from ``site`` in a fresh interpreter that may write bytecode."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run(
        [sys.executable, "-c", "import pkg.mod as m; print(m.where())"],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_a_fresh_environment_gets_the_bytecode_another_compiled(tmp_path: Path) -> None:
    a, b = _environments(tmp_path)
    store = BytecodeStore(tmp_path / "store")
    _compile(a)

    assert store.keep(a).kept == 1  # mod.py only: __init__.py is this environment's own
    assert store.seed(b, cache_tag=TAG).linked == 1
    assert _pyc(b).stat().st_ino == _pyc(a).stat().st_ino
    assert not _pyc(b, "__init__").exists()


def _seeded(tmp_path: Path) -> tuple[Path, Path]:
    """``a`` compiled and kept, ``b`` seeded from the store."""
    a, b = _environments(tmp_path)
    store = BytecodeStore(tmp_path / "store")
    _compile(a)
    store.keep(a)
    store.seed(b, cache_tag=TAG)
    return a, b


def test_python_uses_the_linked_bytecode_under_its_own_path(tmp_path: Path) -> None:
    _, b = _seeded(tmp_path)
    linked = _pyc(b).stat()

    # The code object names b's file (importlib fixes co_filename), and nothing was rewritten.
    assert _import_in(b) == str(b / "pkg" / "mod.py")
    assert _pyc(b).stat().st_ino == linked.st_ino
    assert _pyc(b).stat().st_mtime_ns == linked.st_mtime_ns


def test_a_changed_source_is_recompiled_without_touching_the_store(tmp_path: Path) -> None:
    _, b = _seeded(tmp_path)
    kept = next((tmp_path / "store" / TAG).iterdir())
    before = kept.read_bytes()
    source = b / "pkg" / "mod.py"
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))  # now stale

    _import_in(b)

    assert _pyc(b).stat().st_ino != kept.stat().st_ino  # Python replaced the link
    assert kept.read_bytes() == before


def test_bytecode_that_does_not_match_its_source_is_not_kept(tmp_path: Path) -> None:
    a, _ = _environments(tmp_path)
    store = BytecodeStore(tmp_path / "store")
    _compile(a)
    source = a / "pkg" / "mod.py"
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))

    assert store.keep(a).kept == 0


@pytest.mark.parametrize("header", [b"", b"\0" * 7], ids=["empty", "truncated"])
def test_a_damaged_pyc_is_not_kept(tmp_path: Path, header: bytes) -> None:
    a, _ = _environments(tmp_path)
    _pyc(a).parent.mkdir()
    _pyc(a).write_bytes(header)

    assert BytecodeStore(tmp_path / "store").keep(a).kept == 0


def test_bytecode_of_another_python_is_not_linked(tmp_path: Path) -> None:
    a, b = _environments(tmp_path)
    store = BytecodeStore(tmp_path / "store")
    _compile(a)
    store.keep(a)

    assert store.seed(b, cache_tag="cpython-20").linked == 0
    assert not (b / "pkg" / "__pycache__").exists()


def test_bytecode_already_in_place_is_left_alone(tmp_path: Path) -> None:
    a, b = _environments(tmp_path)
    store = BytecodeStore(tmp_path / "store")
    _compile(a)
    store.keep(a)
    _compile(b)
    own = _pyc(b).stat().st_ino

    assert store.seed(b, cache_tag=TAG).linked == 0
    assert _pyc(b).stat().st_ino == own
    assert store.keep(b).kept == 0  # the store has this source's bytecode already


def test_an_empty_store_seeds_nothing(tmp_path: Path) -> None:
    _, b = _environments(tmp_path)

    assert BytecodeStore(tmp_path / "none").seed(b, cache_tag=TAG).linked == 0


def _truncate(path: Path, size: int = 40) -> None:
    """Cut a file short in place, as a full disk or a killed writer leaves it (same inode)."""
    with path.open("r+b") as file:
        file.truncate(size)


def test_a_damaged_entry_is_dropped_and_never_linked(tmp_path: Path) -> None:
    """The issue's one truncated .pyc that made every cell sharing it fail with EOFError."""
    a, b = _environments(tmp_path)
    store = BytecodeStore(tmp_path / "store")
    _compile(a)
    assert store.keep(a).kept == 1
    _truncate(_pyc(a))  # the entry is the same file (a hard link): damaged with it
    seeded = store.seed(b, cache_tag=TAG)
    assert (seeded.linked, seeded.dropped) == (0, 1)
    assert not _pyc(b).exists()
    assert not list((tmp_path / "store" / TAG).iterdir())
    assert _import_in(b).endswith("mod.py")  # compiled afresh, not served the damaged code


def test_damaged_bytecode_already_linked_into_an_environment_is_dropped(tmp_path: Path) -> None:
    a, b = _environments(tmp_path)
    store = BytecodeStore(tmp_path / "store")
    _compile(a)
    store.keep(a)
    assert store.seed(b, cache_tag=TAG).linked == 1
    _truncate(_pyc(b))
    assert store.drop_damaged(b) == (f"pkg/__pycache__/mod.{TAG}.pyc",)
    assert not _pyc(b).exists()
    assert not list((tmp_path / "store" / TAG).iterdir())
    assert store.drop_damaged(a) == ()  # a's own name for it is no store entry any more


def test_an_entry_without_a_checksum_is_not_trusted(tmp_path: Path) -> None:
    a, b = _environments(tmp_path)
    store = BytecodeStore(tmp_path / "store")
    _compile(a)
    store.keep(a)
    (entry,) = (tmp_path / "store" / TAG).iterdir()
    entry.rename(entry.with_name(entry.name.split(".")[0] + ".pyc"))  # the store's old layout
    assert store.seed(b, cache_tag=TAG).dropped == 1
    assert not _pyc(b).exists()
