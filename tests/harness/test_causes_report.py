"""What the merge writes about causes: what to use, badges, the feed, reproductions, both pages."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import replace
from pathlib import Path

import feedparser
import jsonschema
import pytest
from factories import RESOURCES, make_grid, make_grid_cell, make_outcome

from flask_admin_compat.grid.causes import with_causes
from flask_admin_compat.grid.known import load_known
from flask_admin_compat.grid.model import CellChange, Changes, Grid, read_grid
from flask_admin_compat.report.badges import badge, badge_texts
from flask_admin_compat.report.choices import what_to_use
from flask_admin_compat.report.feed import previous_entries, render_feed
from flask_admin_compat.report.html import render_html
from flask_admin_compat.report.markdown import render_markdown
from flask_admin_compat.report.outputs import write_outputs
from flask_admin_compat.report.repro import render_repro, repro_spec, repro_texts

HOSTILE = "<script>alert(1)</script> & ]]> \x01 \"' `x` |"


@pytest.fixture
def grid() -> Grid:
    return with_causes(read_grid(RESOURCES / "repro-grid.json"), known=load_known())


def test_what_to_use_is_the_newest_stack_that_works_else_the_workaround(grid: Grid) -> None:
    choices = {(c.install_set, c.series): c for c in what_to_use(grid)}
    fsa = choices[("flask-sqlalchemy 3.1.*", "2.0")]
    assert fsa.verdict == "compatible"
    assert fsa.documented
    assert fsa.pattern == "session-at-setup"
    lite = choices[("flask-sqlalchemy-lite 0.1.*", "2.2")]
    assert lite.verdict == "workaround"
    assert lite.pattern == "lazy-proxy"
    assert lite.deprecation  # Flask-Admin 2.2 warns that passing a session will go
    alone = choices[("flask-sqlalchemy-lite 0.2.*", "2.2")]
    assert alone.verdict == "incompatible"
    assert any("tsession" in cause for cause in alone.causes)


def test_what_to_use_never_offers_a_pre_release_or_an_unreleased_build() -> None:
    requested = {"python": "3.12", "flask-admin": "2.2.*", "flask-sqlalchemy": "3.1.*"}
    built = {**requested, "flask-admin": "fix2835"}
    cells = make_grid(
        make_grid_cell(
            "release",
            requested,
            "workaround",
            installed={"flask-admin": "2.2.1"},
            recommended_pattern="lazy-proxy",
        ),
        make_grid_cell(
            "build", built, "compatible", installed={"flask-admin": "2.2.1"}, flags=("unreleased",)
        ),
        make_grid_cell(
            "beta",
            requested,
            "compatible",
            installed={"flask-admin": "2.2.2rc1"},
            flags=("pre-release",),
        ),
    )
    (choice,) = what_to_use(cells)
    assert (choice.series, choice.verdict, choice.cell_id) == ("2.2", "workaround", "release")


def test_the_pages_open_with_what_to_use_and_the_causes(grid: Grid) -> None:
    md = render_markdown(grid)
    first_table = md.index("## Python")
    assert md.index("## What to use") < first_table
    assert md.index("causes explain") < first_table
    assert "pallets-eco/flask-admin&#35;2953" in md
    line = next(ln for ln in md.splitlines() if ln.startswith('- <a id="py312-flask31-admin221'))
    assert "#cause-stack-importerror" in line
    page = render_html(grid)
    assert page.index('id="what-to-use"') < page.index('<main id="grid">')
    assert page.index('id="causes"') < page.index('<main id="grid">')
    assert "causes explain" in page


def test_hostile_cause_text_is_escaped_on_both_pages(grid: Grid) -> None:
    cause = replace(grid.causes[0], signature=HOSTILE, shared=HOSTILE)
    hostile = replace(grid, causes=(cause, *grid.causes[1:]))
    # Inside a code span GitHub shows markup as text; everywhere else it must be escaped.
    outside_code = re.sub(r"(`+)(.+?)\1", "", render_markdown(hostile))
    assert "<script>alert" not in outside_code
    assert "<script>alert" not in render_html(hostile)


def test_badges_follow_shields_endpoint_schema(grid: Grid, tmp_path: Path) -> None:
    schema = json.loads((RESOURCES / "shields-endpoint.schema.json").read_text())
    texts = badge_texts(grid, tmp_path)
    assert len(texts) == len(what_to_use(grid))
    for path, text in texts.items():
        assert path.parent == tmp_path / "badges"
        jsonschema.validate(json.loads(text), schema)
    lite = next(c for c in what_to_use(grid) if c.deprecation)
    made = badge(lite)
    assert made["color"] == "orange"
    assert made["message"].endswith("(deprecated)")


def test_a_badge_with_a_hostile_verdict_still_fits_the_schema(grid: Grid) -> None:
    schema = json.loads((RESOURCES / "shields-endpoint.schema.json").read_text())
    choice = replace(what_to_use(grid)[0], install_set=HOSTILE, verdict="error")
    jsonschema.validate(badge(choice), schema)


def changed(grid: Grid, *, cell_id: str = "py312-flask31-admin221-sqla20-lite01") -> Grid:
    change = CellChange(cell_id, "workaround", "incompatible", (HOSTILE,))
    return replace(grid, changes=Changes("2026-11-30T00:00:00+00:00", regressions=(change,)))


def test_the_feed_parses_and_keeps_earlier_entries(grid: Grid, tmp_path: Path) -> None:
    path = tmp_path / "changes.xml"
    path.write_text(render_feed(changed(grid)))
    later = replace(changed(grid, cell_id="py312-other"), generated_at="2026-12-03T00:00:00+00:00")
    path.write_text(render_feed(later, previous_entries(path)))
    feed = feedparser.parse(path.read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title.startswith("flask-admin-compat")
    assert len(feed.entries) == 2
    newest = feed.entries[0]
    assert newest.title.startswith("1 regression since")
    assert "py312-other" in newest.content[0].value
    assert "<script>alert(1)</script>" in feed.entries[1].content[0].value  # as text, escaped


def test_a_merge_that_changed_nothing_adds_no_entry(grid: Grid) -> None:
    feed = feedparser.parse(render_feed(replace(grid, changes=Changes("then"))))
    assert not feed.bozo
    assert feed.entries == []


def test_a_reproduction_pins_its_cell_and_needs_nothing_of_this_project(grid: Grid) -> None:
    cause = next(c for c in grid.causes if "T_SESSION" in c.signature)
    spec = repro_spec(cause, grid)
    assert spec is not None
    text = render_repro(spec)
    ast.parse(text)
    block = text.split("# /// script\n", 1)[1].split("# ///\n", 1)[0]
    assert '# requires-python = "==3.12.*"' in block
    assert '"flask-admin==2.2.1",' in block
    assert '"flask-sqlalchemy-lite==0.1.0",' in block
    assert "pytest" not in block
    assert "flask_admin_compat" not in text
    hostile = render_repro(replace(spec, signature=HOSTILE + "\nimport os; os.exit(3)"))
    tree = ast.parse(hostile)
    assert not any(isinstance(n, ast.Import) and n.names[0].name == "os" for n in tree.body)


def test_the_merge_writes_reproductions_badges_and_feed(grid: Grid, tmp_path: Path) -> None:
    stale = tmp_path / "repro" / "gone-cause.py"
    stale.parent.mkdir()
    stale.write_text("")
    written = write_outputs(changed(grid), tmp_path)
    repros = sorted((tmp_path / "repro").glob("*.py"))
    assert [p.stem for p in repros] == sorted(c.id for c in grid.causes)
    assert not stale.exists()
    assert (tmp_path / "changes.xml") in written
    assert set(repro_texts(grid, tmp_path)) <= set(written)
    assert list((tmp_path / "badges").glob("*.json"))


def test_a_grid_without_causes_renders_as_before() -> None:
    cell = make_grid_cell(
        "py312-a",
        {"python": "3.12", "flask-admin": "2.2.*", "flask-sqlalchemy": "3.1.*"},
        installed={"flask-admin": "2.2.1"},
        checks=(make_outcome("startup", pattern="*"),),
        recommended_pattern="db-at-setup",
    )
    md = render_markdown(make_grid(cell))
    assert "## Causes" not in md
    assert "## What to use" in md
