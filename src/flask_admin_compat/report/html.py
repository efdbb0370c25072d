"""``grid.html``: one self-contained page, a pure function of the :class:`Grid`.

No framework and nothing fetched: the style and a small script are inline, and the per-cell
details travel as JSON in a ``<script type="application/json">`` block that the script turns
into DOM nodes with ``textContent``. Every run-made text is escaped on the way in (``html.escape``
for markup, ``<`` ``>`` ``&`` as ``\\u`` escapes inside the JSON), so a message holding
``<script>`` shows as text. Without JavaScript the tables, legend and hover text still work.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from flask_admin_compat.grid.diff import check_label
from flask_admin_compat.grid.model import (
    FLAKY,
    PYTHON_AXIS,
    CellChange,
    Changes,
    Grid,
    GridCell,
    safe_link,
    spec_sort_key,
)
from flask_admin_compat.report.markdown import AXIS_NAMES, MEANINGS
from flask_admin_compat.report.view import (
    UPSTREAM_MEANING,
    Table,
    check_order,
    failed_by_check,
    layout,
    pattern_order,
    upstream_failing,
    upstream_tally,
)
from flask_admin_compat.results.model import ANY_PATTERN, VERDICTS, first_line

#: Symbols present in common system fonts (DejaVu), so the page reads the same without colour
#: and without an emoji font.
ICONS: Mapping[str, str] = {
    "compatible": "\N{CHECK MARK}",
    "workaround": "\N{CIRCLE WITH LEFT HALF BLACK}",
    "incompatible": "\N{BALLOT X}",
    "uninstallable": "\N{CIRCLED DIVISION SLASH}",
    "error": "\N{WARNING SIGN}",
    "excluded": "\N{WHITE CIRCLE}",
    FLAKY: "\N{ALMOST EQUAL TO}",
}
#: Flask-Admin's own tests, beside the verdict: an alembic, which DejaVu Sans has too.
UPSTREAM_ICON = "\N{ALEMBIC}"
#: Failures of Flask-Admin's own tests the details list per cell (the page's size grows with
#: them); every one is in grid.json and the cell's upstream-junit.xml.
_UPSTREAM_FAILURES = 30
OUTCOME_CODES: Mapping[str, str] = {"passed": "p", "failed": "f", "error": "e", "skipped": "s"}
_TITLE_CHECKS = 6
_CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
)

_CSS = """
:root{--fg:#1d2125;--muted:#5b636b;--line:#d5d9de;--bg:#fff;--panel:#f6f7f9;
--compatible-bg:#e3f4e6;--compatible-fg:#17602c;--workaround-bg:#fff1cc;--workaround-fg:#6e4a00;
--incompatible-bg:#fde1df;--incompatible-fg:#9c1c17;--uninstallable-bg:#ebe6f7;
--uninstallable-fg:#4a3785;--error-bg:#fff;--error-fg:#a14700;--excluded-bg:#f1f2f3;
--excluded-fg:#5b636b}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--fg);background:var(--bg)}
header,main,section.block,form#filters{max-width:1480px;margin:0 auto;padding:0 20px}
header{padding-top:20px}
main>section.block{padding:0}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.2rem;margin:28px 0 8px}
h3{font-size:1rem;margin:16px 0 6px}
.meta{color:var(--muted);margin:0 0 12px}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:8px 0;padding:0;list-style:none}
.chip{display:inline-flex;align-items:center;gap:6px;border:1px solid var(--line);
border-radius:999px;padding:2px 10px;font-size:.9rem}
.chip b{font-variant-numeric:tabular-nums}
.legend{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,560px),1fr));
gap:6px 24px;margin:8px 0 0;font-size:.9rem}
.legend div{display:grid;grid-template-columns:8.5em 1fr;gap:10px;align-items:start}
.legend dt{white-space:nowrap}.legend dd{margin:0;color:var(--muted);padding-top:2px}
.v-compatible{background:var(--compatible-bg);color:var(--compatible-fg)}
.v-workaround{background:var(--workaround-bg);color:var(--workaround-fg)}
.v-incompatible{background:var(--incompatible-bg);color:var(--incompatible-fg)}
.v-uninstallable{background:var(--uninstallable-bg);color:var(--uninstallable-fg)}
.v-error{background:var(--error-bg);color:var(--error-fg);border-style:dashed!important;
border-color:var(--error-fg)!important}
.v-excluded{background:var(--excluded-bg);color:var(--excluded-fg)}
.icon{font-weight:700}
form#filters{position:sticky;top:0;z-index:2;background:var(--bg);
border-bottom:1px solid var(--line);padding-top:10px;padding-bottom:10px;display:flex;
flex-wrap:wrap;gap:10px 16px;align-items:end}
form#filters label{display:flex;flex-direction:column;font-size:.8rem;color:var(--muted)}
form#filters select,form#filters input{font:inherit;font-size:.9rem;padding:3px 6px;
border:1px solid var(--line);border-radius:6px;background:#fff;color:var(--fg)}
form#filters button{font:inherit;font-size:.9rem;padding:4px 10px;border-radius:6px;
border:1px solid var(--line);background:var(--panel);cursor:pointer}
#shown{font-size:.9rem;color:var(--muted);margin-left:auto}
.table-wrap{overflow-x:auto}
table.grid{border-collapse:separate;border-spacing:3px;font-size:.82rem}
table.grid th{font-weight:600;text-align:center;padding:4px 6px;white-space:nowrap}
table.grid thead th{border-bottom:1px solid var(--line)}
table.grid th[scope=row]{text-align:right}
table.grid td{padding:0;min-width:92px;height:1px}
td.none{color:var(--line);text-align:center}
button.cell{display:flex;width:100%;height:100%;gap:5px;align-items:baseline;justify-content:flex-start;
font:inherit;text-align:left;border:1px solid transparent;border-radius:6px;padding:5px 8px;
cursor:pointer}
button.cell:hover,button.cell:focus-visible{outline:2px solid var(--fg);outline-offset:1px}
button.cell small{display:block;font-size:.72rem;font-weight:600;opacity:.85;white-space:normal}
button.cell .word{white-space:nowrap}
.flag,.mark{font-size:.75rem;font-weight:600;white-space:nowrap}
.mark{margin-left:auto}
.mark{color:var(--fg)}
button.cell .up{font-weight:400}button.cell .up-failing{font-weight:700}
.hidden{display:none!important}
.changes ul{margin:4px 0 0;padding-left:20px}.changes li{margin:2px 0}
.changes .regressions h3{color:var(--incompatible-fg)}
code{font-family:"DejaVu Sans Mono",ui-monospace,monospace;font-size:.85em}
dialog{max-width:min(900px,94vw);width:100%;border:1px solid var(--line);border-radius:10px;
padding:0;box-shadow:0 10px 40px rgba(0,0,0,.25)}
dialog::backdrop{background:rgba(20,24,28,.35)}
.dlg-head{display:flex;gap:10px;align-items:center;padding:12px 16px;border-bottom:1px solid
var(--line)}
.dlg-head h2{margin:0;font-size:1.05rem;word-break:break-all}
.dlg-head .badge{border-radius:6px;padding:2px 8px;border:1px solid transparent;font-weight:600}
.dlg-head button{margin-left:auto;font:inherit;border:1px solid var(--line);border-radius:6px;
background:var(--panel);padding:2px 10px;cursor:pointer}
.dlg-body{padding:4px 16px 16px;max-height:75vh;overflow:auto}
.dlg-body table{border-collapse:collapse;font-size:.85rem;margin:4px 0}
.dlg-body th,.dlg-body td{border:1px solid var(--line);padding:3px 8px;text-align:left}
.dlg-body td.o{text-align:center;font-weight:700}
.o-p{color:var(--compatible-fg)}.o-f{color:var(--incompatible-fg);background:var(--incompatible-bg)}
.o-e{color:var(--error-fg);background:#fff3e6}.o-s,.o-n{color:var(--muted)}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:8px;
white-space:pre-wrap;word-break:break-word;font-size:.8rem;margin:4px 0}
.reason{white-space:pre-wrap}
ul.unplaced{list-style:none;padding:0}
ul.unplaced li{display:flex;gap:12px;align-items:center;margin:4px 0}
ul.unplaced button.cell{width:auto}
.legend-box .meta{margin-top:10px}
button.open{font:inherit;border:0;background:none;padding:0;color:inherit;cursor:pointer;
text-decoration:underline dotted}
footer{max-width:1480px;margin:32px auto;padding:0 20px;color:var(--muted);font-size:.8rem}
"""

_SCRIPT = r"""
(() => {
  const data = JSON.parse(document.getElementById("grid-data").textContent);
  const byId = new Map(data.cells.map((c) => [c.id, c]));
  const form = document.getElementById("filters");
  const axisSelects = [...form.querySelectorAll("select[data-axis]")];
  const verdict = document.getElementById("f-verdict");
  const search = document.getElementById("f-search");
  const shown = document.getElementById("shown");
  const buttons = [...document.querySelectorAll("button.cell")];
  form.hidden = false;

  function matches(c) {
    for (const s of axisSelects) {
      if (s.value && c.requested[s.dataset.axis] !== s.value) return false;
    }
    const v = verdict.value;
    if (v === "not-compatible" && c.verdict === "compatible" && !c.flaky) return false;
    if (v === "flaky" && !c.flaky) return false;
    if (v === "upstream-failing" && !(c.up && c.up.failing)) return false;
    const special = ["not-compatible", "flaky", "upstream-failing"];
    if (v && !special.includes(v) && c.verdict !== v) return false;
    const q = search.value.trim().toLowerCase();
    return !q || c.id.toLowerCase().includes(q);
  }

  function apply() {
    let count = 0;
    for (const b of buttons) {
      const ok = matches(byId.get(b.dataset.cell));
      b.classList.toggle("hidden", !ok);
      if (ok) count += 1;
    }
    for (const section of document.querySelectorAll("[data-table]")) {
      const table = section.querySelector("table");
      const visibleCols = new Set();
      let anyRow = false;
      if (table) {
        for (const tr of table.tBodies[0].rows) {
          let rowVisible = false;
          for (const td of tr.querySelectorAll("td")) {
            const live = td.querySelector("button.cell:not(.hidden)") !== null;
            if (live) { rowVisible = true; visibleCols.add(td.dataset.col); }
          }
          tr.classList.toggle("hidden", !rowVisible);
          anyRow = anyRow || rowVisible;
        }
        for (const td of table.querySelectorAll("td[data-col]")) {
          td.classList.toggle("hidden", !visibleCols.has(td.dataset.col));
        }
        for (const th of table.querySelectorAll("th[data-cols]")) {
          const cols = th.dataset.cols.split(" ").filter((x) => visibleCols.has(x));
          th.classList.toggle("hidden", cols.length === 0);
          th.colSpan = Math.max(cols.length, 1);
        }
      } else {
        anyRow = section.querySelector("button.cell:not(.hidden)") !== null;
      }
      section.classList.toggle("hidden", !anyRow);
    }
    shown.textContent = `Showing ${count} of ${buttons.length} cells`;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const dialog = document.getElementById("detail");
  const OUT = {p: ["\u2713", "passed"], f: ["\u2717", "failed"], e: ["\u26a0", "error"],
    s: ["\u2013", "skipped"], ".": ["\u00b7", "not run"]};

  function checksTable(c) {
    if (!c.o.length) return el("p", {}, "No checks ran in this cell.");
    const head = el("tr", {}, el("th", {}, "check"),
      ...c.o.map(([p]) => el("th", {}, p === data.anyPattern ? "stack" : p)));
    const rows = data.checks.map((check, ci) => {
      const cells = c.o.map(([, codes]) => {
        const code = codes[ci] || ".";
        const [sym, word] = OUT[code] || OUT["."];
        return el("td", {class: `o o-${code === "." ? "n" : code}`, title: word}, sym);
      });
      return el("tr", {}, el("th", {}, check), ...cells);
    }).filter((tr) => [...tr.querySelectorAll("td")].some((td) => td.title !== "not run"));
    return el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
  }

  function open(id) {
    const c = byId.get(id);
    if (!c) return;
    const head = el("div", {class: "dlg-head"},
      el("span", {class: `badge v-${c.verdict}`}, `${data.icons[c.verdict]} ${c.label}`),
      c.flaky ? el("span", {class: "flag"}, `${data.icons.flaky} flaky`) : null,
      el("h2", {}, c.id),
      el("button", {type: "button", value: "close", "aria-label": "Close"}, "Close"));
    head.querySelector("button").addEventListener("click", () => dialog.close());
    const body = el("div", {class: "dlg-body"});
    if (c.reason) body.append(el("h3", {}, "Why"), el("p", {class: "reason"}, c.reason));
    if (c.pattern) {
      body.append(el("p", {}, "Works when registered with ", el("b", {}, c.pattern), "."));
    }
    const vrows = Object.entries(c.requested).map(([axis, spec]) =>
      el("tr", {}, el("th", {}, data.axisNames[axis] || axis), el("td", {}, spec),
        el("td", {}, c.installed[axis] || "")));
    if (vrows.length) {
      body.append(el("h3", {}, "Versions"), el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "axis"), el("th", {}, "asked"),
          el("th", {}, "installed"))), el("tbody", {}, ...vrows)));
    }
    body.append(el("h3", {}, "Checks"), checksTable(c));
    if (c.m.length) {
      body.append(el("h3", {}, "Messages"));
      for (const [pattern, check, outcome, attempts, message] of c.m) {
        const who = pattern === data.anyPattern ? check : `${check} (${pattern})`;
        const runs = attempts.length > 1 ? ` \u2014 runs: ${attempts.join(", ")}` : "";
        body.append(el("p", {}, el("b", {}, who), `: ${outcome}${runs}`));
        if (message) body.append(el("pre", {}, message));
      }
    }
    body.append(el("h3", {}, "Log"));
    if (c.log && c.log.url) {
      body.append(el("p", {}, el("a", {href: c.log.url}, c.log.path)));
    } else if (c.log && c.log.excerpt.length) {
      body.append(el("p", {}, "Its last lines (the log itself is not published here):"),
        el("pre", {}, c.log.excerpt.join("\n")));
    } else {
      body.append(el("p", {}, "No log was kept for this cell."));
    }
    if (c.up) upstreamSection(body, c.up);
    if (c.durations) body.append(el("p", {class: "meta"}, c.durations));
    body.append(el("p", {class: "meta"}, `Result file: ${c.result}`));
    dialog.replaceChildren(head, body);
    dialog.showModal();
  }

  function upstreamSection(body, up) {
    body.append(el("h3", {}, `${data.upstreamIcon} Flask-Admin's own tests`),
      el("p", {}, el("b", {}, up.status), `: ${up.reason}`));
    for (const [nodeid, outcome, message] of up.failures) {
      body.append(el("p", {}, el("code", {}, nodeid), ` ${outcome}`));
      if (message) body.append(el("pre", {}, message));
    }
    if (up.more > 0) {
      body.append(el("p", {class: "meta"},
        `\u2026 and ${up.more} more: grid.json and the cell's ${up.junit || "JUnit report"} have every one.`));
    }
    if (up.note) body.append(el("p", {class: "meta"}, up.note));
  }

  document.addEventListener("click", (event) => {
    const b = event.target.closest("button.cell, button[data-open]");
    if (b) open(b.dataset.cell || b.dataset.open);
  });
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); });
  form.addEventListener("input", apply);
  form.addEventListener("reset", () => setTimeout(apply, 0));
  form.addEventListener("submit", (event) => event.preventDefault());
  apply();
})();
"""


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def render_html(grid: Grid) -> str:
    """The whole page: header and summary, legend, changes, filters, tables, detail dialog."""
    tables = layout(grid.cells)
    marks = _marks(grid.changes)
    body = [
        _header(grid),
        _changes(grid.changes) if grid.changes is not None else "",
        _filters(grid),
        '<main id="grid">',
        *(_table(t, i, marks) for i, t in enumerate(tables)),
        "</main>",
        '<dialog id="detail" aria-label="Cell details"></dialog>',
        _footer(grid),
        f'<script type="application/json" id="grid-data">{_json_data(grid)}</script>',
        f"<script>{_SCRIPT}</script>",
    ]
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            # Nothing on this page may load from elsewhere: it is read from CI artifacts and
            # disks, and its data came from runs.
            _CSP,
            "<title>Flask-Admin compatibility grid</title>",
            f"<style>{_CSS}</style>",
            "</head>",
            "<body>",
            *(part for part in body if part),
            "</body>",
            "</html>",
            "",
        ]
    )


def _header(grid: Grid) -> str:
    counts = grid.counts
    chips = [
        f'<li class="chip v-{v}"><span class="icon" aria-hidden="true">{ICONS[v]}</span>'
        f"<b>{counts[v]}</b> {v}</li>"
        for v in VERDICTS
        if counts[v]
    ]
    if counts[FLAKY]:
        chips.append(
            f'<li class="chip"><span class="icon" aria-hidden="true">{ICONS[FLAKY]}</span>'
            f"<b>{counts[FLAKY]}</b> {FLAKY}</li>"
        )
    run = ""
    if grid.run_started_at and grid.run_finished_at:
        run = f" · cells ran {_e(grid.run_started_at)} to {_e(grid.run_finished_at)}"
    legend = "".join(
        f'<div><dt><span class="chip v-{key}"><span class="icon" aria-hidden="true">'
        f"{ICONS[key]}</span>{key}</span></dt><dd>{_e(MEANINGS[key])}</dd></div>"
        for key in (*VERDICTS, FLAKY)
    )
    tally = upstream_tally(grid.cells)
    upstream = ""
    if tally:
        legend += (
            f'<div><dt><span class="chip"><span class="icon" aria-hidden="true">{UPSTREAM_ICON}'
            f"</span>upstream</span></dt><dd>{_e(UPSTREAM_MEANING)}</dd></div>"
        )
        upstream = f'<p class="meta">{UPSTREAM_ICON} Flask-Admin\'s own tests: {_e(tally)}</p>'
    total = len(grid.cells)
    return (
        "<header>"
        "<h1>Flask-Admin session-scoping compatibility</h1>"
        f'<p class="meta">Merged {_e(grid.generated_at)} by flask-admin-compat '
        f"{_e(grid.harness_version)}{run}</p>"
        f"<p><b>{total} cell{'' if total == 1 else 's'}</b></p>"
        f'<ul class="chips" aria-label="Cells per verdict">{"".join(chips)}</ul>'
        f"{upstream}"
        '<details class="legend-box" open><summary>Legend</summary>'
        f'<dl class="legend">{legend}</dl>'
        '<p class="meta">Hover a cell for its summary; click it for every check, the messages '
        "and its log. Versions are the matrix's specs; the details show what was installed.</p>"
        "</details>"
        "</header>"
    )


def _changes(changes: Changes) -> str:
    title = f"<h2>Changes since the grid of {_e(changes.previous_generated_at)}</h2>"
    if changes.empty:
        return (
            f'<section class="block changes">{title}'
            "<p>No cell changed its verdict; no cell is new or gone.</p></section>"
        )
    groups = (
        ("regressions", "Regressions", "broke", changes.regressions),
        ("fixes", "Fixes", "now passing", changes.fixes),
        ("other", "Other verdict changes (to or from error or excluded)", "broke", changes.other),
        ("new", "New cells", "", changes.new),
        ("gone", "Cells gone", "", changes.gone),
    )
    parts = [f'<section class="block changes" id="changes">{title}']
    for key, heading, verb, items in groups:
        if not items:
            continue
        lines = "".join(f"<li>{_change_item(c, verb)}</li>" for c in items)
        parts.append(f'<div class="{key}"><h3>{heading} ({len(items)})</h3><ul>{lines}</ul></div>')
    parts.append("</section>")
    return "".join(parts)


def _change_item(change: CellChange, verb: str) -> str:
    before = _e(change.before) if change.before else "new"
    after = _e(change.after) if change.after else "gone"
    # Gone cells are not on the page; the others open their details like a grid cell does.
    name = f"<code>{_e(change.cell_id)}</code>"
    if change.after is not None:
        name = (
            f'<button type="button" class="open" data-open="{_e(change.cell_id)}">{name}</button>'
        )
    text = f"{name}: {before} → {after}"
    if change.checks:
        text += f"; {verb}: " + ", ".join(_e(c) for c in change.checks)
    if change.versions:
        moved = ", ".join(
            f"{_e(AXIS_NAMES.get(v.package, v.package))} {_e(v.before or 'none')} → "
            f"{_e(v.after or 'none')}"
            for v in change.versions[:4]
        )
        more = len(change.versions) - 4
        text += f"; changed: {moved}" + (f" and {more} more" if more > 0 else "")
    return text


def _marks(changes: Changes | None) -> dict[str, tuple[str, str]]:
    """Small markers on cells that changed: what a returning reader looks for first."""
    if changes is None:
        return {}
    marks: dict[str, tuple[str, str]] = {}
    for c in changes.new:
        marks[c.cell_id] = ("new", "new since the previous grid")
    for c in changes.fixes:
        marks[c.cell_id] = ("\N{BLACK UP-POINTING TRIANGLE}", f"fixed: was {c.before}")
    for c in changes.regressions:
        marks[c.cell_id] = ("\N{BLACK DOWN-POINTING TRIANGLE}", f"regressed: was {c.before}")
    return marks


def _filters(grid: Grid) -> str:
    selects = []
    for axis in grid.axes:
        values = sorted(
            {c.requested[axis] for c in grid.cells if axis in c.requested}, key=spec_sort_key
        )
        options = "".join(f'<option value="{_e(v)}">{_e(v)}</option>' for v in values)
        selects.append(
            f"<label>{_e(AXIS_NAMES.get(axis, axis))}"
            f'<select data-axis="{_e(axis)}"><option value="">any</option>{options}</select>'
            "</label>"
        )
    verdicts = "".join(f'<option value="{v}">{v}</option>' for v in VERDICTS)
    return (
        '<form id="filters" hidden aria-label="Filter the grid">'
        + "".join(selects)
        + '<label>Verdict<select id="f-verdict"><option value="">any</option>'
        '<option value="not-compatible">anything but compatible</option>'
        f'{verdicts}<option value="flaky">flaky</option>'
        + (
            '<option value="upstream-failing">Flask-Admin\'s own tests failing</option>'
            if any(c.upstream is not None for c in grid.cells)
            else ""
        )
        + "</select></label>"
        '<label>Cell id contains<input id="f-search" type="search" size="16" '
        'placeholder="e.g. admin22"></label>'
        '<button type="reset">Show all</button>'
        '<span id="shown" aria-live="polite"></span>'
        "</form>"
    )


def _table(table: Table, index: int, marks: Mapping[str, tuple[str, str]]) -> str:
    if not (table.shared or table.row_axes or table.column_axes):
        items = "".join(
            f"<li><code>{_e(c.cell_id)}</code>{_button(c, marks)}</li>"
            for cells in table.cells.values()
            for c in cells
        )
        return (
            '<section class="block" data-table><h2>Cells that could not be placed</h2>'
            "<p>Their result could not be read and their id names versions no other cell "
            f'has.</p><ul class="unplaced">{items}</ul></section>'
        )
    title = " · ".join(f"{_e(_axis(a))} {_e(s)}" for a, s in table.shared) or "All cells"
    across = " \N{MULTIPLICATION SIGN} ".join(_e(_axis(a)) for a in table.column_axes)
    down = " · ".join(_e(_axis(a)) for a in table.row_axes)
    caption = f"Rows: {down or '—'}; columns: {across or '—'}"
    head = _column_headers(table)
    rows = []
    for row in table.rows:
        label = " · ".join(_e(s) for s in row) or "—"
        tds = []
        for col, column in enumerate(table.columns):
            cells = table.at(row, column)
            if cells:
                inner = "".join(_button(c, marks) for c in cells)
                tds.append(f'<td data-col="{col}">{inner}</td>')
            else:
                tds.append(f'<td class="none" data-col="{col}" title="not in the matrix">·</td>')
        rows.append(
            f'<tr><th scope="row">{_axis_prefix(table.row_axes)}{label}</th>{"".join(tds)}</tr>'
        )
    return (
        f'<section class="block" data-table id="t{index}"><h2>{title}</h2>'
        f'<p class="meta">{caption}</p><div class="table-wrap"><table class="grid">'
        f"<thead>{head}</thead><tbody>{''.join(rows)}</tbody></table></div></section>"
    )


def _axis(axis: str) -> str:
    return AXIS_NAMES.get(axis, axis)


def _axis_prefix(axes: tuple[str, ...]) -> str:
    return f"{_e(_axis(axes[0]))} " if len(axes) == 1 else ""


def _column_headers(table: Table) -> str:
    """One header row per column axis, each value spanning the columns under it."""
    if not table.column_axes:
        return '<tr><th></th><th data-cols="0">verdict</th></tr>'
    rows = []
    for level, axis in enumerate(table.column_axes):
        ths = [f'<th scope="col">{_e(_axis(axis))}</th>']
        runs: list[tuple[tuple[str, ...], list[int]]] = []
        for col, column in enumerate(table.columns):
            prefix = column[: level + 1]
            if runs and runs[-1][0] == prefix:
                runs[-1][1].append(col)
            else:
                runs.append((prefix, [col]))
        for prefix, cols in runs:
            ths.append(
                f'<th scope="col" colspan="{len(cols)}" data-cols="{" ".join(map(str, cols))}">'
                f"{_e(prefix[-1])}</th>"
            )
        rows.append(f"<tr>{''.join(ths)}</tr>")
    return "".join(rows)


def _button(cell: GridCell, marks: Mapping[str, tuple[str, str]]) -> str:
    # The verdict on the first line; what qualifies it (flaky, unreadable) on a small second
    # one, so that every column stays as narrow as its longest verdict word.
    notes = []
    if cell.unreadable:
        notes.append(_e(cell.label.partition(" ")[2].strip("()")))
    if cell.flaky:
        notes.append(f'<span title="{_e(MEANINGS[FLAKY])}">{ICONS[FLAKY]} {FLAKY}</span>')
    if cell.upstream is not None:
        failing = " up-failing" if upstream_failing(cell) else ""
        said = cell.upstream.reason
        if cell.upstream.status != "ran":  # a reason, not counts: say what it explains
            said = f"{cell.upstream.status}: {said}"
        notes.append(
            f'<span class="up{failing}" title="Flask-Admin&#x27;s own tests: {_e(said)}">'
            f"{UPSTREAM_ICON} {_e(_upstream_badge(cell))}</span>"
        )
    sub = f"<small>{' · '.join(notes)}</small>" if notes else ""
    mark = ""
    if cell.cell_id in marks:
        symbol, why = marks[cell.cell_id]
        mark = f'<span class="mark" title="{_e(why)}">{_e(symbol)}</span>'
    return (
        f'<button type="button" class="cell v-{cell.verdict}" data-cell="{_e(cell.cell_id)}" '
        f'data-verdict="{cell.verdict}" title="{_e(hover_text(cell))}">'
        f'<span class="icon" aria-hidden="true">{ICONS[cell.verdict]}</span>'
        f'<span class="word">{_e(cell.verdict)}{sub}</span>{mark}</button>'
    )


def _upstream_badge(cell: GridCell) -> str:
    """``194 ✓`` or ``42 ✓ 18 ✗``: as narrow as the verdict word above it (the title has words)."""
    up = cell.upstream
    assert up is not None
    if up.status != "ran":
        return up.status
    bad = up.counts.failed + up.counts.errors
    return f"{up.counts.passed} \N{CHECK MARK}" + (f" {bad} \N{BALLOT X}" if bad else "")


def hover_text(cell: GridCell) -> str:
    """What a cell says on hover, without JavaScript: verdict, why, and the failed checks."""
    lines = [f"{cell.cell_id}: {cell.label}" + (" (flaky)" if cell.flaky else "")]
    if cell.recommended_pattern and cell.verdict == "workaround":
        lines.append(f"works with: {cell.recommended_pattern}")
    if cell.reason:
        lines.append(first_line(cell.reason))
    failed = failed_by_check(cell)
    for check, patterns, message in failed[:_TITLE_CHECKS]:
        lines.append(f"✗ {check_label(check, patterns)}" + (f": {message}" if message else ""))
    if len(failed) > _TITLE_CHECKS:
        lines.append(f"… and {len(failed) - _TITLE_CHECKS} more failed checks")
    if cell.upstream is not None:
        lines.append(f"Flask-Admin's own tests: {first_line(cell.upstream.reason)}")
    lines.append("Click for every check and the log.")
    return "\n".join(line[:300] for line in lines)


def _footer(grid: Grid) -> str:
    return (
        "<footer><noscript><p>Filters and the per-check details need JavaScript; hover a cell "
        "for its summary. Every detail is also in grid.json.</p></noscript>"
        f"<p>{len(grid.cells)} cells · grid.json holds the same data for tools.</p></footer>"
    )


# -- the data the script reads ------------------------------------------------------------------


def _json_data(grid: Grid) -> str:
    checks = check_order(grid.cells)
    patterns = pattern_order(grid.cells)
    data = {
        "checks": list(checks),
        "anyPattern": ANY_PATTERN,
        "icons": dict(ICONS),
        "upstreamIcon": UPSTREAM_ICON,
        "axisNames": dict(AXIS_NAMES),
        "cells": [_cell_data(c, checks, patterns) for c in grid.cells],
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # Inside <script>, only "</script" or "<!--" could end the block early; escaping every
    # <, > and & keeps the JSON identical and leaves nothing to interpret.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _cell_data(cell: GridCell, checks: tuple[str, ...], patterns: tuple[str, ...]) -> Any:
    outcomes: dict[tuple[str, str], str] = {
        (c.pattern, c.check): OUTCOME_CODES[c.outcome] for c in cell.checks
    }
    ran = [p for p in patterns if any(c.pattern == p for c in cell.checks)]
    grid_rows = [[p, "".join(outcomes.get((p, ch), ".") for ch in checks)] for p in ran]
    messages = [
        [c.pattern, c.check, c.outcome, list(c.attempts), c.message] for c in _noteworthy(cell)
    ]
    installed = {
        axis: (cell.python_version if axis == PYTHON_AXIS else cell.installed.get(axis)) or ""
        for axis in cell.requested
    }
    return {
        "id": cell.cell_id,
        "verdict": cell.verdict,
        "label": cell.label,
        "flaky": cell.flaky,
        "reason": cell.reason,
        "pattern": cell.recommended_pattern if cell.verdict == "workaround" else None,
        "requested": dict(cell.requested),
        "installed": installed,
        "o": grid_rows,
        "m": messages,
        "log": _log_data(cell),
        "durations": _durations(cell.durations),
        "result": cell.result_path,
        "up": _upstream_data(cell),
    }


def _upstream_data(cell: GridCell) -> dict[str, Any] | None:
    up = cell.upstream
    if up is None:
        return None
    shown = up.failures[:_UPSTREAM_FAILURES]
    note = []
    if up.flask_admin:
        note.append(f"Flask-Admin {up.flask_admin}'s tests")
    if up.added:
        note.append("test dependencies beside the pins: " + ", ".join(
            f"{name} {version}" for name, version in up.added.items()))  # fmt: skip
    note += list(up.selection)
    return {
        "status": up.status,
        "reason": up.reason,
        "failing": upstream_failing(cell),
        "failures": [[f.nodeid, f.outcome, f.message] for f in shown],
        "more": max(0, up.counts.failed + up.counts.errors - len(shown))
        if up.status == "ran"
        else 0,
        "junit": up.junit,
        "note": "; ".join(note),
    }


def _log_data(cell: GridCell) -> dict[str, Any] | None:
    # The log's last lines only where there is no link: they are the biggest part of the page.
    if cell.log is None:
        return None
    url = safe_link(cell.log.url)
    if url:
        return {"path": cell.log.path, "url": url, "excerpt": []}
    return {"path": cell.log.path, "url": None, "excerpt": list(cell.log.excerpt)}


def _noteworthy(cell: GridCell) -> Iterable[Any]:
    """Checks worth a message line: not passed, or passed only on a re-run."""
    return [c for c in cell.checks if c.outcome != "passed" or c.flaky or c.message]


def _durations(durations: Mapping[str, float]) -> str:
    if not durations:
        return ""
    total = durations.get("total")
    parts = ", ".join(f"{k} {v:.1f} s" for k, v in durations.items() if k != "total")
    head = f"Took {total:.1f} s" if total is not None else "Took"
    return f"{head} ({parts})" if parts else head
