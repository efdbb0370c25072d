"""grid.html: self-contained, every run-made text escaped, and the data its script reads."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

from factories import make_grid_cell

from flask_admin_compat.checks.ids import CHECK_IDS, PATTERN_IDS
from flask_admin_compat.grid.model import CellChange, Changes, Grid, GridCell, LogRef
from flask_admin_compat.report.html import hover_text, render_html
from flask_admin_compat.results.model import CheckOutcome, Verdict

HOSTILE = "</script><script>alert('x')</script><img src=x onerror=alert(1)> & \" '"


def req(flask: str, admin: str, backend: str = "flask-sqlalchemy") -> dict[str, str]:
    return {
        "python": "3.12",
        "flask": flask,
        "flask-admin": admin,
        "sqlalchemy": "2.0.*",
        backend: "3.1.*",
    }


def cell(
    cell_id: str, requested: dict[str, str], verdict: Verdict = "compatible", **kwargs: Any
) -> GridCell:
    return make_grid_cell(
        cell_id, requested, verdict, reason=kwargs.pop("reason", ""), result_path="r", **kwargs
    )


def failed(check: str, message: str, pattern: str = "session-at-setup") -> CheckOutcome:
    return CheckOutcome(pattern, check, "failed", message, 0.1, ("failed", "passed"))


def grid(*cells: GridCell, changes: Changes | None = None) -> Grid:
    return Grid("2025-06-01T12:00:00+00:00", "0.1.0", cells, changes=changes)


class Page(HTMLParser):
    """Collects what the tests look at: tags with attributes, and every script's text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self.scripts.append((self._in_script, data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def all(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def data_of(page: Page) -> dict[str, object]:
    text = next(t for attrs, t in page.scripts if attrs.get("type") == "application/json")
    return json.loads(text)  # type: ignore[no-any-return]


def sample() -> Grid:
    return grid(
        cell("a", req("3.0.*", "2.2.*")),
        cell(
            "b",
            req("3.1.*", "2.2.*"),
            "incompatible",
            reason="no pattern works",
            checks=(failed("per-request", "AssertionError: shared"),),
            flags=("flaky",),
        ),
        cell(
            "c",
            req("3.1.*", "2.1.*", "flask-sqlalchemy-lite"),
            "workaround",
            recommended_pattern="lazy-proxy",
        ),
        cell("lost", {}, "error", reason="unreadable result: truncated", unreadable="truncated"),
    )


def test_page_is_self_contained() -> None:
    html = render_html(sample())
    page = Page(html)
    assert not page.all("link")
    assert not page.all("img")
    assert all("src" not in attrs for attrs in page.all("script"))
    assert "http://" not in html
    assert "https://" not in html
    assert "@import" not in html
    assert "default-src 'none'" in html  # and the browser is told so


def test_one_button_per_cell_with_its_verdict() -> None:
    page = Page(render_html(sample()))
    buttons = [a for a in page.all("button") if "cell" in (a.get("class") or "").split()]
    assert sorted((b["data-cell"], b["data-verdict"]) for b in buttons) == [
        ("a", "compatible"),
        ("b", "incompatible"),
        ("c", "workaround"),
        ("lost", "error"),
    ]


def test_filters_cover_every_axis_present() -> None:
    html = render_html(sample())
    page = Page(html)
    axes = [s["data-axis"] for s in page.all("select") if "data-axis" in s]
    assert axes == [
        "python",
        "flask",
        "flask-admin",
        "sqlalchemy",
        "flask-sqlalchemy",
        "flask-sqlalchemy-lite",
    ]
    flask = html.split('data-axis="flask"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'value="([^"]*)"', flask) == ["", "3.0.*", "3.1.*"]


def test_tables_have_spanning_headers_and_legend_words() -> None:
    html = render_html(sample())
    assert "<h2>Python 3.12 · Flask-SQLAlchemy 3.1.*</h2>" in html
    assert "<h2>Python 3.12 · Flask-SQLAlchemy-Lite 3.1.*</h2>" in html
    assert '<th scope="col" colspan="1" data-cols="0">3.0.*</th>' in html
    assert "<h2>Cells that could not be placed</h2>" in html
    for word in ("compatible", "workaround", "incompatible", "uninstallable", "error", "excluded"):
        assert f"</span>{word}</span></dt>" in html


def test_data_for_the_details() -> None:
    page = Page(render_html(sample()))
    data = data_of(page)
    cells = {c["id"]: c for c in data["cells"]}  # type: ignore[attr-defined]
    b = cells["b"]
    assert b["flaky"] is True
    assert b["o"] == [["session-at-setup", "f"]]
    assert b["m"] == [
        [
            "session-at-setup",
            "per-request",
            "failed",
            ["failed", "passed"],
            "AssertionError: shared",
        ]
    ]
    assert cells["c"]["pattern"] == "lazy-proxy"
    assert cells["lost"]["label"] == "error (unreadable result)"


def test_hostile_text_is_shown_as_text() -> None:
    evil = cell(
        HOSTILE,
        req(HOSTILE, "2.2.*"),
        "incompatible",
        reason=HOSTILE,
        checks=(failed("per-request", HOSTILE),),
        log=LogRef(HOSTILE, False, None, (HOSTILE,)),
        unreadable=None,
    )
    changes = Changes("then", regressions=(CellChange(HOSTILE, "compatible", HOSTILE, (HOSTILE,)),))
    html = render_html(grid(evil, changes=changes))
    page = Page(html)
    # Only the page's own two scripts, and no element or handler from the run's text.
    assert len(page.all("script")) == 2
    assert html.count("<script") == 2
    assert not page.all("img")
    assert all(not name.startswith("on") for _, attrs in page.tags for name in attrs)
    # The text itself survives, intact, for the reader.
    assert "&lt;/script&gt;&lt;script&gt;alert(&#x27;x&#x27;)" in html
    data = data_of(page)
    only = data["cells"][0]  # type: ignore[index]
    assert only["reason"] == HOSTILE
    assert only["m"][0][4] == HOSTILE
    assert only["log"]["excerpt"] == [HOSTILE]


def test_unsafe_log_url_is_not_linked() -> None:
    sneaky = cell("s", req("3.0.*", "2.2.*"), log=LogRef("x", True, "javascript:alert(1)", ()))
    data = data_of(Page(render_html(grid(sneaky))))
    assert data["cells"][0]["log"]["url"] is None  # type: ignore[index]


def test_changed_cells_are_marked() -> None:
    changes = Changes(
        "2025-05-01T00:00:00+00:00",
        regressions=(CellChange("b", "compatible", "incompatible", ("per-request",)),),
        new=(CellChange("a", None, "compatible"),),
    )
    html = render_html(grid(*sample().cells, changes=changes))
    assert "<h2>Changes since the grid of 2025-05-01T00:00:00+00:00</h2>" in html
    assert "<h3>Regressions (1)</h3>" in html
    assert (
        '<button type="button" class="open" data-open="b"><code>b</code></button>: '
        "compatible → incompatible; broke: per-request"
    ) in html
    assert 'title="regressed: was compatible">▼</span>' in html
    assert 'title="new since the previous grid">new</span>' in html


def test_hover_text_says_verdict_why_and_failed_checks() -> None:
    b = sample().cells[1]
    text = hover_text(b)
    assert text.splitlines()[:3] == [
        "b: incompatible (flaky)",
        "no pattern works",
        "✗ per-request (session-at-setup): AssertionError: shared",
    ]


def test_page_size_stays_small_for_a_full_matrix() -> None:
    checks = tuple(
        CheckOutcome(p, c, "passed", "", 0.1, ("passed",)) for p in PATTERN_IDS for c in CHECK_IDS
    )
    cells = [
        cell(
            f"c{i}-{j}-{k}",
            req(f"3.{i}.*", f"2.{j}.*"),
            checks=checks,
            log=LogRef(f"cells/c{i}-{j}-{k}/log.txt", True, f"cells/c{i}-{j}-{k}/log.txt"),
        )
        for i in range(6)
        for j in range(6)
        for k in range(5)
    ]
    html = render_html(grid(*cells))
    assert len(html.encode()) < 250_000


def test_pre_release_and_unreleased_cells_are_marked_as_such() -> None:
    page = render_html(
        grid(
            cell("a", req("3.1.*", "2.2.*")),
            cell("b", req("3.1.*", "fix2835"), flags=("unreleased",)),
            cell("c", req("3.1.*", "2.3.0rc1"), flags=("pre-release",)),
        )
    )
    assert page.count("\N{CONSTRUCTION SIGN} unreleased</span>") == 1
    assert page.count("\N{GREEK SMALL LETTER BETA} pre-release</span>") == 1
