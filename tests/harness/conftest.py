"""Fixtures shared by the harness's own tests (never by the suite that runs inside cells)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

# check-app's pytest plugin is tested in pytester runs in this process. pytester removes the
# modules a run imported when it ends, and the stack cannot be imported a second time in one
# process (SQLAlchemy's compiled extensions and registries keep the first copies): imported
# here, before any run, they outlive every run.
import flask_admin.contrib.sqla  # noqa: F401
import flask_sqlalchemy  # noqa: F401
import pytest
import sqlalchemy.dialects.sqlite
import sqlalchemy.orm  # noqa: F401
from factories import RESOURCES

pytest_plugins = ["pytester"]


@pytest.fixture
def small_matrix_path() -> Path:
    return RESOURCES / "small-matrix.toml"


@pytest.fixture
def write_matrix(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write matrix.toml text into a fresh folder and return its path."""

    def write(text: str) -> Path:
        path = tmp_path / "matrix.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


class _SimpleIndex(http.server.BaseHTTPRequestHandler):
    """A PEP 691 index on loopback: /<name>/ lists the releases given to :func:`fake_index`."""

    releases: dict[str, list[tuple[str, ...]]] = {}  # noqa: RUF012 - set per server below
    requests: list[str] = []  # noqa: RUF012

    def do_GET(self) -> None:
        name = self.path.strip("/")
        self.requests.append(name)
        if name not in self.releases:
            self.send_error(404)
            return
        # A release is (version, upload time) or (version, upload time, yanked).
        files = [
            {
                "filename": f"{name.replace('-', '_')}-{v}-py3-none-any.whl",
                "upload-time": t,
                "yanked": bool(rest and rest[0]),
            }
            for v, t, *rest in self.releases[name]
        ]
        body = json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def fake_index() -> Iterator[Callable[[dict[str, list[tuple[str, str]]]], tuple[str, list[str]]]]:
    """Serve release lists on 127.0.0.1; returns the index URL and the log of requests."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(releases: dict[str, list[tuple[str, str]]]) -> tuple[str, list[str]]:
        requests: list[str] = []
        handler = type("Handler", (_SimpleIndex,), {"releases": releases, "requests": requests})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", requests

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
