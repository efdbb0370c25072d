"""A cell out of time is ``error: timed out`` at any phase, and the timeout is part of freshness."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from flask_admin_compat import __version__
from flask_admin_compat.checks import records
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.freshness import fingerprint
from flask_admin_compat.matrix.matrix import FLASK_SQLALCHEMY
from flask_admin_compat.matrix.specs import parse_spec
from flask_admin_compat.results.model import PythonInfo, read_result
from flask_admin_compat.run import cell as runner
from flask_admin_compat.run.env import Resolution
from flask_admin_compat.run.options import RunOptions
from flask_admin_compat.run.process import Completed

NODE = "test_checks.py::test_per_request[db-at-setup]"


def write_killed_records(path: Path) -> None:
    """What a suite killed in its re-run of a failed check leaves: construct finished,
    per-request's first attempt failed, its second started and never ended."""
    writer = records.RecordWriter(path)
    construct = "test_checks.py::test_construct[db-at-setup]"
    props = [["check", "construct"], ["pattern", "db-at-setup"]]
    writer.write(
        records.START, nodeid=construct, check="construct", pattern="db-at-setup", attempt=1
    )
    writer.write(
        records.OUTCOME,
        nodeid=construct,
        check="construct",
        pattern="db-at-setup",
        attempt=1,
        outcome="passed",
        message="",
        duration_s=0.1,
        properties=props,
    )
    props = [["check", "per-request"], ["pattern", "db-at-setup"]]
    writer.write(records.START, nodeid=NODE, check="per-request", pattern="db-at-setup", attempt=1)
    writer.write(
        records.OUTCOME,
        nodeid=NODE,
        check="per-request",
        pattern="db-at-setup",
        attempt=1,
        outcome="failed",
        message="two requests shared one session",
        duration_s=0.1,
        properties=props,
    )
    writer.write(records.START, nodeid=NODE, check="per-request", pattern="db-at-setup", attempt=2)
    writer.close()
    with path.open("a", encoding="utf-8") as cut:  # the kill cut the last line short
        cut.write('{"format": 1, "event": "outc')


def _cell() -> Cell:
    packages = (
        ("flask", parse_spec("3.1.*")),
        ("flask-admin", parse_spec("2.2.*")),
        ("sqlalchemy", parse_spec("2.0.*")),
        (FLASK_SQLALCHEMY, parse_spec("3.1.*")),
    )
    return Cell(parse_spec("3.12"), packages, FLASK_SQLALCHEMY)


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Resolving and installing stubbed; what pytest does set per test through ``runs``."""
    calls: list[str] = []

    def resolve(cell: Cell, options: RunOptions, **_: object) -> Any:
        return Resolution(
            PythonInfo("3.12"), found=cast(Any, object()), lock="flask==3.1.0\n", duration_s=0.1
        )

    monkeypatch.setattr(runner, "resolve_cell", resolve)
    monkeypatch.setattr(runner, "ensure_environment", lambda *a, **k: None)
    monkeypatch.setattr(runner, "installed_versions", lambda *a, **k: {"flask": "3.1.0"})
    monkeypatch.setattr(runner, "write_pylock", lambda *a, **k: None)
    return calls


def _options(tmp_path: Path, timeout_s: float = 60) -> RunOptions:
    return RunOptions(
        repo_root=tmp_path,
        cells_dir=tmp_path / "cells",
        venvs_dir=tmp_path / "venvs",
        timeout_s=timeout_s,
    )


def test_a_rerun_that_runs_out_of_time_is_an_error_not_a_verdict(
    stubbed: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Failed checks are re-run inside the first pytest: one killed at the deadline while it
    # re-runs has written the first attempts' report, and still gets no verdict from them.
    def pytest_run(
        venv: Path, options: RunOptions, junit: Path, *, records_path: Path, extra: Any, **_: Any
    ) -> Any:
        stubbed.append("rerun" if extra else "first")
        write_killed_records(records_path)
        return Completed(("pytest",), None, "1 failed", 5.0)

    monkeypatch.setattr(runner, "run_pytest", pytest_run)
    cell = _cell()
    result = runner.run_cell(cell, _options(tmp_path, timeout_s=30))
    assert stubbed == ["first"]  # no second pytest: the re-run is the first one's
    assert result.verdict == "error"
    assert result.reason == "timed out in per-request (db-at-setup) after 30 s"
    # The checks that finished are kept, the interrupted one with its finished attempt.
    kept = {(c.pattern, c.check): c for c in result.checks}
    assert kept["db-at-setup", "construct"].outcome == "passed"
    assert kept["db-at-setup", "per-request"].attempts == ("failed",)
    written = read_result(tmp_path / "cells" / cell.id / "result.json")
    assert written.verdict == "error"
    assert written.checks == result.checks
    assert (tmp_path / "cells" / cell.id / "records.jsonl").is_file()


def test_an_install_cut_short_by_the_deadline_is_timed_out(
    stubbed: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(runner, "ensure_environment", lambda *a, **k: "timed out")
    monkeypatch.setattr(runner, "out_of_time", lambda deadline: True)
    result = runner.run_cell(_cell(), _options(tmp_path, timeout_s=12))
    assert result.verdict == "error"
    assert result.reason == "timed out after 12 s"


BASE: dict[str, Any] = {
    "cell_id": "c",
    "requirements": ["flask==3.1.*"],
    "python": "3.12",
    "suite": "scoping",
    "suite_hash": "h",
    "index_digest": "d",
    "exclude_newer": None,
    "pytest_args": [],
}


def test_the_timeout_and_the_harness_version_are_part_of_freshness() -> None:
    key = fingerprint(**BASE, timeout_s=900)
    assert key == fingerprint(**BASE, timeout_s=900, harness_version=__version__)
    assert key != fingerprint(**BASE, timeout_s=60)
    assert key != fingerprint(**BASE, timeout_s=900, harness_version="999.0")
