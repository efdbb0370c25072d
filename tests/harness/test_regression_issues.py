"""One GitHub issue per cell family: opened, updated, never duplicated, closed on recovery."""

from __future__ import annotations

import io
import json
from pathlib import Path

from factories import make_grid, make_grid_cell

from flask_admin_compat.cli import main
from flask_admin_compat.grid.model import CellChange, Changes, Grid, render_json
from flask_admin_compat.regression_issues import Issue, family_of, parse_issues, plan
from flask_admin_compat.results.model import Verdict

A = "py312-flask31-admin22-sqla20-fsa31"
B = "py313-flask31-admin22-sqla21-fsa31"  # the same family: admin22 with fsa31
C = "py312-flask31-admin22-sqla20-lite02fsa31"  # another family
RUN = "https://github.example/o/r/actions/runs/7"


def _grid(verdicts: dict[str, Verdict], *regressed: tuple[str, str]) -> Grid:
    cells = [make_grid_cell(cid, {"python": "3.12"}, v) for cid, v in verdicts.items()]
    changes = Changes(
        "2026-11-30T05:00:00+00:00",
        regressions=tuple(
            CellChange(cid, before, verdicts[cid], checks=("per-request (db-at-setup)",))
            for cid, before in regressed
        ),
    )
    return make_grid(*cells, changes=changes)


def _listed(steps_bodies: list[tuple[int, str, str]]) -> list[Issue]:
    """What `gh issue list --json number,state,body` returns, read back."""
    return parse_issues([{"number": n, "state": s, "body": b} for n, s, b in steps_bodies])


def test_families_join_every_python_flask_and_sqlalchemy_of_one_admin_and_backend() -> None:
    assert family_of(A) == family_of(B) == "admin22-fsa31"
    assert family_of(C) == "admin22-lite02fsa31"
    assert family_of("py312-flask31-admin22-sqla20-fsa31-pg") == "admin22-fsa31-pg"


def test_one_issue_per_family_then_updated_never_duplicated_then_closed() -> None:
    # Day 1: A regresses; C too, in another family: two issues.
    day1 = _grid(
        {A: "incompatible", B: "compatible", C: "workaround"}, (A, "compatible"), (C, "compatible")
    )
    steps = plan(day1, [], run_url=RUN)
    assert [(s.action, s.number, s.title) for s in steps] == [
        ("open", None, "Compatibility regression: admin22-fsa31 cells got worse"),
        ("open", None, "Compatibility regression: admin22-lite02fsa31 cells got worse"),
    ]
    assert f"`{A}` | compatible | incompatible | per-request (db-at-setup) |" in steps[0].body
    assert RUN in steps[0].body
    issues = _listed([(1, "OPEN", steps[0].body), (2, "OPEN", steps[1].body)])

    # Day 2: nothing new regressed (A still broken, so grid.changes lists no regression).
    day2 = _grid({A: "incompatible", B: "compatible", C: "workaround"})
    assert plan(day2, issues) == []

    # Day 3: B regresses too, in A's family: that issue is updated, no new one is opened.
    day3 = _grid({A: "incompatible", B: "workaround", C: "workaround"}, (B, "compatible"))
    (step,) = plan(day3, issues)
    assert (step.action, step.number) == ("update", 1)
    assert "More cells regressed" in step.comment
    assert f"`{A}`" in step.body
    assert f"`{B}`" in step.body
    family_body, other_body = step.body, steps[1].body
    issues = _listed([(1, "OPEN", family_body), (2, "OPEN", other_body)])

    # Day 4: A's family recovers; C's does not: exactly one issue is closed.
    day4 = _grid({A: "compatible", B: "compatible", C: "workaround"})
    (step,) = plan(day4, issues)
    assert (step.action, step.number) == ("close", 1)
    assert "Every tracked cell is back" in step.comment

    # Day 9: A regresses again: its closed issue is reopened, not duplicated.
    issues = _listed([(1, "CLOSED", family_body), (2, "OPEN", other_body)])
    day9 = _grid({A: "workaround", B: "compatible", C: "workaround"}, (A, "compatible"))
    (step,) = plan(day9, issues)
    assert (step.action, step.number) == ("reopen", 1)


def test_a_cell_still_worse_than_before_keeps_its_issue_open() -> None:
    opened = plan(_grid({A: "incompatible"}, (A, "compatible")), [])[0]
    issues = _listed([(5, "OPEN", opened.body)])
    assert plan(_grid({A: "workaround"}), issues) == []  # better, not back
    assert plan(_grid({A: "error"}), issues) == []  # unknown is not recovered
    assert plan(_grid({A: "compatible"}), issues)[0].action == "close"


def test_issues_not_ours_are_left_alone() -> None:
    assert _listed([(3, "OPEN", "A person's own issue about admin22-fsa31")]) == []


def test_the_command_writes_a_plan_the_workflow_carries_out(tmp_path: Path) -> None:
    grid_file = tmp_path / "grid.json"
    grid_file.write_text(render_json(_grid({A: "incompatible"}, (A, "compatible"))), "utf-8")
    (tmp_path / "issues.json").write_text("[]", encoding="utf-8")
    (tmp_path / "bisect.md").write_text(
        f"First bad releases:\n\n- {A}: first bad: sqlalchemy 2.0.41 (after 2.0.40)\n"
        f"- {C}: not this family\n",
        encoding="utf-8",
    )
    out = io.StringIO()
    code = main(
        [
            "regression-issues",
            "--grid",
            str(grid_file),
            "--issues",
            str(tmp_path / "issues.json"),
            "--out",
            str(tmp_path / "plan"),
            "--bisect",
            str(tmp_path / "bisect.md"),
            "--run-url",
            RUN,
        ],
        out=out,
    )
    assert code == 0
    assert out.getvalue() == "open Compatibility regression: admin22-fsa31 cells got worse\n"
    actions = (tmp_path / "plan" / "actions.tsv").read_text(encoding="utf-8")
    assert actions == f"open\t0\t{tmp_path / 'plan' / 'step1'}\n"
    body = (tmp_path / "plan" / "step1.body").read_text(encoding="utf-8")
    assert "first bad: sqlalchemy 2.0.41" in body
    assert "not this family" not in body
    marker = body.rstrip().splitlines()[-1]
    assert json.loads(marker.split("before=", 1)[1].removesuffix(" -->")) == {A: "compatible"}


def test_bad_issue_listings_are_one_line(tmp_path: Path, capsys: object) -> None:
    grid_file = tmp_path / "grid.json"
    grid_file.write_text(render_json(_grid({A: "compatible"})), "utf-8")
    (tmp_path / "issues.json").write_text('{"not": "a list"}', encoding="utf-8")
    code = main(
        [
            "regression-issues",
            "--grid",
            str(grid_file),
            "--issues",
            str(tmp_path / "issues.json"),
            "--out",
            str(tmp_path / "plan"),
        ],
        out=io.StringIO(),
    )
    assert code == 2
