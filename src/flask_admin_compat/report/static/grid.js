
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
    if (c.firstBad) body.append(el("p", {class: "first-bad"}, c.firstBad));
    const causes = (data.causes || {})[c.id] || [];
    if (causes.length) {
      body.append(el("h3", {}, "Causes"), el("ul", {class: "cell-causes"},
        ...causes.map(([n, anchor, text]) => el("li", {},
          el("a", {href: `#${anchor}`}, `cause ${n}`), ": ", el("code", {}, text)))));
      body.querySelectorAll(".cell-causes a").forEach((a) =>
        a.addEventListener("click", () => dialog.close()));
    }
    if (c.deprecation) {
      body.append(el("p", {class: "deprecated"}, "Deprecated by Flask-Admin: ", c.deprecation));
    }
    const beside = new Set(c.beside || []);
    const vrows = Object.entries(c.requested).map(([axis, spec]) =>
      el("tr", {}, el("th", {}, data.axisNames[axis] || axis,
        beside.has(axis) ? " (installed beside the backend under test)" : ""),
        el("td", {}, spec), el("td", {}, c.installed[axis] || "")));
    if (vrows.length) {
      body.append(el("h3", {}, "Versions"), el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "axis"), el("th", {}, "asked"),
          el("th", {}, "installed"))), el("tbody", {}, ...vrows)));
    }
    body.append(el("h3", {}, "Checks"), checksTable(c));
    const surfaces = c.surfaces || {exercised: [], na: {}};
    if (surfaces.exercised.length || Object.keys(surfaces.na).length) {
      const na = Object.entries(surfaces.na).map(([name, why]) => `${name} (${why})`);
      body.append(el("p", {class: "meta"}, `Admin surfaces exercised: ${surfaces.exercised.join(", ") || "none"}`
        + (na.length ? `; n/a: ${na.join(", ")}` : "")));
    }
    if (c.m.length) {
      body.append(el("h3", {}, "Messages"));
      for (const [pattern, check, outcome, attempts, message, failedOn] of c.m) {
        const onSurfaces = failedOn && failedOn.length ? ` (${failedOn.join(", ")})` : "";
        const who = pattern === data.anyPattern ? check + onSurfaces
          : onSurfaces ? `${check}${onSurfaces} with ${pattern}` : `${check} (${pattern})`;
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
