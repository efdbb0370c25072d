"""grid.html in a real headless Chromium: cells, filters, details, and no script from a run.

Uses Debian's chromium through Playwright (never a browser Playwright downloads); where either
is missing the test is skipped, saying which.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import make_grid_cell

from flask_admin_compat.grid.model import CellChange, Changes, Grid, GridCell, LogRef
from flask_admin_compat.report.html import render_html
from flask_admin_compat.results.model import CheckOutcome, Verdict

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOSTILE = "<script>alert('pwned')</script><img src=x onerror=alert(2)>"
PATTERNS = ("session-at-setup", "db-at-setup", "in-app-context", "lazy-proxy")
CHECKS = ("construct", "per-request", "teardown", "isolation-after-error")


def outcomes(failing: dict[str, str] | None = None) -> tuple[CheckOutcome, ...]:
    failing = failing or {}
    return tuple(
        CheckOutcome(
            pattern,
            check,
            "failed" if check in failing and pattern == "session-at-setup" else "passed",
            failing.get(check, "") if pattern == "session-at-setup" else "",
            0.1,
            ("failed",) if check in failing and pattern == "session-at-setup" else ("passed",),
        )
        for pattern in PATTERNS
        for check in CHECKS
    )


def make_grid() -> Grid:
    cells: list[GridCell] = []
    verdicts: dict[tuple[str, str], Verdict] = {
        ("3.0.*", "2.1.*"): "compatible",
        ("3.0.*", "2.2.*"): "compatible",
        ("3.1.*", "2.1.*"): "incompatible",
        ("3.1.*", "2.2.*"): "workaround",
    }
    for backend, version in (("flask-sqlalchemy", "3.1.*"), ("flask-sqlalchemy-lite", "0.2.*")):
        for sqla in ("1.4.*", "2.0.*"):
            for (flask, admin), verdict in verdicts.items():
                if sqla == "1.4.*" and admin == "2.2.*":
                    verdict = "uninstallable"
                cell_id = (
                    f"py312-flask{flask[:3].replace('.', '')}-admin{admin[:3].replace('.', '')}"
                    f"-sqla{sqla[:3].replace('.', '')}-{backend[-4:]}{version[:3].replace('.', '')}"
                )
                failing = {"per-request": HOSTILE} if verdict == "incompatible" else {}
                cells.append(
                    make_grid_cell(
                        cell_id,
                        {
                            "python": "3.12",
                            "flask": flask,
                            "flask-admin": admin,
                            "sqlalchemy": sqla,
                            backend: version,
                        },
                        verdict,
                        reason=HOSTILE if verdict == "incompatible" else "",
                        result_path=f"cells/{cell_id}/result.json",
                        installed={"flask": flask.replace("*", "2")},
                        python_version="3.12.7",
                        recommended_pattern="lazy-proxy" if verdict == "workaround" else None,
                        checks=() if verdict == "uninstallable" else outcomes(failing),
                        flags=("flaky",) if verdict == "workaround" and sqla == "2.0.*" else (),
                        log=LogRef(f"cells/{cell_id}/log.txt", False, None, (HOSTILE, "done")),
                    )
                )
    cells.append(
        make_grid_cell(
            "lost-cell",
            {},
            "error",
            reason="unreadable result: truncated",
            result_path="r",
            unreadable="x",
        )
    )
    changes = Changes(
        "2025-05-01T00:00:00+00:00",
        regressions=(CellChange(cells[2].cell_id, "compatible", "incompatible", ("per-request",)),),
    )
    return Grid("2025-06-01T12:00:00+00:00", "0.1.0", tuple(cells), changes=changes)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (CI installs it)"
    )
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: install Debian's chromium (`apt-get install chromium`)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, tmp_path: Path) -> Iterator[tuple[Any, list[str]]]:
    grid_html = tmp_path / "grid.html"
    grid_html.write_text(render_html(make_grid()), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    trouble: list[str] = []
    page.on("pageerror", lambda exc: trouble.append(f"page error: {exc}"))

    def on_dialog(dialog: Any) -> None:
        trouble.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "request",
        lambda request: (
            None if request.url.startswith("file://") else trouble.append(f"request: {request.url}")
        ),
    )
    page.on(
        "console",
        lambda msg: trouble.append(f"console: {msg.text}") if msg.type == "error" else None,
    )
    page.goto(grid_html.as_uri())
    yield page, trouble
    context.close()


def visible_cells(page: Any) -> list[tuple[str, str]]:
    return [
        (b.get_attribute("data-cell"), b.get_attribute("data-verdict"))
        for b in page.locator("button.cell:visible").all()
    ]


def test_grid_in_a_real_browser(page: tuple[Any, list[str]], tmp_path: Path) -> None:
    page_, trouble = page
    grid = make_grid()

    # Every cell is there, with its verdict, and the counter says so.
    shown = visible_cells(page_)
    assert sorted(shown) == sorted((c.cell_id, c.verdict) for c in grid.cells)
    assert page_.locator("#shown").inner_text() == f"Showing {len(grid.cells)} of 17 cells"
    assert page_.locator("button.cell.v-incompatible:visible").count() == 4
    assert page_.get_by_text("unreadable result").first.is_visible()
    page_.screenshot(path=str(tmp_path / "grid-all.png"), full_page=True)

    # A filter narrows it: Flask 3.1 and the lite backend leave four cells.
    page_.select_option("select[data-axis=flask]", "3.1.*")
    page_.select_option("select[data-axis=flask-sqlalchemy-lite]", "0.2.*")
    narrowed = visible_cells(page_)
    assert len(narrowed) == 4
    assert all("flask31" in cell_id and "lite02" in cell_id for cell_id, _ in narrowed)
    assert page_.locator("#shown").inner_text() == "Showing 4 of 17 cells"
    # The other backend's table is gone, not shown empty.
    assert page_.locator("section[data-table]:visible").count() == 1
    page_.select_option("#f-verdict", "incompatible")
    assert len(visible_cells(page_)) == 2
    page_.screenshot(path=str(tmp_path / "grid-filtered.png"), full_page=True)

    # A cell's details open, with the failed check and its message shown as text.
    page_.locator("button.cell.v-incompatible:visible").first.click()
    dialog = page_.locator("dialog#detail")
    assert dialog.is_visible()
    text = dialog.inner_text()
    assert "incompatible" in text
    assert "per-request (session-at-setup)" in text
    assert HOSTILE in text  # the run's text, shown literally
    assert "Its last lines" in text
    page_.screenshot(path=str(tmp_path / "grid-details.png"))
    page_.keyboard.press("Escape")
    assert not dialog.is_visible()

    # A regression in the Changes list opens the same details.
    page_.locator("#changes button[data-open]").first.click()
    assert dialog.is_visible()
    assert grid.cells[2].cell_id in dialog.inner_text()
    page_.locator("dialog#detail button", has_text="Close").click()
    assert not dialog.is_visible()

    # "Show all" brings every cell back.
    page_.get_by_role("button", name="Show all").click()
    page_.wait_for_function("document.querySelectorAll('button.cell.hidden').length === 0")
    assert len(visible_cells(page_)) == len(grid.cells)

    # No script from a run ran, nothing was fetched, and the page's own script had no error.
    assert page_.evaluate("document.querySelectorAll('img').length") == 0
    assert trouble == []


def test_an_install_set_cell_says_what_is_beside_its_backend(browser: Any, tmp_path: Path) -> None:
    requested = {
        "python": "3.12",
        "flask": "3.1.*",
        "flask-admin": "2.2.1",
        "sqlalchemy": "2.0.*",
        "flask-sqlalchemy-lite": "0.2.*",
        "flask-sqlalchemy": "3.1.*",
    }
    cell_id = "py312-flask31-admin221-sqla20-lite02fsa31"
    grid = Grid("2025-06-01T12:00:00+00:00", "0.1.0", (make_grid_cell(cell_id, requested),))
    grid_html = tmp_path / "grid.html"
    grid_html.write_text(render_html(grid), encoding="utf-8")
    context = browser.new_context()
    page = context.new_page()
    page.goto(grid_html.as_uri())
    title = page.locator("section[data-table] h2").inner_text()
    assert title == (
        "Python 3.12 · Flask-SQLAlchemy-Lite 0.2.* under test, "
        "with Flask-SQLAlchemy 3.1.* installed beside"
    )
    page.locator("button.cell").first.click()
    rows = page.locator("dialog#detail tr").all_inner_texts()
    assert any(
        r.startswith("Flask-SQLAlchemy (installed beside the backend under test)") for r in rows
    )
    assert any(r.startswith("Flask-SQLAlchemy-Lite\t0.2.*") for r in rows)
    context.close()
