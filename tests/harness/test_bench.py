"""The benchmark runs (on one tiny cell); its figures are printed, never asserted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bench import (
    DEFAULT_SUBSET,
    BenchReport,
    Measure,
    _parser,
    main,
    render_table,
    round_order,
    with_full,
)
from factories import PROJECT_ROOT

ONE_CELL = (  # -k matches parts of ids: admin22 would also pick admin220 and admin221
    "py312 and flask31 and admin22 and sqla20 and fsa31 and not admin220 and not admin221"
    " and not lite"
)


@pytest.mark.e2e
def test_bench_smoke_on_one_cell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    code = main([
        "--matrix", str(PROJECT_ROOT / "matrix.toml"), "--project", str(PROJECT_ROOT),
        "-k", ONE_CELL, "--modes", "warm,rerun",
        "--no-xdist", "--out", str(out),
    ])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["cells"] == ["py312-flask31-admin22-sqla20-fsa31"]
    assert [m["mode"] for m in report["measures"]] == ["warm", "rerun"]
    assert "| re-run with nothing changed |" in capsys.readouterr().out


def test_unknown_mode_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--matrix", str(PROJECT_ROOT / "matrix.toml"), "--modes", "warm,lukewarm"]) == 2
    assert "lukewarm" in capsys.readouterr().err


def test_table_shows_ratios_against_targets() -> None:
    measures = [
        Measure("baseline", 1, 100.0, 90.0, None, 80.0, 20.0, 10),
        Measure("warm", 1, 10.0, 15.0, 40.0, 4.0, 15.0, 10),
        Measure("rerun", 1, 1.0, 0.8, 35.0, 0.0, 0.0, 10),
    ]
    report = BenchReport(
        {"cores": 2, "python": "3.12", "platform": "Linux"}, "k", ["a"] * 10, measures, None
    )
    table = render_table(report, jobs=2)
    assert "| environments, warm vs venv + pip | 20.0× faster | ≥ 15× |" in table
    assert "| whole warm run vs sequential baseline | 10.0× faster | ≥ 10× |" in table
    assert "| warm run vs busy time / cores (9.5 s) | 1.05× | ≤ 1.3× |" in table
    assert "| orchestrator peak memory | 40 MB | ≤ 200 MB |" in table


def test_table_sets_each_modes_busy_time_against_the_bare_suite() -> None:
    measures = [
        Measure("cold", 1, 30.0, 40.0, 50.0, 9.0, 20.0, 10, busy_s=30.0),
        Measure("warm", 1, 20.0, 30.0, 50.0, 4.0, 16.0, 10, busy_s=20.0),
    ]
    report = BenchReport(
        {"cores": 2, "python": "3.12", "platform": "Linux"},
        "k",
        ["a"] * 10,
        measures,
        None,
        bare_cpu_s={"a": 1.5, "b": 1.7},
    )
    table = render_table(report, jobs=2)
    assert (
        "| bare suite, CPU per cell (pytest by hand, bytecode warm) | 1.60 s | ≤ 1.7 s |" in table
    )
    assert "| warm: busy time per cell (2.00 s) vs the bare suite | 1.25× | ≤ 1.3× |" in table
    assert "| warm: CPU per cell (3.00 s, whole run) vs the bare suite | 1.88× | — |" in table
    assert "| cold: busy time per cell (3.00 s) vs the bare suite | 1.88× | — |" in table


def test_full_times_every_cell_cold_and_warm() -> None:
    args = with_full(_parser().parse_args(["--full"]))
    assert (args.keyword, args.modes, args.no_xdist) == ("", "cold,warm", True)
    chosen = with_full(_parser().parse_args(["--full", "--modes", "warm"]))
    assert chosen.modes == "warm"
    assert with_full(_parser().parse_args([])).keyword == DEFAULT_SUBSET


def test_rounds_alternate_and_reusing_modes_come_last() -> None:
    modes = ["rerun", "baseline", "cold", "forced", "warm"]

    assert round_order(modes, 1) == ["baseline", "cold", "warm", "forced", "rerun"]
    assert round_order(modes, 2) == ["warm", "cold", "baseline", "forced", "rerun"]
