"""The throwaway PostgreSQL server: started on loopback, one database per cell, always removed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from flask_admin_compat.run import postgres
from flask_admin_compat.run.postgres import (
    NoServer,
    Server,
    create_database,
    database_name,
    find_bindir,
    throwaway_server,
)

needs_server = pytest.mark.skipif(find_bindir() is None, reason="no PostgreSQL server binaries")


def test_database_names_are_plain() -> None:
    assert (
        database_name("py312-flask31-admin22-sqla20-fsa31-pg")
        == "cell_py312_flask31_admin22_sqla20_fsa31_pg"
    )
    assert len(database_name("x" * 100)) == 63


@needs_server
def test_server_starts_serves_a_database_per_cell_and_is_removed() -> None:
    with throwaway_server() as server:
        assert server.base_url.startswith("postgresql://postgres@127.0.0.1:")
        urls = [create_database(server, database_name(cid)) for cid in ("cell-a", "cell-b")]
        for url in urls:
            done = subprocess.run(
                [str((server.bindir or Path()) / "psql"), url, "-tAc", "select current_database()"],
                capture_output=True,
                text=True,
                check=True,
            )
            assert done.stdout.strip() == url.rsplit("/", 1)[1]
    assert server.folder is not None
    assert not server.folder.exists()


@needs_server
def test_server_is_removed_after_a_failure() -> None:
    started: list[Server] = []

    def fail_while_running() -> None:
        with throwaway_server() as server:
            started.append(server)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_while_running()
    assert started[0].folder is not None
    assert not started[0].folder.exists()


def test_no_binaries_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres, "find_bindir", lambda env=None: None)
    with (
        pytest.raises(NoServer, match="no PostgreSQL server: set DATABASE_URL"),
        throwaway_server(),
    ):
        pass


def test_bindir_is_found_off_path(tmp_path: Path) -> None:
    found = find_bindir({"PATH": str(tmp_path)})
    if shutil.which("pg_config") is None and not list(Path("/usr/lib/postgresql").glob("*/bin")):
        assert found is None
    else:
        assert found is not None
        assert (found / "initdb").is_file()
