"""result.json: one schema for every writer and reader, written atomically."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from factories import make_result as build_result

from flask_admin_compat.jsonio import write_text_atomic
from flask_admin_compat.results.model import (
    CellResult,
    CheckOutcome,
    PythonInfo,
    ResultError,
    read_result,
    write_result,
)


def make_result(**changes: object) -> CellResult:
    base: dict[str, object] = {
        "cell_id": "py312-flask31-admin22-sqla20-fsa31",
        "requested": {"python": "3.12", "flask": "3.1.*"},
        "python": PythonInfo("3.12", "3.12.1", "/usr/bin/python3.12"),
        "verdict": "compatible",
        "reason": "the documented pattern (db-at-setup) passes every check",
        "started_at": "2026-11-25T06:00:00+00:00",
        "finished_at": "2026-11-25T06:00:09+00:00",
        "fingerprint": "abc",
        "harness_version": "0.1.0",
        "installed": {"flask": "3.1.3"},
        "checks": (CheckOutcome("db-at-setup", "crud", "passed", "", 0.5, ("passed",)),),
        "durations": {"resolve": 0.3, "install": 1.2, "test": 4.0, "total": 5.5},
        "log": "log.txt",
    }
    base.update(changes)
    return build_result(**base)  # type: ignore[arg-type]


def test_round_trip(tmp_path: Path) -> None:
    result = make_result(flags=("flaky",), recommended_pattern="db-at-setup")
    path = write_result(tmp_path, result)
    assert read_result(path) == result


def test_writer_refuses_what_the_schema_refuses(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="verdict"):
        write_result(tmp_path, make_result(verdict="fine"))
    assert not (tmp_path / "result.json").exists()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"cell_id": "x"', "not valid JSON"),
        ('{"schema_version": "1.0"}', "is a required property"),
        ("[]", "is not of type 'object'"),
        ("\udcff", "not valid JSON"),
    ],
)
def test_reader_names_the_file_and_the_fault(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(ResultError) as caught:
        read_result(path)
    assert str(caught.value).startswith(str(path))
    assert fragment in str(caught.value)


def test_a_foreign_schema_version_is_refused(tmp_path: Path) -> None:
    path = write_result(tmp_path, make_result())
    data = json.loads(path.read_text())
    data["schema_version"] = "2.0"
    path.write_text(json.dumps(data))
    with pytest.raises(ResultError, match="schema_version"):
        read_result(path)


def test_atomic_write_keeps_the_old_content_when_writing_fails(tmp_path: Path) -> None:
    path = tmp_path / "grid.md"
    write_text_atomic(path, "old")

    with pytest.raises(TypeError):
        write_text_atomic(path, 42)  # type: ignore[arg-type]
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.md"]


def test_written_files_are_readable_by_others(tmp_path: Path) -> None:
    path = write_result(tmp_path, make_result())
    assert path.stat().st_mode & 0o777 == 0o644


def test_an_atomic_write_to_a_pipe_or_device_writes_through_it(tmp_path: Path) -> None:
    """``--json /dev/null`` once renamed a file over the device; a FIFO stands in for it."""
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    read: list[str] = []
    reader = threading.Thread(target=lambda: read.append(pipe.read_text()))
    reader.start()
    write_text_atomic(pipe, '{"views": []}\n')
    reader.join(10)
    assert read == ['{"views": []}\n']
    assert stat.S_ISFIFO(pipe.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]  # no staged file left beside it
