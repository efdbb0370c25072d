"""One GitHub issue per cell family for regressions: opened, updated by later runs, closed.

CI's grid runs daily; an issue per run would repeat itself every day a regression stands. Here
the cells that regressed are grouped into families (the cells that share a Flask-Admin spec and
a backend install set, e.g. ``admin22-lite02``: every Python, Flask and SQLAlchemy of one
Flask-Admin with one backend), and each family has one issue, ever. Its body carries, in an
HTML comment, the cells it tracks and each one's verdict before it regressed, so that a later
run can tell what is new (an update with a comment), what is still broken (left as it is) and
when every tracked cell is back to its verdict before (a closing comment, then closed). A
family that regresses again reopens its closed issue rather than opening another.

Everything is decided here, offline and testable: the workflow only lists the issues with
``gh issue list`` and carries out the plan this writes (``actions.tsv`` and one file per text),
passing every value to ``gh`` as a quoted argument or a file.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from flask_admin_compat import exitcodes
from flask_admin_compat.grid.model import CellChange, Grid, GridError, read_grid
from flask_admin_compat.jsonio import write_text_atomic
from flask_admin_compat.report.markdown import md_code, md_text

LABEL = "compat-regression"
TITLE = "Compatibility regression: {family} cells got worse"
ACTIONS_FILE = "actions.tsv"
_MARKER = re.compile(r"<!-- flask-admin-compat family=([a-z0-9-]+) before=(\{[^<>]*\}) -->")
# How good a verdict is: a cell has recovered when it is back to (or better than) before.
_RANK = {"compatible": 0, "workaround": 1, "incompatible": 2, "uninstallable": 3}

Action = Literal["open", "reopen", "update", "close"]


@dataclass(frozen=True)
class Issue:
    """An issue the workflow listed, with the family and cells its body says it tracks."""

    number: int
    state: str  # OPEN or CLOSED, as gh spells it
    family: str
    before: Mapping[str, str]  # cell id -> its verdict before it regressed


@dataclass(frozen=True)
class Step:
    """One thing to do on GitHub: its texts are written to files, never into a command."""

    action: Action
    number: int | None
    title: str
    body: str
    comment: str = ""


def family_of(cell_id: str) -> str:
    """``py312-flask31-admin22-sqla20-lite02fsa31`` -> ``admin22-lite02fsa31`` (``-pg`` kept)."""
    parts = cell_id.split("-")
    database = [parts.pop()] if len(parts) > 1 and parts[-1] == "pg" else []
    admin = [p for p in parts if p.startswith("admin")][:1]
    return "-".join([*admin, parts[-1], *database])


def parse_issues(listed: object) -> list[Issue]:
    """``gh issue list --json number,state,body`` output: the issues this module opened."""
    if not isinstance(listed, list):
        raise TypeError("expected a JSON list of issues (gh issue list --json ...)")
    issues: list[Issue] = []
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("number"), int):
            raise TypeError(f"not an issue with a number: {item!r:.80}")
        match = _MARKER.search(str(item.get("body", "")))
        if match is None:
            continue  # not one of ours, or edited by hand beyond recognition
        try:
            before = json.loads(match[2])
        except ValueError:
            continue
        if isinstance(before, dict) and all(isinstance(v, str) for v in before.values()):
            issues.append(Issue(item["number"], str(item.get("state", "OPEN")), match[1], before))
    return issues


def plan(
    grid: Grid, issues: Sequence[Issue], *, notes: Sequence[str] = (), run_url: str = ""
) -> list[Step]:
    """What to do with each family's issue after this grid: open, reopen, update or close."""
    regressions: dict[str, list[CellChange]] = {}
    for change in grid.changes.regressions if grid.changes is not None else ():
        regressions.setdefault(family_of(change.cell_id), []).append(change)
    # One issue per family: an open one if there is one, else the most recent closed one.
    mine: dict[str, Issue] = {}
    for listed in sorted(issues, key=lambda i: (i.state == "OPEN", i.number)):
        mine[listed.family] = listed
    now = {c.cell_id: c.label for c in grid.cells}
    steps: list[Step] = []
    for family, changes in sorted(regressions.items()):
        issue = mine.get(family)
        known = dict(issue.before) if issue is not None and issue.state == "OPEN" else {}
        new = {c.cell_id: c.before or "new" for c in changes if c.cell_id not in known}
        tracked = {**known, **new}
        title = TITLE.format(family=family)
        body = _body(family, tracked, now, changes, notes, run_url)
        said = _newly(new, now, run_url)
        if issue is None:
            steps.append(Step("open", None, title, body))
        elif issue.state != "OPEN":
            steps.append(Step("reopen", issue.number, title, body, "Regressed again. " + said))
        elif new:
            steps.append(Step("update", issue.number, title, body, "More cells regressed. " + said))
    for family, issue in sorted(mine.items()):
        if issue.state == "OPEN" and family not in regressions and recovered(issue, now):
            back = ", ".join(f"{md_code(c)} {md_text(now.get(c, 'gone'))}" for c in issue.before)
            words = f"Every tracked cell is back: {back}." + (f" Run: {run_url}" if run_url else "")
            steps.append(Step("close", issue.number, TITLE.format(family=family), "", words))
    return steps


def recovered(issue: Issue, now: Mapping[str, str]) -> bool:
    """Whether every cell the issue tracks is back to its verdict before (or left the grid)."""
    for cell_id, before in issue.before.items():
        if cell_id not in now:
            continue
        rank_now, rank_before = _RANK.get(now[cell_id]), _RANK.get(before)
        if rank_now is None or (rank_before is not None and rank_now > rank_before):
            return False
    return True


def _newly(new: Mapping[str, str], now: Mapping[str, str], run_url: str) -> str:
    cells = ", ".join(
        f"{md_code(c)} ({md_text(b)} → {md_text(now.get(c, '?'))})" for c, b in new.items()
    )
    return f"{cells}." + (f" Run: {run_url}" if run_url else "")


def _body(
    family: str,
    tracked: Mapping[str, str],
    now: Mapping[str, str],
    changes: Sequence[CellChange],
    notes: Sequence[str],
    run_url: str,
) -> str:
    failing = {c.cell_id: c.checks for c in changes}
    lines = [
        (
            f"Cells of the family {md_code(family)} (one Flask-Admin spec with one backend) got "
            "worse than in the grid before. The compat workflow keeps this issue: later runs "
            "add cells that regress, and it is closed when every cell below is back to its "
            "verdict."
        ),
        "",
        "| cell | before | now | newly failing |",
        "| --- | --- | --- | --- |",
    ]
    for cell_id, before in sorted(tracked.items()):
        checks = ", ".join(md_text(c) for c in failing.get(cell_id, ()))
        lines.append(
            f"| {md_code(cell_id)} | {md_text(before)} | {md_text(now.get(cell_id, 'gone'))} "
            f"| {checks} |"
        )
    bisected = [n for n in notes if any(n.startswith(f"- {c}:") for c in tracked)]
    if bisected:
        lines += ["", "First bad releases (bisected between the versions installed then and now):"]
        lines += ["", *(f"- {md_text(n.removeprefix('- '))}" for n in bisected)]
    if run_url:
        lines += ["", f"Run, logs and each shard's cells: {run_url}"]
    state = json.dumps(dict(sorted(tracked.items())), separators=(",", ":"))
    lines += ["", f"<!-- flask-admin-compat family={family} before={state} -->"]
    return "\n".join(lines) + "\n"


def write_plan(steps: Sequence[Step], folder: Path) -> Path:
    """``actions.tsv`` (action, number, stem) and each step's title, body and comment files."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, step in enumerate(steps, start=1):
        stem = folder / f"step{i}"
        write_text_atomic(stem.with_suffix(".title"), step.title + "\n")
        write_text_atomic(stem.with_suffix(".body"), step.body)
        write_text_atomic(stem.with_suffix(".comment"), step.comment + "\n")
        rows.append(f"{step.action}\t{step.number or 0}\t{stem}\n")
    actions = folder / ACTIONS_FILE
    write_text_atomic(actions, "".join(rows))
    return actions


def run_regression_issues(
    grid_file: Path,
    issues_file: Path,
    out_dir: Path,
    *,
    bisect_file: Path | None = None,
    run_url: str = "",
    out: IO[str],
) -> int:
    """Read the grid and the listed issues, write the plan, say it in one line per step."""
    try:
        grid = read_grid(grid_file)
        listed: Any = json.loads(issues_file.read_text(encoding="utf-8"))
        issues = parse_issues(listed)
        notes = bisect_file.read_text(encoding="utf-8").splitlines() if bisect_file else []
    except (GridError, OSError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exitcodes.USAGE
    steps = plan(grid, issues, notes=notes, run_url=run_url)
    write_plan(steps, out_dir)
    for step in steps:
        out.write(f"{step.action} {f'#{step.number} ' if step.number else ''}{step.title}\n")
    if not steps:
        out.write("no issue to open, update or close\n")
    return exitcodes.OK
