"""Shards: deterministic, balanced on past durations, and clear about bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flask_admin_compat.cli import main
from flask_admin_compat.matrix.shard import ShardError, durations_from_grid, parse_shard, partition


@pytest.mark.parametrize("text", ["3/2", "0/2", "a/b", "1/0", "1", "-1/2", "1/2/3", ""])
def test_bad_shard_values(text: str) -> None:
    with pytest.raises(ShardError, match="--shard"):
        parse_shard(text)


def test_bad_shard_on_the_command_line(
    small_matrix_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["run", "--matrix", str(small_matrix_path), "--shard", "3/2"])
    assert caught.value.code == 2
    assert "--shard '3/2': i must be from 1 to N" in capsys.readouterr().err


def test_every_cell_in_exactly_one_shard_and_balanced() -> None:
    ids = [f"cell{i:02}" for i in range(20)]
    durations = {cid: float(i % 7 + 1) for i, cid in enumerate(ids)}
    shards = partition(ids, durations=durations, count=3)
    assert sorted(cid for s in shards for cid in s) == ids
    loads = [sum(durations[c] for c in s) for s in shards]
    assert max(loads) - min(loads) <= max(durations.values())
    assert partition(list(reversed(ids)), durations=durations, count=3) == shards  # order-free


def test_untimed_cells_count_as_the_median() -> None:
    shards = partition(["slow", "a", "b", "new"], durations={"slow": 30, "a": 1, "b": 1}, count=2)
    assert shards == [["slow"], ["a", "b", "new"]]


def test_more_shards_than_cells() -> None:
    assert partition(["a"], durations={}, count=3) == [["a"], [], []]


def test_durations_come_from_the_committed_grid(tmp_path: Path) -> None:
    grid = tmp_path / "grid.json"
    grid.write_text(
        json.dumps({"cells": [{"cell_id": "a", "durations": {"total": 4.5}}, {"cell_id": "b"}]})
    )
    assert durations_from_grid(grid) == {"a": 4.5}
    grid.write_text("{broken")
    assert durations_from_grid(grid) == {}
    assert durations_from_grid(tmp_path / "missing.json") == {}


@pytest.mark.e2e
def test_a_shard_leaves_the_grid_for_the_merge(tmp_path: Path) -> None:
    """Shards run one after another in one checkout must all balance on the same grid.json."""
    from test_run_cell import INTERRUPT_MATRIX, PYTEST_INI, REPORTING_TEST

    suite = tmp_path / "tests" / "scoping"
    suite.mkdir(parents=True)
    (suite / "pytest.ini").write_text(PYTEST_INI)
    (suite / "test_ok.py").write_text(REPORTING_TEST.replace("BODY", "pass"))
    matrix = tmp_path / "matrix.toml"
    matrix.write_text(INTERRUPT_MATRIX)
    grid = tmp_path / "reports" / "grid.json"
    assert main(["run", "--matrix", str(matrix), "--shard", "1/2"]) == 0
    assert not grid.exists()
    assert main(["run", "--matrix", str(matrix)]) == 0
    assert grid.exists()
