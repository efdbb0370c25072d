"""Yanks and removals: a series resolves as the index says now, not as uv's cache last heard.

A tiny index on loopback serves two real wheels of one package, with the cache headers a
public index gives (uv may reuse a page for ten minutes); then the newer one is yanked.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import platform
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from flask_admin_compat.matrix.index import load_or_fetch_snapshot, snapshot_from_json
from flask_admin_compat.run.env import compile_pins
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.pythons import FoundPython

NAME = "yankme"


def _wheel(version: str) -> bytes:
    """A pure-Python wheel of ``yankme`` at ``version``: metadata is all a resolver reads."""
    info = f"{NAME}-{version}.dist-info"
    files = {
        f"{NAME}/__init__.py": b"",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in {**files, f"{info}/RECORD": record.encode()}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class _Index(http.server.BaseHTTPRequestHandler):
    wheels: dict[str, bytes] = {}  # noqa: RUF012 - set per server
    yanked: set[str] = set()  # noqa: RUF012

    def do_HEAD(self) -> None:  # uv asks whether a wheel can be read in ranges: it cannot
        self._head_only = True
        self.do_GET()

    def do_GET(self) -> None:
        if self.path.rstrip("/") == f"/simple/{NAME}":
            files = [
                {
                    "filename": f"{NAME}-{v}-py3-none-any.whl",
                    "url": f"/files/{NAME}-{v}-py3-none-any.whl",
                    "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
                    "yanked": v in self.yanked,
                    "upload-time": "2026-01-01T00:00:00Z",
                }
                for v, data in self.wheels.items()
            ]
            body = json.dumps({"meta": {"api-version": "1.1"}, "name": NAME, "files": files})
            self._answer(body.encode(), "application/vnd.pypi.simple.v1+json")
        elif self.path.startswith("/files/"):
            version = self.path.split("-")[1]
            self._answer(self.wheels[version], "application/octet-stream")
        else:
            self.send_error(404)

    def _answer(self, body: bytes, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Cache-Control", "max-age=600, public")  # as a public index says
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not getattr(self, "_head_only", False):
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, set[str]]]:
    """The index's simple URL and its set of yanked versions (add one to yank it)."""
    yanked: set[str] = set()
    handler = type(
        "Handler", (_Index,), {"wheels": {v: _wheel(v) for v in ("1.0", "1.1")}, "yanked": yanked}
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/simple"
    monkeypatch.setenv("UV_DEFAULT_INDEX", url)
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))
    try:
        yield url, yanked
    finally:
        server.shutdown()
        server.server_close()


def _resolve(tmp_path: Path, *, refresh: tuple[str, ...] = ()) -> str:
    options = RunOptions(
        repo_root=tmp_path,
        cells_dir=tmp_path / "cells",
        venvs_dir=tmp_path / "venvs",
        timeout_s=120,
        refresh_packages=refresh,
    )
    found = FoundPython(Path(sys.executable), platform.python_version())
    done = compile_pins(
        [f"{NAME}==1.*"],
        found,
        options,
        log=io.StringIO(),
        deadline=time.monotonic() + 120,
        echo=None,
    )
    assert done.returncode == 0, done.output
    (line,) = [ln for ln in done.output.splitlines() if ln.startswith(f"{NAME}==")]
    return line.split("==")[1]


def test_a_yanked_release_is_not_resolved_once_its_list_changed(
    tmp_path: Path, index: tuple[str, set[str]]
) -> None:
    """The issue's series cell recorded the yanked 2.2.1: uv answered from its own cache."""
    _, yanked = index
    assert _resolve(tmp_path) == "1.1"
    yanked.add("1.1")
    if _resolve(tmp_path) != "1.1":
        pytest.skip("this uv asked the index again by itself")  # what the issue saw is gone
    assert _resolve(tmp_path, refresh=(NAME,)) == "1.0"


def test_the_snapshot_names_the_packages_whose_list_changed(
    tmp_path: Path,
    fake_index: Callable[[dict[str, list[tuple[str, str]]]], tuple[str, list[str]]],
) -> None:
    t = "2026-01-01T00:00:00Z"
    listed: dict[str, list[tuple[str, str]]] = {
        "flask-admin": [("2.2.0", t), ("2.2.1", t)],
        "flask": [("3.1.2", t)],
    }
    url, _ = fake_index(listed)
    path = tmp_path / "index-snapshot.json"
    first, _ = load_or_fetch_snapshot(path, ["flask", "flask-admin"], max_age_s=60, index_url=url)
    assert first.changed == frozenset()
    yanked: Any = ("2.2.1", t, True)  # the fake index takes a third item: yanked
    listed["flask-admin"][1] = yanked
    again, fetched = load_or_fetch_snapshot(
        path,
        ["flask", "flask-admin"],
        max_age_s=60,
        index_url=url,
        refresh=True,
        now=datetime.now(UTC),
    )
    assert fetched
    assert again.changed == frozenset({"flask-admin"})
    stored = snapshot_from_json(path.read_text(encoding="utf-8"))
    assert stored is not None
    assert stored.changed == frozenset({"flask-admin"})  # a run cut short still refreshes it


def test_a_release_yanked_since_a_cell_ran_is_flagged_in_the_grid(tmp_path: Path) -> None:
    from factories import make_result

    from flask_admin_compat.grid.model import read_grid
    from flask_admin_compat.report.outputs import MergeRequest, merge_folder
    from flask_admin_compat.results.model import write_result

    reports = tmp_path / "reports"
    series, older = "py312-flask31-admin22-sqla20-fsa31", "py312-flask31-admin220-sqla20-fsa31"
    installed = {"flask": "3.1.2", "flask-admin": "2.2.1", "werkzeug": "3.1.3"}
    write_result(reports / "cells" / series, make_result(series, installed=installed))
    write_result(
        reports / "cells" / older,
        make_result(older, installed={**installed, "flask-admin": "2.2.0"}),
    )
    listed = {"flask": frozenset({"3.1.2"}), "flask-admin": frozenset({"2.1.0", "2.2.0"})}
    assert merge_folder(reports / "cells", reports, MergeRequest(listed=listed)) == 0
    grid = read_grid(reports / "grid.json")
    assert grid.cell(series).withdrawn == ("flask-admin 2.2.1",)  # type: ignore[union-attr]
    assert grid.cell(older).withdrawn == ()  # type: ignore[union-attr]
    markdown = (reports / "grid.md").read_text(encoding="utf-8")
    assert "yanked since it ran: flask-admin 2.2.1" in markdown
    assert "installed, since yanked or removed: flask-admin 2.2.1" in (
        reports / "grid.html"
    ).read_text(encoding="utf-8")
    # A merge that did not ask the index says nothing either way.
    assert merge_folder(reports / "cells", reports) == 0
    assert read_grid(reports / "grid.json").cell(series).withdrawn == ()  # type: ignore[union-attr]
