"""Benchmark `nox -s matrix` against the way users test a matrix by hand, side by side.

Modes, run in one process and alternated round by round so that machine noise hits them
alike:

- ``baseline``: the cells one after another, each a fresh ``python -m venv`` + ``pip
  install`` + ``pytest`` (what people write by hand, and what plain nox with the virtualenv
  backend does), pip's cache warm;
- ``cold``: the harness with an empty uv cache and no caches or environments of its own;
- ``warm``: the harness with uv's cache and its own caches (resolutions, bytecode) filled,
  environments made afresh;
- ``forced``: ``--force`` in the environments the last mode left: every cell tested again,
  nothing installed or compiled;
- ``rerun``: the harness again with nothing changed (every cell fresh, skipped).

After each round, the **bare suite** in each cell: pytest by hand in the cell's own
environment (the one the warm or cold run left, its bytecode and templates already
compiled), its CPU seconds measured; each mode's busy time per cell is shown against it, so
the harness's per-cell overhead is a measured figure. Beside it, alternated cell by cell in
the same environments, the **reference suite**: ``tests/scoping`` as it was at
``--reference`` (by default the commit whose suite cost the 1.7 s the bare suite must not
exceed), so that target is a ratio from one run, not a figure from another machine.
``--full`` times the whole default matrix cold and warm instead of the 10-cell subset.

The figures are printed and written to ``reports/bench.json``; nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import distributions
from pathlib import Path
from statistics import mean

from flask_admin_compat.jsonio import write_text_atomic
from flask_admin_compat.matrix.cells import Cell
from flask_admin_compat.matrix.matrix import load_matrix
from flask_admin_compat.matrix.select import choose
from flask_admin_compat.matrix.series import list_cells, series_cache_for
from flask_admin_compat.results.model import RESULT_FILE, CellResult, read_result
from flask_admin_compat.run.bytecode import BytecodeStore
from flask_admin_compat.run.env import site_packages
from flask_admin_compat.run.pythons import FoundPython, find_python
from flask_admin_compat.run.scoping import TEMPLATES_ENV
from flask_admin_compat.run.session import Layout
from flask_admin_compat.run.verify import damage

#: The documented subset: Flask 3.1 and SQLAlchemy 2.0 with Flask-Admin 2.1 and 2.2 over every
#: backend series: 10 cells that all resolve, covering both backends and the 2.1 change.
# The same 10 cells as before the matrix grew: nox's -k matches parts of ids, so admin22 also
# picks the patch cells (admin220, admin221) and the other Pythons' cells unless ruled out.
DEFAULT_SUBSET = (
    "py312 and flask31 and sqla20 and (admin21 or admin22)"
    " and not admin210 and not admin220 and not admin221 and not lite02fsa31"
)
MODES = ("baseline", "cold", "warm", "forced", "rerun")
#: Modes that need the environments an earlier mode of the round made: always run last.
REUSING = ("forced", "rerun")
#: What --full runs: every cell of the matrix, once cold and once warm.
FULL_MODES = ("cold", "warm")
POLL_S = 0.05
#: A harness run's progress line, "[ 40/389] <cell> <verdict> ...".
PROGRESS = re.compile(r"^\[\s*(\d+)/(\d+)\]")
TAIL_LINES = 20
#: The suite the bare suite's 1.7 s target was measured on (issue 13): the scoping suite of
#: the restructure, before it grew to every admin surface.
REFERENCE_SUITE = "585fc5d0f8fd24b8dca11c8a1c2d71e9199b5d28"
SUITE = Path("tests") / "scoping"


@dataclass(frozen=True)
class Measure:
    """One timed run of one mode over the whole subset."""

    mode: str
    round: int
    wall_s: float
    cpu_s: float  # user + system of every process the run started
    peak_mb: float | None  # the orchestrating process's own peak RSS (None for baseline)
    env_s: float  # seconds spent making environments (resolve + venv + install), summed
    test_s: float  # seconds spent in pytest, summed
    cells: int
    resolve_s: float = 0.0  # the resolve part of env_s
    busy_s: float = 0.0  # every cell's own total (resolve + install + test), summed


@dataclass(frozen=True)
class BenchReport:
    machine: dict[str, object]
    subset: str
    cells: list[str]
    measures: list[Measure]
    download_s: float | None
    phases: dict[str, float] = field(default_factory=dict)
    xdist: dict[str, float] = field(default_factory=dict)
    #: The bare suite's CPU seconds per cell (pytest by hand, bytecode warm), by cell id.
    bare_cpu_s: dict[str, float] = field(default_factory=dict)
    #: The reference suite's, in the same environments, alternated with the bare suite's.
    reference_cpu_s: dict[str, float] = field(default_factory=dict)
    reference: str | None = None  # the commit the reference suite is from


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench", description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", type=Path, default=Path("matrix.toml"))
    parser.add_argument("--project", type=Path, default=Path.cwd(), help="holds tests/scoping")
    parser.add_argument("-k", dest="keyword", default=DEFAULT_SUBSET, help="the cells to time")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds of every mode")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of modes")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--no-xdist", action="store_true", help="skip the pytest-xdist comparison")
    parser.add_argument("--no-bare", action="store_true", help="skip timing the bare suite")
    parser.add_argument(
        "--reference",
        default=REFERENCE_SUITE,
        help="the commit whose tests/scoping to time beside the bare suite ('' for none)",
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"the whole matrix (every cell), modes {','.join(FULL_MODES)}, no xdist",
    )
    parser.add_argument("--out", type=Path, default=Path("reports/bench.json"))
    parser.add_argument(
        "--verify-cost",
        action="store_true",
        help="only time verifying the selected cells' environments in --project (print figures)",
    )
    return parser


def with_full(args: argparse.Namespace) -> argparse.Namespace:
    """``--full``: every cell (no -k), cold and warm unless --modes says otherwise, no xdist."""
    if args.full:
        args.keyword, args.no_xdist = "", True
        if args.modes == ",".join(MODES):
            args.modes = ",".join(FULL_MODES)
    return args


def suite_argv(python: Path | str, suite: Path) -> list[str]:
    """The scoping suite run by hand with ``python``: no harness, no cache, quiet."""
    return [str(python), "-m", "pytest", "-c", str(suite / "pytest.ini"), "--rootdir",
            str(suite), "-p", "no:cacheprovider", "-q", str(suite)]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = with_full(_parser().parse_args(argv))
    modes = [m for m in args.modes.split(",") if m]
    unknown = set(modes) - set(MODES)
    if unknown:
        print(
            f"error: --modes {args.modes!r}: unknown {sorted(unknown)}; known: {MODES}",
            file=sys.stderr,
        )
        return 2
    matrix = load_matrix(args.matrix)
    cells = [
        c
        for c in choose(
            list_cells(matrix, series_cache=series_cache_for(matrix))[0], keyword=args.keyword
        )
        if not c.excluded_by
    ]
    if not cells:
        print(f"error: -k {args.keyword!r} selects no cell", file=sys.stderr)
        return 2
    project = args.project.resolve()
    if args.verify_cost:
        layout = Layout(root=project, reports=project / "reports")
        return print_verification_cost(cells, venvs=layout.venvs_dir, store=layout.bytecode_dir)
    print(
        f"benchmarking {len(cells)} cells ({args.keyword or 'all'}), {args.rounds} round(s), "
        f"modes {', '.join(modes)}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        work = Path(scratch)
        measures: list[Measure] = []
        if "baseline" in modes:
            print("warming pip's cache (untimed) ...")
            run_baseline(cells, project=project, work=work / "pip-warmup", round_no=0)
        # One project for every round (cold makes its own): warm clears the environments and
        # keeps the caches, forced and rerun keep everything.
        harness_project = _scratch_project(project, work / "harness")
        if {"warm", "forced"} & set(modes):
            # So that "warm" does not hang on whether cold ran before it in the round.
            print("warming uv's cache and the harness's own (untimed) ...", flush=True)
            _run_mode(
                "warm",
                cells,
                project=project,
                harness_project=harness_project,
                work=work,
                round_no=0,
                jobs=args.jobs,
                matrix=args.matrix.resolve(),
                keyword=args.keyword,
            )
        last = harness_project  # the project of the last harness mode: its results and envs
        ran_harness = bool({"cold", "warm", "forced"} & set(modes))
        suites = {"bare": project}
        if args.reference and ran_harness and not args.no_bare:
            old = reference_suite(project, args.reference, into=work / "reference")
            if old is not None:
                suites["reference"] = old
        # The suites by hand in every round, right after its harness modes: the machine's
        # speed drifts over minutes, and a ratio is only as good as its two sides' nearness.
        timed: list[dict[str, dict[str, float]]] = []
        for round_no in range(1, args.rounds + 1):
            for mode in round_order(modes, round_no):
                used = (
                    _scratch_project(project, work / f"cold{round_no}")
                    if mode == "cold"
                    else harness_project
                )
                last = used if mode != "baseline" else last
                measure = _run_mode(
                    mode,
                    cells,
                    project=project,
                    harness_project=used,
                    work=work,
                    round_no=round_no,
                    jobs=args.jobs,
                    matrix=args.matrix.resolve(),
                    keyword=args.keyword,
                )
                measures.append(measure)
                print(
                    f"  round {round_no} {mode:<8} {measure.wall_s:7.1f} s wall, {measure.cpu_s:7.1f} s CPU",
                    flush=True,
                )
            if ran_harness and not args.no_bare:
                left = Layout(root=last, reports=last / "reports")  # what that mode left
                timed.append(
                    bare_suite_cpu(
                        cells,
                        suites=suites,
                        venvs=left.venvs_dir,
                        templates=left.templates_dir,
                        warm_up=round_no == 1,
                    )
                )
        results = _results(last / "reports")
        suite_cpu = (
            {name: mean_by_cell([t[name] for t in timed]) for name in suites} if timed else {}
        )
        download = download_seconds(results, work=work / "download") if "cold" in modes else None
        xdist = (
            {} if args.no_xdist else measure_xdist(cells[0], project=project, work=work / "xdist")
        )
    report = BenchReport(
        machine=machine_facts(),
        subset=args.keyword,
        cells=[c.id for c in cells],
        measures=measures,
        download_s=download,
        phases=phase_breakdown(results),
        xdist=xdist,
        bare_cpu_s=suite_cpu.get("bare", {}),
        reference_cpu_s=suite_cpu.get("reference", {}),
        reference=args.reference if suite_cpu.get("reference") else None,
    )
    write_text_atomic(args.out, json.dumps(asdict(report), indent=1) + "\n")
    print()
    print(render_table(report, jobs=args.jobs))
    return 0


def print_verification_cost(cells: Sequence[Cell], *, venvs: Path, store: Path) -> int:
    """What trusting a red verdict costs a cell: its environment checked against its lock.

    Paid only before a stack that does not start, or a result unlike the cell's last one, is
    recorded. Each environment twice, the first time with its files maybe out of the page
    cache (as after a run of other cells), the second with them in it.
    """
    bytecode = BytecodeStore(store)
    rows = []
    for cell in cells:
        venv = venvs / cell.id
        lock = venv / "requirements.lock"
        if not lock.is_file():
            continue
        for attempt in ("first", "again"):
            wall, cpu = time.perf_counter(), time.process_time()
            problems = damage(
                site_packages(venv), lock.read_text(encoding="utf-8"), bytecode=bytecode
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            files = sum(len(d.files or ()) for d in distributions(path=[str(site_packages(venv))]))
            rows.append((cell.id, attempt, files, wall, cpu, len(problems)))
    if not rows:
        print(f"error: no environment of these cells in {venvs}: run them first", file=sys.stderr)
        return 2
    print(
        "| cell | pass | files | wall s | CPU s | problems |\n| --- | --- | ---: | ---: | ---: | ---: |"
    )
    for cell_id, attempt, files, wall, cpu, found in rows:
        print(f"| {cell_id} | {attempt} | {files} | {wall:.3f} | {cpu:.3f} | {found} |")
    again = [r for r in rows if r[1] == "again"]
    print(
        f"\nmean of the second pass: {mean(r[3] for r in again):.3f} s wall, "
        f"{mean(r[4] for r in again):.3f} s CPU per environment"
    )
    return 0


def round_order(modes: Sequence[str], round_no: int) -> list[str]:
    """The modes in this round's order, those that reuse environments last.

    The others go in reverse every other round, so that a noisy neighbour cannot favour one.
    """
    fresh = [m for m in modes if m not in REUSING]
    return [*(fresh if round_no % 2 else reversed(fresh)), *(m for m in REUSING if m in modes)]


def _scratch_project(project: Path, folder: Path) -> Path:
    """A project folder sharing the real suite but with its own environments and caches."""
    folder.mkdir(parents=True)
    (folder / "tests").symlink_to(project / "tests", target_is_directory=True)
    return folder


def _run_mode(
    mode: str,
    cells: list[Cell],
    *,
    project: Path,
    harness_project: Path,
    work: Path,
    round_no: int,
    jobs: int,
    matrix: Path,
    keyword: str,
) -> Measure:
    if mode == "baseline":
        return run_baseline(
            cells, project=project, work=work / f"baseline{round_no}", round_no=round_no
        )
    env = dict(os.environ)
    if mode == "cold":
        # Nothing may help a cold run: an empty uv cache, and a project of its own, with no
        # index snapshot, resolutions or bytecode. The shared project's caches stay as a warm
        # run finds them: its bytecode store is keyed by the files of the uv cache it used.
        env["UV_CACHE_DIR"] = str(work / f"uv-cache-{round_no}")
    if mode == "warm":
        shutil.rmtree(harness_project / ".venvs", ignore_errors=True)
    argv = [
        sys.executable,
        "-m",
        "flask_admin_compat.cli",
        "run",
        "--matrix",
        str(matrix),
        "--project",
        str(harness_project),
        "--reports",
        str(harness_project / "reports"),
        "-k",
        keyword,
        "--jobs",
        str(jobs),
        *(["--force"] if mode in ("cold", "warm", "forced") else []),
    ]
    wall, cpu, peak = _timed(argv, env=env, cwd=project)
    results = _results(harness_project / "reports")
    ran = mode != "rerun"
    return Measure(
        mode,
        round_no,
        wall,
        cpu,
        peak,
        env_s=sum(r.durations.get("resolve", 0) + r.durations.get("install", 0) for r in results)
        if ran
        else 0.0,
        # "rerun" is the second pytest older harness versions started for failed checks.
        test_s=sum(r.durations.get("test", 0) + r.durations.get("rerun", 0) for r in results)
        if ran
        else 0.0,
        cells=len(cells),
        resolve_s=sum(r.durations.get("resolve", 0) for r in results) if ran else 0.0,
        busy_s=sum(r.durations.get("total", 0) for r in results) if ran else 0.0,
    )


def run_baseline(cells: list[Cell], *, project: Path, work: Path, round_no: int) -> Measure:
    """Each cell as people do it by hand: venv, pip install, pytest; one after another."""
    work.mkdir(parents=True, exist_ok=True)
    suite = project / "tests" / "scoping"
    env_s = test_s = 0.0
    before = _children_cpu()
    started = time.monotonic()
    for number, cell in enumerate(cells, 1):
        # The baseline takes minutes: say where it is, cell by cell.
        print(
            f"    baseline {number}/{len(cells)} {cell.id} ({time.monotonic() - started:.0f} s so far)",
            flush=True,
        )
        found = find_python(cell.python.text)
        if not isinstance(found, FoundPython):
            continue
        venv = work / cell.id
        t0 = time.monotonic()
        subprocess.run([str(found.executable), "-m", "venv", str(venv)], check=True)
        pip = subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                *cell.requirements,
                "pytest",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        t1 = time.monotonic()
        env_s += t1 - t0
        if pip.returncode == 0:
            subprocess.run(
                suite_argv(venv / "bin" / "python", suite),
                capture_output=True,
                check=False,
                cwd=project,
            )
        test_s += time.monotonic() - t1
        shutil.rmtree(venv, ignore_errors=True)
    wall = time.monotonic() - started
    return Measure(
        "baseline", round_no, wall, _children_cpu() - before, None, env_s, test_s, len(cells)
    )


def bare_suite_cpu(
    cells: list[Cell],
    *,
    suites: Mapping[str, Path],
    venvs: Path,
    templates: Path,
    warm_up: bool = True,
) -> dict[str, dict[str, float]]:
    """CPU seconds of each suite run by hand in each cell's own environment, bytecode warm.

    ``suites`` names the projects whose ``tests/scoping`` to run. The environments are the
    ones the harness's last run left, whose imports already wrote their bytecode, with the
    templates that run compiled: this is what a suite itself costs, the floor of a cell's
    busy time. The suites take turns first, cell by cell, so that noise hits each alike.
    """
    found: dict[str, dict[str, float]] = {name: {} for name in suites}
    order = list(suites.items())
    warmed = not warm_up
    for number, cell in enumerate(cells, 1):
        python = venvs / cell.id / "bin" / "python"
        if not python.is_file():
            continue
        for name, root in order if number % 2 else reversed(order):
            suite = root / SUITE
            argv = suite_argv(python, suite)
            if not warmed:  # untimed: the suite's own modules compile their bytecode once
                _process_cpu(argv, cwd=root, templates=templates)
            found[name][cell.id] = _process_cpu(argv, cwd=root, templates=templates)
        warmed = True
        print(
            f"    {number}/{len(cells)} {cell.id}: "
            + ", ".join(f"{name} suite {found[name][cell.id]:.2f} s CPU" for name, _ in order),
            flush=True,
        )
    return found


def mean_by_cell(rounds: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Each cell's mean over the rounds that timed it."""
    cells = sorted({cell for seconds in rounds for cell in seconds})
    return {cell: mean(r[cell] for r in rounds if cell in r) for cell in cells}


def reference_suite(project: Path, commit: str, *, into: Path) -> Path | None:
    """A folder holding ``tests/scoping`` as it was at ``commit``; None (said) when git can't."""
    done = subprocess.run(
        ["git", "-C", str(project), "archive", "--format=tar", commit, SUITE.as_posix()],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        print(f"    no reference suite: git archive {commit}: {why[-1] if why else 'failed'}")
        return None
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as archive:
        archive.extractall(into, filter="data")
    return into


def _process_cpu(argv: list[str], *, cwd: Path, templates: Path) -> float:
    """User + system seconds of one command and its children (os.wait4's own rusage)."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "DATABASE_URL")
    }
    env[TEMPLATES_ENV] = str(templates)  # the compiled templates the harness's run left
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0  # reaped here; keep Popen from waiting on it again
    return usage.ru_utime + usage.ru_stime


def _timed(argv: list[str], *, env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds of the whole process tree, and the top process's peak MB.

    The run's progress lines are echoed a tenth of the way at a time, so a long mode (the
    whole matrix cold) is seen to move; a run that fails shows its last lines.
    """
    before = _children_cpu()
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    peak_kb = 0
    with subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        reader = threading.Thread(target=_echo_progress, args=(proc.stdout, tail), daemon=True)
        reader.start()
        while proc.poll() is None:
            peak_kb = max(peak_kb, _peak_rss_kb(proc.pid))
            time.sleep(POLL_S)
        wall = time.monotonic() - started
        reader.join()
    if proc.returncode != 0:
        print(f"    the run exited {proc.returncode}; its last lines:", flush=True)
        for line in tail:
            print(f"      {line}", flush=True)
    return wall, _children_cpu() - before, peak_kb / 1024


def _echo_progress(lines: Iterable[str], tail: deque[str]) -> None:
    for line in lines:
        line = line.rstrip("\n")
        tail.append(line)
        counted = PROGRESS.match(line)
        if counted is None:
            continue
        done, total = int(counted[1]), int(counted[2])
        if done == total or done % max(1, total // 10) == 0:
            print(f"    {line.split('|')[0].rstrip()}", flush=True)


def _peak_rss_kb(pid: int) -> int:
    """VmHWM: the process's own high-water mark, not its children's."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _results(reports: Path) -> list[CellResult]:
    return [read_result(p) for p in sorted((reports / "cells").glob(f"*/{RESULT_FILE}"))]


def download_seconds(results: list[CellResult], *, work: Path) -> float | None:
    """How long it takes to download every unique wheel the cells installed, once.

    pip refuses two versions of one package in one call, so the pins go in as few calls as
    that allows: the first version of each package, then the second, and so on.
    """
    versions: dict[str, list[str]] = {}
    for result in results:
        for name, version in result.installed.items():
            if version not in versions.setdefault(name, []):
                versions[name].append(version)
    batches = [
        [f"{name}=={vs[i]}" for name, vs in sorted(versions.items()) if i < len(vs)]
        for i in range(max((len(vs) for vs in versions.values()), default=0))
    ]
    started = time.monotonic()
    for batch in batches:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-cache-dir",
                "--only-binary",
                ":all:",
                "--python-version",
                "3.12",
                "-d",
                str(work),
                *batch,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            print(
                f"  (download of the wheels failed, so it is not compared: {done.stderr.strip()[-300:]})"
            )
            return None
    return time.monotonic() - started if batches else None


def measure_xdist(cell: Cell, *, project: Path, work: Path) -> dict[str, float]:
    """The suite's wall time in one cell with and without pytest-xdist, alone and under load."""
    found = find_python(cell.python.text)
    if not isinstance(found, FoundPython):
        return {}
    venv = work / "venv"
    subprocess.run(
        ["uv", "venv", "--quiet", "--python", str(found.executable), str(venv)], check=True
    )
    subprocess.run(
        [
            "uv",
            "pip",
            "install",
            "--quiet",
            "--python",
            str(venv / "bin" / "python"),
            *cell.requirements,
            "pytest",
            "pytest-xdist",
        ],
        check=True,
    )
    suite = project / "tests" / "scoping"
    base = suite_argv(venv / "bin" / "python", suite)

    def wall(extra: list[str], copies: int = 1) -> float:
        started = time.monotonic()
        procs = [
            subprocess.Popen(
                [*base, *extra], cwd=project, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            for _ in range(copies)
        ]
        for proc in procs:
            proc.wait()
        return time.monotonic() - started

    cores = os.cpu_count() or 1
    return {
        "alone_serial_s": wall([]),
        "alone_xdist_s": wall(["-n", str(cores)]),
        # Under the matrix, `cores` cells already run at once: that is the case that matters.
        "loaded_serial_s": wall([], copies=cores),
        "loaded_xdist_s": wall(["-n", str(cores)], copies=cores),
    }


def phase_breakdown(results: list[CellResult]) -> dict[str, float]:
    """Mean seconds per cell for each phase the cells recorded."""
    phases = sorted({name for r in results for name in r.durations})
    return {p: mean(r.durations.get(p, 0.0) for r in results) for p in phases} if results else {}


def machine_facts() -> dict[str, object]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def render_table(report: BenchReport, *, jobs: int) -> str:
    """The figures, the ratios against the targets, and where the time goes."""
    by_mode: dict[str, list[Measure]] = {}
    for m in report.measures:
        by_mode.setdefault(m.mode, []).append(m)
    avg = {mode: _mean_measure(ms) for mode, ms in by_mode.items()}
    lines = [
        f"machine: {report.machine['cores']} cores, Python {report.machine['python']}, {report.machine['platform']}",
        f"cells: {len(report.cells)} ({report.subset})",
        "",
        "| mode | wall s | CPU s | peak MB (orchestrator) | env s (sum) | of it, resolve s | test s (sum) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for mode in MODES:
        if mode in avg:
            m = avg[mode]
            peak = f"{m.peak_mb:.0f}" if m.peak_mb is not None else "—"
            resolve = f"{m.resolve_s:.1f}" if mode != "baseline" else "—"
            lines.append(
                f"| {mode} | {m.wall_s:.1f} | {m.cpu_s:.1f} | {peak} | {m.env_s:.1f} | {resolve} "
                f"| {m.test_s:.1f} |"
            )
    lines += ["", "| target | measured | goal |", "| --- | ---: | ---: |"]
    if "baseline" in avg and "warm" in avg and avg["warm"].env_s:
        lines.append(
            f"| environments, warm vs venv + pip | {avg['baseline'].env_s / avg['warm'].env_s:.1f}× faster | ≥ 15× |"
        )
    if "baseline" in avg and "warm" in avg:
        lines.append(
            f"| whole warm run vs sequential baseline | {avg['baseline'].wall_s / avg['warm'].wall_s:.1f}× faster | ≥ 10× |"
        )
    if "warm" in avg:
        limit = (avg["warm"].env_s + avg["warm"].test_s) / max(1, min(jobs, len(report.cells)))
        lines.append(
            f"| warm run vs busy time / cores ({limit:.1f} s) | {avg['warm'].wall_s / limit:.2f}× | ≤ 1.3× |"
        )
    if "rerun" in avg:
        lines.append(f"| re-run with nothing changed | {avg['rerun'].wall_s:.1f} s | ≤ 5 s |")
    if "cold" in avg and report.download_s:
        cold_env_wall = avg["cold"].env_s / max(1, min(jobs, len(report.cells)))
        lines.append(
            f"| cold resolve + install vs one download of the wheels ({report.download_s:.1f} s) | {cold_env_wall / report.download_s:.2f}× | ≤ 2× |"
        )
    peaks = [m.peak_mb for m in report.measures if m.peak_mb is not None]
    if peaks:
        lines.append(f"| orchestrator peak memory | {max(peaks):.0f} MB | ≤ 200 MB |")
    if report.bare_cpu_s:
        bare = mean(report.bare_cpu_s.values())
        lines.append(
            f"| bare suite, CPU per cell (pytest by hand, bytecode warm) | {bare:.2f} s | ≤ 1.7 s |"
        )
        if report.reference_cpu_s:
            # The same cells only: a cell the reference suite did not run is no comparison.
            shared = sorted(report.reference_cpu_s.keys() & report.bare_cpu_s.keys())
            ratio = sum(report.bare_cpu_s[c] for c in shared) / sum(
                report.reference_cpu_s[c] for c in shared
            )
            reference = mean(report.reference_cpu_s[c] for c in shared)
            lines.append(
                f"| bare suite vs the suite of {(report.reference or '')[:7]} ({reference:.2f} s),"
                f" same environments, alternated | {ratio:.2f}× | ≤ 1× (its 1.7 s) |"
            )
        for mode in ("cold", "warm", "forced"):
            if mode in avg and avg[mode].busy_s:
                busy = avg[mode].busy_s / avg[mode].cells
                goal = "≤ 1.3×" if mode == "warm" else "—"
                lines.append(
                    f"| {mode}: busy time per cell ({busy:.2f} s) vs the bare suite | {busy / bare:.2f}× | {goal} |"
                )
                # Busy time is wall time, so it counts waiting for a core as well; CPU per
                # cell (the whole run's, the orchestrator's included) does not.
                cpu = avg[mode].cpu_s / avg[mode].cells
                lines.append(
                    f"| {mode}: CPU per cell ({cpu:.2f} s, whole run) vs the bare suite | {cpu / bare:.2f}× | — |"
                )
    if report.phases:
        lines += [
            "",
            "mean seconds per cell, by phase: "
            + ", ".join(f"{k} {v:.2f}" for k, v in report.phases.items()),
        ]
    if report.xdist:
        x = report.xdist
        lines.append(
            f"pytest-xdist in a cell: alone {x['alone_serial_s']:.1f} s serial vs {x['alone_xdist_s']:.1f} s with -n; "
            f"with every core busy {x['loaded_serial_s']:.1f} s vs {x['loaded_xdist_s']:.1f} s"
        )
    return "\n".join(lines)


def _mean_measure(measures: list[Measure]) -> Measure:
    first = measures[0]
    peaks = [m.peak_mb for m in measures if m.peak_mb is not None]
    return Measure(
        first.mode,
        0,
        mean(m.wall_s for m in measures),
        mean(m.cpu_s for m in measures),
        max(peaks) if peaks else None,
        mean(m.env_s for m in measures),
        mean(m.test_s for m in measures),
        first.cells,
        mean(m.resolve_s for m in measures),
        mean(m.busy_s for m in measures),
    )


if __name__ == "__main__":
    raise SystemExit(main())
