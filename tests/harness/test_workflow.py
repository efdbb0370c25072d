"""The scheduled CI workflow: valid for GitHub, clean for zizmor, and its shell steps work.

Everything here is offline: the workflow schema ships inside check-jsonschema, zizmor runs with
``--offline``, and the steps' own scripts run under bash with a stand-in for ``uv`` that runs
the harness of this environment (and only records what ``nox -s matrix`` was asked).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from factories import (
    PROJECT_ROOT,
    RELEASE_MATRIX,
    RESOURCES,
    UPLOADED,
    index_releases,
    make_result,
)
from ruamel.yaml import YAML

from flask_admin_compat.checks.ids import Outcome
from flask_admin_compat.results.model import (
    CellResult,
    CheckOutcome,
    PythonInfo,
    Verdict,
    write_result,
)

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "compat.yml"
RUN_URL = "https://github.example/owner/repo/actions/runs/42"
Completed = subprocess.CompletedProcess[str]

# Stands in for uv in the steps: `uv run --locked --no-dev CMD ARGS` runs CMD in this Python,
# and anything else the workflow might start asking of uv fails the test loudly.
UV_SHIM = """#!/bin/sh
if [ "$1 $2 $3" != "run --locked --no-dev" ]; then echo "uv shim: unexpected: $*" >&2; exit 99; fi
shift 3
case "$1" in
  python) shift; exec "$SHIM_PYTHON" "$@" ;;
  flask-admin-compat) shift; exec "$SHIM_PYTHON" -m flask_admin_compat.cli "$@" ;;
  nox)  # records its arguments and makes one cell, instead of running the matrix
    shift; printf '%s\n' "$@" > "$RUNNER_TEMP/nox-args"; mkdir -p reports/cells/a-cell
    exit "${SHIM_NOX_EXIT:-0}" ;;
esac
echo "uv shim: unexpected: $*" >&2
exit 99
"""


def _tool(name: str) -> str:
    """The tool the test group installs beside this Python, else on PATH; missing is a failure."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; `uv sync --group test` installs it")
    return found


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    # ruamel reads YAML 1.2, where `on:` is the string "on" (PyYAML would make it True).
    loaded: dict[str, Any] = YAML(typ="safe").load(WORKFLOW.read_text(encoding="utf-8"))
    return loaded


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, step) for job, spec in workflow["jobs"].items() for step in spec["steps"]]


def _step(workflow: dict[str, Any], job: str, step_id: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    (step,) = [s for s in steps if s.get("id") == step_id]
    return step


# --- what the tools say ---------------------------------------------------------------------


def test_the_workflow_matches_githubs_schema() -> None:
    done = subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing_of_medium_severity_or_worse() -> None:
    # The auditor persona shows every finding, so the only way past one is an inline
    # `# zizmor: ignore[rule]` that says why (checked below).
    done = subprocess.run(
        [
            _tool("zizmor"),
            "--offline",
            "--no-config",
            "--persona",
            "auditor",
            "--min-severity",
            "medium",
            "--format",
            "json",
            "--no-exit-codes",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout)
    described = [
        f"{f['ident']} ({f['determinations']['severity']}): {f['desc']}"
        f" at line {f['locations'][0]['concrete']['location']['start_point']['row'] + 1}"
        for f in findings
    ]
    assert described == []


def test_every_zizmor_ignore_says_why() -> None:
    ignores = [
        line for line in WORKFLOW.read_text(encoding="utf-8").splitlines() if "zizmor:" in line
    ]
    for line in ignores:
        match = re.search(r"#\s*zizmor: ignore\[[a-z-]+(?:,\s*[a-z-]+)*\]\s*(.*)$", line)
        assert match, f"not zizmor's ignore syntax: {line.strip()}"
        assert len(match[1].split()) >= 3, f"say why the finding is accepted: {line.strip()}"


# --- what the workflow promises ----------------------------------------------------------------


def test_triggers(workflow: dict[str, Any]) -> None:
    on = workflow["on"]
    crons = [entry["cron"] for entry in on["schedule"]]
    # The weekly full run stays, beside the daily run on release.
    assert crons == [workflow["env"]["WEEKLY_CRON"], "41 5 * * *"]
    assert set(on["workflow_dispatch"]["inputs"]) == {"filter", "shards", "flask-admin-ref"}
    paths = set(on["pull_request"]["paths"])
    assert {"matrix.toml", "tests/**", "src/**", "noxfile.py", "pyproject.toml", "uv.lock"} <= paths
    assert "push" not in on
    assert "pull_request_target" not in on


def test_least_privilege(workflow: dict[str, Any]) -> None:
    assert workflow["permissions"] == {"contents": "read"}
    granted = {job: spec["permissions"] for job, spec in workflow["jobs"].items()}
    writes = {
        job: {scope: level for scope, level in perms.items() if level == "write"}
        for job, perms in granted.items()
    }
    assert {job: w for job, w in writes.items() if w} == {
        "publish": {"contents": "write"},
        "report-regressions": {"issues": "write"},
    }
    keeps_token = [
        job
        for job, step in _steps(workflow)
        if step.get("uses", "").startswith("actions/checkout@")
        and step.get("with", {}).get("persist-credentials") is not False
    ]
    assert keeps_token == ["publish"]  # the one job that pushes


def test_no_expression_reaches_a_shell(workflow: dict[str, Any]) -> None:
    # Inputs, matrix values and outputs are passed through env: and quoted, never pasted in.
    pasted = [
        f"{job}: {step.get('name') or step.get('id')}"
        for job, step in _steps(workflow)
        if "${{" in step.get("run", "")
    ]
    assert pasted == []


def test_actions_are_pinned_to_commits_with_their_tag_named() -> None:
    uses = re.findall(r"uses:\s*(\S+)(.*)", WORKFLOW.read_text(encoding="utf-8"))
    assert uses
    for action, rest in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        assert re.search(r"#\s*v\d", rest), f"name the tag of {action}"


def test_shards_feed_one_merge_that_publishes_only_from_main(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    shards = jobs["shard"]["strategy"]["matrix"]["shard"]
    assert shards == "${{ fromJSON(needs.plan.outputs.shards) }}"
    assert jobs["shard"]["strategy"]["fail-fast"] is False
    uploads = {
        s["with"]["name"].split("-shard-")[0]: s
        for s in jobs["shard"]["steps"]
        if "upload-artifact" in s.get("uses", "")
    }
    assert set(uploads) == {"cells", "status"}
    assert all(upload["if"] == "always()" for upload in uploads.values())  # failed cells too
    assert uploads["cells"]["with"]["path"] == "reports/cells/"
    assert "!cancelled()" in jobs["merge"]["if"]  # runs when shards failed, not when cancelled
    merge_run = _step(workflow, "merge", "merge")["run"]
    assert "scripts/merge_grid.py" in merge_run
    assert "--fail-on-regression" in merge_run
    assert "--link-base" in merge_run
    assert any("GITHUB_STEP_SUMMARY" in s.get("run", "") for s in jobs["merge"]["steps"])
    for job in ("publish", "report-regressions"):
        condition = jobs[job]["if"]
        assert "github.ref == 'refs/heads/main'" in condition
        assert "github.event_name == 'schedule'" in condition
        assert "pull_request" not in condition
    assert "needs.merge.outputs.complete == 'true'" in jobs["publish"]["if"]
    assert "gh issue create" in jobs["report-regressions"]["steps"][-1]["run"]
    assert workflow["concurrency"]["group"]


# --- the steps' scripts, run for real --------------------------------------------------------


@dataclass(frozen=True)
class StepRunner:
    """Runs one step's script as GitHub does (``bash -e``) in a work folder, uv stood in for."""

    workflow: dict[str, Any]
    root: Path

    @property
    def work(self) -> Path:
        """The checkout the step runs in."""
        return self.root / "work"

    @property
    def temp(self) -> Path:
        """``$RUNNER_TEMP``."""
        return self.root / "runner-temp"

    def __call__(self, job: str, step_id: str, **env: str) -> tuple[Completed, dict[str, str]]:
        """The finished process and what the step wrote to ``$GITHUB_OUTPUT``."""
        output = self.root / f"output-{step_id}"
        output.write_text("", encoding="utf-8")
        script = self.root / f"{step_id}.sh"
        script.write_text(_step(self.workflow, job, step_id)["run"], encoding="utf-8")
        done = subprocess.run(
            ["bash", "-e", str(script)],
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={
                **os.environ,
                **{name: str(value) for name, value in self.workflow["env"].items()},
                "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ['PATH']}",
                "SHIM_PYTHON": sys.executable,
                "RUNNER_TEMP": str(self.temp),
                "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(self.root / "summary.md"),
                "GITHUB_SERVER_URL": "https://github.example",
                "GITHUB_REPOSITORY": "owner/repo",
                "GITHUB_RUN_ID": "42",
                **env,
            },
        )
        return done, _outputs(output.read_text(encoding="utf-8"))


def _outputs(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as GitHub reads it: ``name=value`` lines and ``name<<DELIM`` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delimiter = line.split("<<", 1)
            block: list[str] = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            else:
                pytest.fail(f"{name}: no closing {delimiter} in $GITHUB_OUTPUT")
            outputs[name] = "\n".join(block)
        else:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


@pytest.fixture
def runner(tmp_path: Path, workflow: dict[str, Any]) -> StepRunner:
    (tmp_path / "bin").mkdir()
    shim = tmp_path / "bin" / "uv"
    shim.write_text(UV_SHIM, encoding="utf-8")
    shim.chmod(0o755)
    (tmp_path / "runner-temp").mkdir()
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "scripts").symlink_to(PROJECT_ROOT / "scripts")
    return StepRunner(workflow, tmp_path)


@pytest.mark.parametrize(
    ("shards", "keyword", "expected"),
    [
        ("", "", ["1/4", "2/4", "3/4", "4/4"]),  # the schedule gives no inputs: the default
        ("2", "", ["1/2", "2/2"]),
        ("50", "admin22 and lite", ["1/2", "2/2"]),  # never more shards than cells
        ("1", "flask31", ["1/1"]),
    ],
)
def test_planning_splits_the_listed_cells(
    runner: StepRunner, shards: str, keyword: str, expected: list[str]
) -> None:
    shutil.copy(RESOURCES / "small-matrix.toml", runner.work / "matrix.toml")
    done, outputs = runner("plan", "plan", SHARDS=shards, FILTER=keyword)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(outputs["shards"]) == expected
    assert outputs["count"] == str(len(expected))
    assert outputs["pythons"] == "3.12"  # the small matrix's one Python


def test_planning_lists_every_python_the_matrix_names(runner: StepRunner) -> None:
    text = (RESOURCES / "small-matrix.toml").read_text(encoding="utf-8")
    text = text.replace(
        "[[exclude]]",
        '[[matrix]]\npython = ["3.13", "3.10"]\nflask = ["3.1.*"]\n'
        'flask-admin = ["2.2.*"]\nsqlalchemy = ["2.0.*"]\n\n[[exclude]]',
        1,
    )
    (runner.work / "matrix.toml").write_text(text, encoding="utf-8")
    done, outputs = runner("plan", "plan", SHARDS="2", FILTER="")
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["pythons"].splitlines() == ["3.10", "3.12", "3.13"]
    done, outputs = runner("plan", "plan", SHARDS="2", FILTER="py313")
    assert outputs["pythons"].splitlines() == ["3.13"]


def test_shards_set_up_the_planned_pythons_and_the_harnesss_last(workflow: dict[str, Any]) -> None:
    assert workflow["jobs"]["plan"]["outputs"]["pythons"] == "${{ steps.plan.outputs.pythons }}"
    setups = [
        s["with"]["python-version"]
        for s in workflow["jobs"]["shard"]["steps"]
        if "setup-python" in s.get("uses", "")
    ]
    # The cells' Pythons come from the plan, never from a list in the workflow; the harness's
    # own comes last, so that it is `python` for the steps after.
    assert setups[0] == "${{ needs.plan.outputs.pythons }}"
    assert setups[1:] == ["3.12"]
    text = WORKFLOW.read_text(encoding="utf-8")
    assert not re.search(r'python-version:\s*"?3\.1[013]', text)


@pytest.mark.parametrize(
    ("shards", "keyword", "error"),
    [
        ("0", "", "from 1 to 64"),
        ("65", "", "from 1 to 64"),
        ("a/b", "", "from 1 to 64"),
        ("99999999999999999999", "", "from 1 to 64"),
        ("2", "py312-flask31", "would not select what it says"),  # the harness's own check of -k
        ("2", 'x"; touch pwned; echo "', "not an expression"),  # text, never shell
    ],
)
def test_planning_refuses_bad_input(
    runner: StepRunner, shards: str, keyword: str, error: str
) -> None:
    shutil.copy(RESOURCES / "small-matrix.toml", runner.work / "matrix.toml")
    done, outputs = runner("plan", "plan", SHARDS=shards, FILTER=keyword)
    assert done.returncode != 0
    assert error in done.stdout + done.stderr
    assert outputs == {}
    assert not (runner.work / "pwned").exists()


def test_a_shard_runs_its_part_and_says_how_it_ended(runner: StepRunner) -> None:
    env = {"SHARD": "2/4", "FILTER": "admin22 and lite", "NAME": "2-of-4", "SHIM_NOX_EXIT": "1"}
    done, _ = runner("shard", "run", **env)
    assert done.returncode == 1  # the harness's status is the step's: `error` cells show red
    args = (runner.temp / "nox-args").read_text(encoding="utf-8").splitlines()
    assert args == [
        "-s",
        "matrix",
        "--",
        "--shard",
        "2/4",
        "--suite",
        "scoping,upstream",
        "-k",
        "admin22 and lite",
    ]
    status = runner.temp / "shard-status" / "2-of-4.txt"
    assert status.read_text(encoding="utf-8") == "2/4 1 1\n"
    # ... which is what the merge job reads to decide whether the grid is whole.
    assert runner("merge", "complete", EXPECTED="1")[1] == {"complete": "true"}


def _status(runner: StepRunner, name: str, line: str) -> None:
    """What a shard job leaves in its status artifact, as the merge job downloads it."""
    folder = runner.temp / "shard-status"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.txt").write_text(line + "\n", encoding="utf-8")


def test_a_grid_is_complete_only_when_every_shard_finished(runner: StepRunner) -> None:
    _status(runner, "1-of-3", "1/3 0 5")
    _status(runner, "2-of-3", "2/3 1 4")  # some cells are `error`: still finished
    done, outputs = runner("merge", "complete", EXPECTED="3")
    assert done.returncode == 0, done.stderr
    assert outputs == {"complete": "false"}  # shard 3 left no status: it never got that far
    _status(runner, "3-of-3", "3/3 1 0")  # the index did not answer: no cell ran
    assert runner("merge", "complete", EXPECTED="3")[1] == {"complete": "false"}
    _status(runner, "3-of-3", "3/3 0 4")
    assert runner("merge", "complete", EXPECTED="3")[1] == {"complete": "true"}


def _result(cell_id: str, verdict: Verdict, outcome: Outcome) -> CellResult:
    check = CheckOutcome("db-at-setup", "per-request", outcome, "", 0.1, (outcome,))
    return make_result(
        cell_id=cell_id,
        requested={"python": "3.12", "flask": "3.1.*", "flask-admin": "2.2.*"},
        python=PythonInfo("3.12", "3.12.7", "/usr/bin/python3.12"),
        verdict=verdict,
        reason="the checks said so",
        started_at="2026-01-05T04:17:00+00:00",
        finished_at="2026-01-05T04:18:00+00:00",
        fingerprint="fp",
        harness_version="0.1.0",
        installed={"flask": "3.1.1", "flask-admin": "2.2.1"},
        checks=(check,),
        durations={"total": 3.0},
    )


def test_the_merge_step_publishes_links_and_reports_regressions(runner: StepRunner) -> None:
    # The merge holds exactly the matrix's cells (--matrix): here, one.
    (runner.work / "matrix.toml").write_text(
        '[axes]\npython = ["3.12"]\nflask = ["3.1.*"]\nflask-admin = ["2.2.*"]\n'
        'sqlalchemy = ["2.0.*"]\n[backends]\nflask-sqlalchemy = ["3.1.*"]\n',
        encoding="utf-8",
    )
    cell = runner.work / "reports" / "cells" / "py312-flask31-admin22-sqla20-fsa31"
    write_result(cell, _result(cell.name, "compatible", "passed"))
    done, outputs = runner("merge", "merge")
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs == {"regressed": "false"}  # the first grid: nothing to compare with
    grid = json.loads((runner.work / "reports" / "grid.json").read_text(encoding="utf-8"))
    assert grid["link_base"] == RUN_URL

    # The next week the stack breaks: the committed grid is the previous one.
    write_result(cell, _result(cell.name, "incompatible", "failed"))
    done, outputs = runner("merge", "merge")
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs == {"regressed": "true"}
    issue = (runner.work / "reports" / "regressions.md").read_text(encoding="utf-8")
    assert "- py312-flask31-admin22-sqla20-fsa31: compatible -> incompatible" in issue
    assert RUN_URL in issue


def test_the_merge_step_fails_when_there_is_nothing_to_merge(runner: StepRunner) -> None:
    done, outputs = runner("merge", "merge")
    assert done.returncode != 0
    assert "the merge failed" in done.stdout
    assert outputs == {}


def test_the_bisection_of_each_regression_is_kept_for_the_issues(runner: StepRunner) -> None:
    from factories import make_grid, make_grid_cell

    from flask_admin_compat.grid.model import CellChange, Changes, VersionChange, render_json

    shutil.copy(RESOURCES / "small-matrix.toml", runner.work / "matrix.toml")
    grid_dir = runner.temp / "grid"
    grid_dir.mkdir()
    cell = make_grid_cell("py312-not-in-the-matrix", {"python": "3.12", "flask-admin": "2.2.*"})
    change = CellChange(
        "py312-not-in-the-matrix",
        "workaround",
        "incompatible",
        versions=(
            VersionChange("python", "3.12.1", "3.12.2"),
            VersionChange("flask-admin", "2.2.0", "2.2.1"),
        ),
    )
    grid = make_grid(cell, changes=Changes("2026-11-24T04:17:00+00:00", regressions=(change,)))
    (grid_dir / "grid.json").write_text(render_json(grid), encoding="utf-8")
    done, _ = runner("report-regressions", "bisect")
    assert done.returncode == 0, done.stdout + done.stderr  # the issues are kept regardless
    notes = (runner.temp / "bisect.md").read_text(encoding="utf-8")
    assert "First bad releases" in notes
    # The one package that moved forward (Python is no index release) is bisected; this cell
    # is not in the matrix, so the line says it could not be, and why is in the job's log.
    assert "- py312-not-in-the-matrix: could not bisect flask-admin 2.2.0 → 2.2.1 (exit 2)" in notes
    assert "no such cell in the matrix" in done.stderr
    assert "(bisect exited 2; see the job log)" in done.stdout


# Stands in for gh: records every call (arguments joined by |), lists the issues it is given.
GH_SHIM = """#!/bin/sh
{ for arg in "$@"; do printf '%s|' "$arg"; done; echo; } >> "$RUNNER_TEMP/gh-calls"
if [ "$1 $2" = "issue list" ]; then cat "$SHIM_GH_ISSUES"; fi
"""


def test_the_issues_step_opens_one_per_family_then_closes_it_on_recovery(
    runner: StepRunner,
) -> None:
    from factories import make_grid, make_grid_cell

    from flask_admin_compat.grid.model import CellChange, Changes, render_json

    shim = runner.root / "bin" / "gh"
    shim.write_text(GH_SHIM, encoding="utf-8")
    shim.chmod(0o755)
    grid_dir = runner.temp / "grid"
    grid_dir.mkdir()
    cells = ("py312-flask31-admin22-sqla20-fsa31", "py313-flask31-admin22-sqla20-fsa31")
    regressed = make_grid(
        *(make_grid_cell(c, {"python": "3.12"}, "incompatible") for c in cells),
        changes=Changes(
            "2026-11-24T04:17:00+00:00",
            regressions=tuple(CellChange(c, "compatible", "incompatible") for c in cells),
        ),
    )
    (grid_dir / "grid.json").write_text(render_json(regressed), encoding="utf-8")
    listed = runner.root / "issues.json"
    listed.write_text("[]", encoding="utf-8")
    done, _ = runner("report-regressions", "issues", SHIM_GH_ISSUES=str(listed))
    assert done.returncode == 0, done.stdout + done.stderr
    calls = [c.split("|")[:-1] for c in (runner.temp / "gh-calls").read_text("utf-8").splitlines()]
    created = [c for c in calls if c[:2] == ["issue", "create"]]
    assert len(created) == 1  # two cells, one family, one issue
    title = created[0][created[0].index("--title") + 1]
    assert title == "Compatibility regression: admin22-fsa31 cells got worse"
    body = Path(created[0][created[0].index("--body-file") + 1]).read_text(encoding="utf-8")

    # The next day both cells are back: the issue gh lists is closed, none is opened.
    (runner.temp / "gh-calls").unlink()
    listed.write_text(json.dumps([{"number": 12, "state": "OPEN", "body": body}]), "utf-8")
    back = make_grid(*(make_grid_cell(c, {"python": "3.12"}, "compatible") for c in cells))
    (grid_dir / "grid.json").write_text(render_json(back), encoding="utf-8")
    done, _ = runner("report-regressions", "issues", SHIM_GH_ISSUES=str(listed))
    assert done.returncode == 0, done.stdout + done.stderr
    calls = [c.split("|")[:-1] for c in (runner.temp / "gh-calls").read_text("utf-8").splitlines()]
    assert [c[:3] for c in calls if c[0] == "issue" and c[1] != "list"] == [
        ["issue", "comment", "12"],
        ["issue", "close", "12"],
    ]


# --- the daily run on release, offline against a local index -------------------------------

DAILY = {"EVENT": "schedule", "SCHEDULE": "41 5 * * *", "SHARDS": "", "FILTER": ""}
SHARDS_DATABASE_URL = "postgresql://postgres:postgres@localhost:5432/postgres"


def _commit_grid(work: Path) -> None:
    """The grid as the last run published it: each cell with the fingerprints of now."""
    from factories import make_grid, make_grid_cell

    from flask_admin_compat.grid.model import render_json
    from flask_admin_compat.matrix.matrix import SCOPING, UPSTREAM, load_matrix
    from flask_admin_compat.results.model import UpstreamResult
    from flask_admin_compat.stale import current_keys

    matrix = load_matrix(work / "matrix.toml")
    cells, keys = current_keys(matrix, work, work / "reports", suites=(SCOPING, UPSTREAM))
    grid = make_grid(
        *(
            make_grid_cell(
                c.id,
                c.requested,
                fingerprint=keys[SCOPING][c.id],
                upstream=UpstreamResult("ran", "1 passed", keys[UPSTREAM][c.id]),
            )
            for c in cells
        )
    )
    (work / "reports").mkdir(exist_ok=True)
    (work / "reports" / "grid.json").write_text(render_json(grid), encoding="utf-8")


def test_the_daily_run_plans_only_the_cells_a_new_release_makes_stale(
    runner: StepRunner, fake_index: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    releases = index_releases()
    url, _ = fake_index(releases)
    monkeypatch.setenv("UV_DEFAULT_INDEX", url)
    monkeypatch.setenv("DATABASE_URL", SHARDS_DATABASE_URL)  # as the plan step's env: gives it
    (runner.work / "matrix.toml").write_text(RELEASE_MATRIX, encoding="utf-8")
    _commit_grid(runner.work)

    # Nothing new on the index: the plan ends the run; no shard, merge or publish follows.
    done, outputs = runner("plan", "plan", **DAILY)
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs == {
        "mode": "on-release",
        "count": "0",
        "shards": "[]",
        "pythons": "",
        "stale": "",
    }
    assert "nothing to run" in done.stdout

    # Flask 3.1.3 is released: exactly the two Flask 3.1 cells run, in one shard.
    releases["flask"].append(("3.1.3", UPLOADED))
    done, outputs = runner("plan", "plan", **DAILY)
    assert done.returncode == 0, done.stdout + done.stderr
    stale = ["py312-flask31-admin210-sqla20-fsa31", "py312-flask31-admin22-sqla20-fsa31"]
    assert outputs["mode"] == "on-release"
    assert outputs["stale"].splitlines() == stale
    assert json.loads(outputs["shards"]) == ["1/2", "2/2"]  # the default 4, never above cells
    done, _ = runner("shard", "run", SHARD="1/2", FILTER="", NAME="1-of-2", STALE=outputs["stale"])
    assert done.returncode == 0, done.stderr
    args = (runner.temp / "nox-args").read_text(encoding="utf-8").splitlines()
    assert args == [
        "-s",
        "matrix",
        "--",
        "--shard",
        "1/2",
        "--suite",
        "scoping,upstream",
        "--cell",
        stale[0],
        "--cell",
        stale[1],
    ]


def test_the_weekly_run_is_still_the_full_one(runner: StepRunner) -> None:
    shutil.copy(RESOURCES / "small-matrix.toml", runner.work / "matrix.toml")
    weekly = {**DAILY, "SCHEDULE": runner.workflow["env"]["WEEKLY_CRON"]}
    done, outputs = runner("plan", "plan", **weekly)
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["mode"] == "full"
    assert outputs["stale"] == ""
    assert json.loads(outputs["shards"]) == ["1/4", "2/4", "3/4", "4/4"]


def test_the_jobs_after_the_plan_follow_its_mode(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    for job in ("shard", "merge"):
        assert "needs.plan.outputs.count != '0'" in jobs[job]["if"]
        assert "needs.plan.outputs.mode != 'compare'" in jobs[job]["if"]
    assert jobs["compare"]["if"] == "${{ needs.plan.outputs.mode == 'compare' }}"
    assert jobs["compare"]["permissions"] == {"contents": "read"}
    # Issues are kept after every complete grid: a recovery closes its issue.
    assert "regressed" not in jobs["report-regressions"]["if"]


# --- a dispatch that compares a Flask-Admin ref with the releases --------------------------


def test_a_flask_admin_ref_makes_the_run_a_comparison(runner: StepRunner) -> None:
    shutil.copy(RESOURCES / "small-matrix.toml", runner.work / "matrix.toml")
    done, outputs = runner(
        "plan", "plan", EVENT="workflow_dispatch", SHARDS="", FILTER="admin22", ADMIN_REF="fix/2835"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert outputs["mode"] == "compare"
    done, _ = runner("compare", "compare", ADMIN_REF="fix/2835", FILTER="admin22 and fsa")
    assert done.returncode == 0, done.stderr
    args = (runner.temp / "nox-args").read_text(encoding="utf-8").splitlines()
    repo = runner.workflow["env"]["FLASK_ADMIN_REPO"]
    assert args == [
        "-s",
        "compare",
        "--",
        "--with",
        f"flask-admin=git+{repo}@fix/2835",
        "-k",
        "admin22 and fsa",
    ]


@pytest.mark.parametrize(
    "ref",
    [
        'x"; touch pwned; echo "',
        "--upload-pack=touch pwned",
        "a..b",
        "$(touch pwned)",
        "main\ntouch pwned",
    ],
)
def test_a_flask_admin_ref_that_is_no_ref_name_is_refused(runner: StepRunner, ref: str) -> None:
    shutil.copy(RESOURCES / "small-matrix.toml", runner.work / "matrix.toml")
    done, outputs = runner(
        "plan", "plan", EVENT="workflow_dispatch", SHARDS="", FILTER="", ADMIN_REF=ref
    )
    assert done.returncode == 2
    assert "flask-admin-ref must be a branch, tag or commit name" in done.stdout
    assert outputs == {}
    done, _ = runner("compare", "compare", ADMIN_REF=ref, FILTER="")
    assert done.returncode == 2
    assert not (runner.work / "pwned").exists()
    assert not (runner.temp / "nox-args").exists()
