"""A throwaway PostgreSQL server for the cells that run against a real database.

Where the user names a server (``DATABASE_URL``), it is used as it is. Otherwise the harness
starts its own from the server binaries on the machine: ``initdb`` into a temporary folder,
``pg_ctl`` on a free port on 127.0.0.1, and everything stopped and removed at the end, after a
failure or Ctrl-C too. PostgreSQL refuses to run as root, so as root it runs as the
unprivileged ``postgres`` user (``runuser``). Each cell gets a database of its own, so cells
running at once never see each other's rows.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.run.process import Reaper, run_logged, tail, time_left

SERVER_USER = "postgres"
START_TIMEOUT_S = 60
_DB_NAME_RE = re.compile(r"[^a-z0-9_]")


class NoServer(RuntimeError):
    """No PostgreSQL server could be had; the message says why and what to do."""


@dataclass(frozen=True)
class Server:
    """Where a PostgreSQL server listens; ``url_for`` names one database on it."""

    base_url: str  # postgresql://user@host:port (no database)
    bindir: Path | None = None
    folder: Path | None = None  # the data of a server the harness started (removed at the end)

    def url_for(self, database: str, *, driver: str | None = None) -> str:
        """The URL of ``database`` on this server, through ``driver`` when one is named."""
        parts = urlsplit(self.base_url)
        scheme = f"postgresql+{driver}" if driver else parts.scheme
        return urlunsplit((scheme, parts.netloc, f"/{database}", parts.query, ""))

    @property
    def maintenance_database(self) -> str:
        """Where to connect to create databases: the URL's own, else ``postgres``."""
        return urlsplit(self.base_url).path.lstrip("/") or "postgres"


def server_from_url(url: str) -> Server:
    """A server the user named (``DATABASE_URL``); its database is where the harness connects."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgresql"):
        raise NoServer(f"DATABASE_URL must name a PostgreSQL server, not {parts.scheme!r}")
    return Server(urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, "")))


def database_name(cell_id: str) -> str:
    """A database name from a cell id: lower case, digits and underscores, at most 63 bytes."""
    name = "cell_" + _DB_NAME_RE.sub("_", cell_id.lower())
    return name[:63]


def find_bindir(env: Mapping[str, str] | None = None) -> Path | None:
    """The folder holding initdb and pg_ctl: pg_config's answer, Debian's versioned folders, PATH.

    Debian puts the server binaries in /usr/lib/postgresql/<major>/bin, which is not on PATH.
    """
    env = os.environ if env is None else env
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config", path=env.get("PATH"))
    if pg_config:
        done = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            candidates.append(Path(done.stdout.strip()))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_major, reverse=True)
    candidates.extend(debian)
    on_path = shutil.which("initdb", path=env.get("PATH"))
    if on_path:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _major(path: Path) -> int:
    try:
        return int(path.parent.name)
    except ValueError:
        return 0


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def throwaway_server() -> Iterator[Server]:
    """Start a private server for the duration of the ``with`` block, then remove it."""
    bindir = find_bindir()
    if bindir is None:
        raise NoServer(
            "no PostgreSQL server: set DATABASE_URL to one, or install the server "
            "(Debian: apt-get install postgresql)"
        )
    as_root = os.geteuid() == 0
    # In the system's temporary folder: the server user must be able to reach it.
    folder = Path(tempfile.mkdtemp(prefix="compat-pg-"))
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    if as_root:
        shutil.chown(folder, user=SERVER_USER)
        shutil.chown(sockets, user=SERVER_USER)
    port = free_port()
    try:
        _as_server_user(
            [str(bindir / "initdb"), "-D", str(data), "-U", SERVER_USER, "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            as_root=as_root,
        )  # fmt: skip
        # Durability is pointless for a server that is deleted at the end: trade it for speed.
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        _as_server_user(
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"),
             "-o", options, "-w", "-t", str(START_TIMEOUT_S), "start"],
            as_root=as_root,
        )  # fmt: skip
        yield Server(f"postgresql://{SERVER_USER}@127.0.0.1:{port}", bindir, folder)
    finally:
        if (data / "postmaster.pid").exists():
            _as_server_user(
                [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                as_root=as_root, check=False,
            )  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def create_database(server: Server, name: str) -> str:
    """Create (afresh) the database ``name`` and return its URL."""
    if _DB_NAME_RE.search(name):
        raise ValueError(f"not a plain database name: {name!r}")
    assert server.bindir is not None, "databases are created on servers the harness started"
    parts = urlsplit(server.base_url)
    where = [
        "-h",
        parts.hostname or "127.0.0.1",
        "-p",
        str(parts.port or 5432),
        "-U",
        parts.username or SERVER_USER,
    ]
    subprocess.run(
        [str(server.bindir / "dropdb"), *where, "--if-exists", name],
        capture_output=True,
        check=True,
    )
    subprocess.run([str(server.bindir / "createdb"), *where, name], capture_output=True, check=True)
    return server.url_for(name)


def _as_server_user(argv: list[str], *, as_root: bool, check: bool = True) -> None:
    command = ["runuser", "-u", SERVER_USER, "--", *argv] if as_root else argv
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise NoServer(
            f"{Path(argv[0]).name} failed: {(done.stderr or done.stdout).strip()[-500:]}"
        )


@contextmanager
def server_for_cells(
    *, needed: bool, database_url: str | None
) -> Iterator[tuple[Server | None, str]]:
    """The server PostgreSQL cells use during a run, or None and why there is none.

    The user's ``DATABASE_URL`` when given, else a throwaway server started here and removed
    when the ``with`` block ends. Never an exception: without a server those cells are errors
    that say what to do, and the other cells run as usual.
    """
    if not needed:
        yield None, ""
        return
    stack = ExitStack()
    server: Server | None = None
    missing = ""
    try:
        if database_url:
            server = server_from_url(database_url)
        else:
            server = stack.enter_context(throwaway_server())
    except NoServer as exc:
        missing = str(exc)
    with stack:
        yield server, missing


@dataclass(frozen=True)
class Problem:
    reason: str


#: SQLAlchemy's default DBAPI module for postgresql:// -> the distribution that provides it.
POSTGRES_DRIVERS: Mapping[str, str] = {"psycopg2": "psycopg2-binary", "psycopg": "psycopg[binary]"}


# Asked of the cell's own SQLAlchemy: which driver does postgresql:// mean, and is it there?
DRIVER_PROBE = (
    "import importlib.util, sqlalchemy.dialects.postgresql as pg; "
    "print(pg.dialect.driver, importlib.util.find_spec(pg.dialect.driver) is not None)"
)


CREATE_DATABASE = """
import sys, sqlalchemy as sa
url, name = sys.argv[1], sys.argv[2]
engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
with engine.connect() as conn:
    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
engine.dispose()
"""


def prepare_postgres(
    cell: Cell,
    server: Server | None,
    venv: Path,
    *,
    missing: str,
    reaper: Reaper | None,
    log: IO[str],
    deadline: float,
    env: Mapping[str, str],
) -> str | Problem:
    """Give the cell a driver and a fresh database of its own; its URL, or why not.

    The driver is the one the cell's SQLAlchemy reads ``postgresql://`` as (feature
    detection: psycopg2 for 1.4 and 2.0, psycopg 3 for 2.1), installed with the cell's lock
    as constraints so that no version under test moves; it shows in the installed versions.
    ``missing`` says why there is no server, when there is none.
    """
    if server is None:
        return Problem(missing)
    python = str(venv / "bin" / "python")
    probe = run_logged([python, "-c", DRIVER_PROBE], log=log, timeout_s=time_left(deadline),
                       reaper=reaper)  # fmt: skip
    words = probe.output.split()
    if probe.returncode != 0 or len(words) != 2 or words[0] not in POSTGRES_DRIVERS:
        return Problem(f"no PostgreSQL driver known for this SQLAlchemy: {tail(probe.output)}")
    driver, present = words[0], words[1] == "True"
    if not present:
        added = run_logged(
            ["uv", "pip", "install", "--quiet", "--python", python,
             "--constraint", str(venv / "requirements.lock"), POSTGRES_DRIVERS[driver]],
            log=log, timeout_s=time_left(deadline), env=env, reaper=reaper,
        )  # fmt: skip
        if added.returncode != 0:
            return Problem(f"the PostgreSQL driver {driver} did not install: {tail(added.output)}")
    name = database_name(cell.id)
    made = run_logged(
        [python, "-c", CREATE_DATABASE, server.url_for(server.maintenance_database, driver=driver), name],
        log=log, timeout_s=time_left(deadline), reaper=reaper,
    )  # fmt: skip
    if made.returncode != 0:
        return Problem(f"could not create the cell's database on the server: {tail(made.output)}")
    return server.url_for(name, driver=driver)
