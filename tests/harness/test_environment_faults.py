"""A broken machine is never a broken stack: uv's cache on a full disk, an index out of reach.

Each runs the real uv against a fault made for it: a tmpfs of a few kilobytes under uv's
cache (where the machine lets the test mount one; else a cache folder that cannot be made),
and a proxy on a closed port of 127.0.0.1. Nothing is fetched: the faults stop uv first.
"""

from __future__ import annotations

import io
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import make_result

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import FLASK_SQLALCHEMY
from flask_admin_compat.matrix.specs import parse_spec
from flask_admin_compat.results.model import UpstreamCounts, UpstreamResult, write_result
from flask_admin_compat.run.cell import run_cell
from flask_admin_compat.run.env import resolve_cell
from flask_admin_compat.run.locks import CachedResolution, LockCache
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.refusal import refused_by_resolver

# uv 0.13's words, as the faults below made it say them.
CONFLICT = (
    "error: No solution found when resolving dependencies\n"
    "  cause: Because you require flask==3.1.* and flask==2.3.*, we can conclude that your "
    "requirements are unsatisfiable.\n"
)
FULL_DISK = (
    "error: Failed to write to the client cache\n"
    "  cause: failed to write to file `/cache/simple-v28/pypi/.tmpL9yFNN`: No space left on "
    "device (os error 28)\n"
)
OFFLINE = (
    "error: Request failed after 3 retries in 1.9s\n"
    "  cause: Failed to fetch: https://index.example/simple/flask/\n"
    "  cause: Connection refused (os error 111)\n"
)
NO_NETWORK = (
    "error: No solution found when resolving dependencies\n"
    "  cause: Because flask was not found in the cache and you require flask==3.1.*, we can "
    "conclude that your requirements are unsatisfiable.\n"
    "hint: Packages were unavailable because the network was disabled.\n"
)
RECORDED = UpstreamResult("ran", "194 passed", "u1", counts=UpstreamCounts(passed=194))


@pytest.mark.parametrize(
    ("output", "refused"),
    [(CONFLICT, True), (FULL_DISK, False), (OFFLINE, False), (NO_NETWORK, False)],
    ids=["conflict", "full-disk", "offline", "network-disabled"],
)
def test_only_the_resolvers_refusal_is_a_refusal(output: str, refused: bool) -> None:
    assert refused_by_resolver(output) is refused


def _cell() -> Cell:
    packages = (
        ("flask", parse_spec("3.1.*")),
        ("flask-admin", parse_spec("2.2.*")),
        ("sqlalchemy", parse_spec("2.0.*")),
        (FLASK_SQLALCHEMY, parse_spec("3.1.*")),
    )
    return Cell(parse_spec("3.12"), packages, FLASK_SQLALCHEMY)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """uv with an empty cache of its own and every request sent to a proxy that is not there."""
    proxy = f"http://127.0.0.1:{_closed_port()}"
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.setenv("no_proxy", "")
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))


@pytest.fixture
def full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """uv's cache on a file system with no room (a 64 KiB tmpfs), or that cannot be made."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode == 0:
        (mount / "filler").write_bytes(b"\0" * (64 * 1024 - 4096))
        monkeypatch.setenv("UV_CACHE_DIR", str(mount / "uv"))
        try:
            yield "No space left on device"
        finally:
            subprocess.run(["umount", "-l", str(mount)], check=False)
    else:  # no mount allowed here: a cache folder that cannot be created is an I/O error too
        (tmp_path / "a-file").write_text("")
        monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "a-file" / "uv"))
        yield "Not a directory"


def _options(tmp_path: Path, *, cache: LockCache | None = None) -> RunOptions:
    return RunOptions(
        repo_root=tmp_path,
        cells_dir=tmp_path / "cells",
        venvs_dir=tmp_path / "venvs",
        timeout_s=120,
        lock_cache=cache,
    )


def _resolve(options: RunOptions) -> tuple[str | None, str]:
    log = io.StringIO()
    resolution = resolve_cell(_cell(), options, log=log, deadline=time.monotonic() + 120, echo=None)
    return resolution.failure, resolution.reason


@pytest.mark.usefixtures("offline")
def test_an_unreachable_index_is_an_error_and_never_cached(tmp_path: Path) -> None:
    cache = LockCache(tmp_path / "locks", "listing-1")
    failure, reason = _resolve(_options(tmp_path, cache=cache))
    assert failure == "error"
    assert "not a verdict" in reason
    assert "Connection refused" in reason or "Request failed" in reason
    assert not (tmp_path / "locks").exists() or not any((tmp_path / "locks").iterdir())


def test_a_full_disk_under_uvs_cache_is_an_error_and_never_cached(
    tmp_path: Path, full_disk: str
) -> None:
    cache = LockCache(tmp_path / "locks", "listing-1")
    failure, reason = _resolve(_options(tmp_path, cache=cache))
    assert failure == "error"
    assert full_disk in reason
    assert not (tmp_path / "locks").exists() or not any((tmp_path / "locks").iterdir())


@pytest.mark.usefixtures("offline")
def test_a_cached_refusal_that_was_the_machines_is_not_reused(tmp_path: Path) -> None:
    """An older harness cached a full disk as the resolver's refusal: uv is asked again."""
    cache = LockCache(tmp_path / "locks", "listing-1")
    options = _options(tmp_path, cache=cache)
    refusal = "Failed to write to the client cache: No space left on device (os error 28)"
    cache.put(_planted_key(cache, options), CachedResolution(refusal=refusal))
    failure, reason = _resolve(options)
    assert failure == "error"
    assert "No space left" not in reason  # uv was asked again, and its answer now is kept
    assert "Request failed" in reason or "Connection refused" in reason


def _planted_key(cache: LockCache, options: RunOptions) -> str:
    """The key :func:`resolve_cell` reads for :func:`_cell`, found as it finds it."""
    from flask_admin_compat.matrix.matrix import SUITE_REQUIREMENTS
    from flask_admin_compat.run.env import prerelease_args
    from flask_admin_compat.run.pythons import FoundPython, provide_python

    found = provide_python("3.12", download=options.download_python)
    assert isinstance(found, FoundPython)
    cell = _cell()
    requirements = (*cell.requirements, *SUITE_REQUIREMENTS, *prerelease_args(cell))
    return cache.key(
        python=str(found.executable), python_version=found.version, requirements=requirements
    )


@pytest.mark.usefixtures("offline")
def test_a_rerun_that_errors_keeps_the_cells_upstream_results(tmp_path: Path) -> None:
    cell = _cell()
    write_result(tmp_path / "cells" / cell.id, make_result(cell.id, upstream=RECORDED))
    result = run_cell(cell, _options(tmp_path))
    assert result.verdict == "error"
    assert result.upstream == RECORDED
