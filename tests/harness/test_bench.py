"""The benchmark runs (on one tiny cell); its figures are printed, never asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest
from bench import (
    DEFAULT_SUBSET,
    BenchReport,
    Measure,
    _echo_progress,
    _parser,
    _timed,
    main,
    mean_by_cell,
    reference_suite,
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
    code = main(
        [
            "--matrix",
            str(PROJECT_ROOT / "matrix.toml"),
            "--project",
            str(PROJECT_ROOT),
            "-k",
            ONE_CELL,
            "--modes",
            "warm,rerun",
            "--no-xdist",
            "--out",
            str(out),
        ]
    )
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


def test_table_sets_the_bare_suite_against_the_reference_suite_on_the_same_cells() -> None:
    report = BenchReport(
        {"cores": 2, "python": "3.12", "platform": "Linux"},
        "k",
        ["a", "b"],
        [],
        None,
        bare_cpu_s={"a": 1.0, "b": 3.0},
        # "c" ran only the reference suite: left out of the ratio.
        reference_cpu_s={"a": 2.0, "b": 3.0, "c": 9.0},
        reference="0123456789abcdef",
    )
    assert (
        "| bare suite vs the suite of 0123456 (2.50 s), same environments, alternated"
        " | 0.80× | ≤ 1× (its 1.7 s) |"
    ) in render_table(report, jobs=2)


def test_each_cells_suite_time_is_its_mean_over_the_rounds_that_timed_it() -> None:
    rounds = [{"a": 1.0, "b": 4.0}, {"a": 3.0}]
    assert mean_by_cell(rounds) == {"a": 2.0, "b": 4.0}
    assert mean_by_cell([]) == {}


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-C",
            str(folder),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.invalid",
            *args,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_the_reference_suite_is_the_suite_as_it_was_at_the_commit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    suite = repo / "tests" / "scoping"
    suite.mkdir(parents=True)
    _git(repo, "init", "-q")
    (suite / "test_checks.py").write_text("old = True\n", encoding="utf-8")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "old suite")
    old = _git(repo, "rev-parse", "HEAD")
    (suite / "test_checks.py").write_text("old = False\n", encoding="utf-8")
    (repo / "elsewhere.txt").write_text("not the suite\n", encoding="utf-8")
    folder = reference_suite(repo, old, into=tmp_path / "ref")
    assert folder is not None
    assert (folder / "tests" / "scoping" / "test_checks.py").read_text() == "old = True\n"
    assert not (folder / "elsewhere.txt").exists()
    assert reference_suite(repo, "f" * 40, into=tmp_path / "none") is None
    assert "no reference suite: git archive ffffff" in capsys.readouterr().out


def test_a_runs_progress_is_echoed_a_tenth_at_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    lines = [f"[{n:3}/30] cell-{n}  compatible  (1.0 s) | compatible {n}\n" for n in range(1, 31)]
    tail: deque[str] = deque(maxlen=5)
    _echo_progress([*lines, "verdicts: compatible 30\n"], tail)
    shown = capsys.readouterr().out.splitlines()
    assert [line.split("]")[1].split()[0] for line in shown] == [
        f"cell-{n}" for n in range(3, 31, 3)
    ]
    assert "|" not in "".join(shown)
    assert tail[-1] == "verdicts: compatible 30"


def test_a_failed_harness_run_shows_its_last_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = "print('[1/1] only-cell  error  (0.1 s)'); print('boom: the index is gone'); exit(3)"
    wall, cpu, _ = _timed([sys.executable, "-c", script], env=dict(os.environ), cwd=tmp_path)
    out = capsys.readouterr().out
    assert "[1/1] only-cell" in out
    assert "the run exited 3; its last lines:" in out
    assert "boom: the index is gone" in out
    assert wall > 0
    assert cpu >= 0


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
