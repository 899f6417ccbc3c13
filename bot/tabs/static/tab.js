// The tab pages: sign in with Teams (or a local dev token), fetch server-rendered content, send edits back.
import { applyTheme } from "./theme.js";

const body = document.body;
const kind = body.dataset.kind;
const account = body.dataset.account;
const content = document.getElementById("content");
const devToken = new URLSearchParams(location.hash.slice(1)).get("token");
const growsByItself = CSS.supports("field-sizing", "content");
let tokenPromise = null;

function withTimeout(promise, ms) {
  return Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms))]);
}

async function token() {
  if (devToken) return devToken;
  if (!tokenPromise) {
    tokenPromise = (async () => {
      const teams = window.microsoftTeams;
      await withTimeout(teams.app.initialize(), 5000);
      const context = await teams.app.getContext();
      applyTheme(context.app.theme);
      body.dataset.locale = context.app.locale || body.dataset.locale;
      teams.app.registerOnThemeChangeHandler(applyTheme);
      return teams.authentication.getAuthToken();
    })();
  }
  return tokenPromise;
}

function problem(text) {
  const bar = document.createElement("fluent-message-bar");
  bar.className = "notice problem";
  bar.setAttribute("intent", "error");
  bar.setAttribute("role", "alert");
  bar.textContent = text;
  content.replaceChildren(bar);
  content.setAttribute("aria-busy", "false");
}

function show(html) {
  content.innerHTML = html;
  content.setAttribute("aria-busy", "false");
  wire();
}

async function call(path, options) {
  let bearer;
  try {
    bearer = await token();
  } catch (error) {
    problem(body.dataset.signinFailed);
    return null;
  }
  const headers = Object.assign({ Authorization: "Bearer " + bearer }, (options && options.headers) || {});
  const localised = path + "&locale=" + encodeURIComponent(body.dataset.locale || "");
  return fetch(localised, Object.assign({}, options, { headers: headers }));
}

async function load(query) {
  content.setAttribute("aria-busy", "true");
  const response = await call("/tabs/" + kind + "/content?account=" + account + (query || ""));
  if (response) show(await response.text());
}

function oneLine(text) {
  return text.replace(/\s*[\r\n]+\s*/g, " ");
}

function planPayload(form) {
  const sections = {};
  form.querySelectorAll("textarea[name^='section:']").forEach((t) => { sections[t.name.slice(8)] = t.value; });
  const items = [];
  form.querySelectorAll("#items > li").forEach((row) => {
    const value = (name) => row.querySelector("[name='" + name + "']").value;
    items.push({
      id: row.dataset.id, kind: value("kind"), title: oneLine(value("title")),
      owner_id: value("owner_id") ? Number(value("owner_id")) : null, due_on: value("due_on") || null,
      status: value("status"), progress: Number(value("progress") || 0), comment: value("comment"),
    });
  });
  const plan = { base_version: Number(form.dataset.version), sections: sections, items: items };
  const grid = form.querySelector("#whitespace");
  if (grid) plan.whitespace = gridPayload(grid);
  return plan;
}

// The grid as shown: the lines in their order, and a cell wherever a status is set. A cell the viewer may not
// edit keeps the values it was rendered with (its data attributes).
function gridPayload(grid) {
  const nameIn = (th) => {
    const input = th.querySelector("[name='ws-name']");
    return oneLine(input ? input.value : th.textContent.trim());
  };
  const rows = Array.from(grid.querySelectorAll("tbody tr"), (tr) => ({ id: tr.dataset.row, name: nameIn(tr.querySelector("th")) }));
  const columns = Array.from(grid.querySelectorAll("thead th[data-column]"), (th) => ({ id: th.dataset.column, name: nameIn(th) }));
  const cells = [];
  grid.querySelectorAll("td.ws-cell").forEach((td) => {
    const value = (name) => {
      const field = td.querySelector("[name='ws-" + name + "']");
      return field ? field.value : td.dataset[name];
    };
    if (!value("status")) return;
    cells.push({
      row_id: td.dataset.row, column_id: td.dataset.column, status: value("status"),
      potential: value("potential").trim() || null, owner_id: value("owner") ? Number(value("owner")) : null,
      note: value("note"),
    });
  });
  return { rows: rows, columns: columns, cells: cells };
}

// The KA manager adds and removes rows (divisions, sites) and columns (solutions); every new place gets a cell.
function wireGrid(grid) {
  const labels = document.getElementById("ws-labels");
  if (!labels) return;
  const newCell = (rowId, columnId) => {
    const td = document.getElementById("ws-new-cell").content.firstElementChild.cloneNode(true);
    td.dataset.row = rowId;
    td.dataset.column = columnId;
    for (const name of ["status", "potential", "owner", "note"]) {
      td.querySelector("[name='ws-" + name + "']").setAttribute("aria-label", labels.dataset[name]);
    }
    return td;
  };
  const head = (cell, kind) => {
    cell.append(document.getElementById("ws-new-line").content.cloneNode(true));
    cell.querySelector("input").setAttribute("aria-label", labels.dataset[kind + "Name"]);
    const remove = cell.querySelector("button");
    remove.dataset.remove = kind;
    remove.setAttribute("aria-label", labels.dataset["remove" + kind[0].toUpperCase() + kind.slice(1)].trim());
    return cell;
  };
  const total = () => Object.assign(document.createElement("td"), { className: "ws-total", textContent: "—" });
  const columnIds = () => Array.from(grid.querySelectorAll("thead th[data-column]"), (th) => th.dataset.column);
  document.getElementById("ws-add-row").addEventListener("click", () => {
    const tr = document.createElement("tr");
    tr.dataset.row = newId();
    const th = head(document.createElement("th"), "row");
    th.scope = "row";
    tr.append(th, ...columnIds().map((id) => newCell(tr.dataset.row, id)), total());
    grid.querySelector("tbody").append(tr);
    th.querySelector("input").focus();
  });
  document.getElementById("ws-add-column").addEventListener("click", () => {
    const id = newId();
    const th = head(document.createElement("th"), "column");
    th.scope = "col";
    th.dataset.column = id;
    grid.querySelector("thead .ws-total").before(th);
    grid.querySelectorAll("tbody tr").forEach((tr) => tr.querySelector(".ws-total").before(newCell(tr.dataset.row, id)));
    const foot = Object.assign(document.createElement("td"), { textContent: "—" });
    foot.dataset.column = id;
    grid.querySelector("tfoot .ws-total").before(foot);
    th.querySelector("input").focus();
  });
  grid.addEventListener("click", (event) => {
    const remove = event.target.closest("button[data-remove]");
    if (!remove) return;
    if (remove.dataset.remove === "row") {
      remove.closest("tr").remove();
    } else {
      const id = remove.closest("th").dataset.column;
      grid.querySelectorAll("[data-column='" + id + "']").forEach((cell) => cell.remove());
    }
  });
}

// The colour of a cell follows its status as it is chosen (its text says the same).
function wireCellColours(grid) {
  grid.addEventListener("change", (event) => {
    if (event.target.name !== "ws-status") return;
    const td = event.target.closest("td");
    td.className = td.className.replace(/status-\S+/, "status-" + (event.target.value || "none"));
  });
}

function newId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Where the browser cannot size a text area to its text (field-sizing), it grows as one types.
function fitText(area) {
  if (growsByItself) return;
  area.style.height = "auto";
  area.style.height = area.scrollHeight + 2 + "px";
}

function wireTexts(root) {
  root.querySelectorAll("textarea").forEach((area) => {
    fitText(area);
    area.addEventListener("input", () => fitText(area));
  });
  // A title is one line: Enter does not break it (it wraps on screen, and the server keeps one line).
  root.querySelectorAll("textarea[name='title']").forEach((area) => {
    area.addEventListener("keydown", (event) => { if (event.key === "Enter") event.preventDefault(); });
  });
}

async function post(path, payload, keepForm) {
  const response = await call(path + "?account=" + account, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload),
  });
  if (!response) return;
  const html = await response.text();
  if (keepForm && (response.status === 400 || response.status === 403) && showNoticeOnly(html)) return;
  show(html);
}

// A save refused for its input keeps the form as typed: only the answer's message is shown above it.
function showNoticeOnly(html) {
  const page = document.createElement("template");
  page.innerHTML = html;
  const notice = page.content.querySelector(".notice");
  const head = content.querySelector(".page-head");
  if (!notice || !head) return false;
  content.querySelectorAll(".notice").forEach((old) => old.remove());
  head.after(notice);
  notice.scrollIntoView({ block: "nearest" });
  return true;
}

function wire() {
  wireTexts(content);
  // A folded section's text areas have no size to measure until it opens.
  content.querySelectorAll("details").forEach((part) =>
    part.addEventListener("toggle", () => part.querySelectorAll("textarea").forEach(fitText))
  );
  const plan = document.getElementById("plan-form");
  if (plan) {
    document.getElementById("add-item").addEventListener("click", () => {
      const row = document.getElementById("new-item").content.firstElementChild.cloneNode(true);
      row.dataset.id = newId();
      plan.querySelector("#items").appendChild(row);
      wireTexts(row);
      row.querySelector("[name='title']").focus();
    });
    plan.addEventListener("submit", (event) => {
      event.preventDefault();
      post("/tabs/plan/save", planPayload(plan), true);
    });
    const grid = document.getElementById("whitespace");
    if (grid) {
      wireGrid(grid);
      wireCellColours(grid);
    }
  }
  const review = document.getElementById("review-form");
  if (review) {
    review.addEventListener("submit", (event) => {
      event.preventDefault();
      post("/tabs/plan/review", { due_on: review.querySelector("[name='due_on']").value });
    });
  }
  wirePortfolio();
  wireResults();
  wireMapZoom();
  const filters = document.getElementById("log-filters");
  if (filters) {
    const query = () => "&" + new URLSearchParams(new FormData(filters)).toString();
    filters.addEventListener("submit", (event) => { event.preventDefault(); load(query()); });
    filters.querySelectorAll("[data-format]").forEach((button) => {
      button.addEventListener("click", async () => {
        const format = button.dataset.format;
        const response = await call("/tabs/log/export." + format + "?account=" + account + query());
        if (!response || !response.ok) return;
        const link = document.createElement("a");
        link.href = URL.createObjectURL(await response.blob());
        link.download = "log." + format;
        link.click();
      });
    });
  }
}

function wirePortfolio() {
  const filters = document.getElementById("portfolio-filters");
  if (!filters) return;
  const query = () => "&" + new URLSearchParams(new FormData(filters)).toString();
  filters.addEventListener("submit", (event) => { event.preventDefault(); load(query()); });
  content.querySelectorAll("a.sort").forEach((link) => {
    link.addEventListener("click", (event) => {
      event.preventDefault();
      filters.querySelector("[name='sort']").value = link.dataset.sort;
      filters.querySelector("[name='order']").value = link.dataset.order;
      load(query());
    });
  });
  filters.querySelectorAll("[data-export]").forEach((button) => {
    button.addEventListener("click", async () => {
      const response = await call(button.dataset.export + "?account=" + query());
      if (!response || !response.ok) return;
      const link = document.createElement("a");
      link.href = URL.createObjectURL(await response.blob());
      link.download = "portfolio.xlsx";
      link.click();
    });
  });
}

function wireResults() {
  const results = document.getElementById("results-form");
  if (!results) return;
  results.addEventListener("submit", (event) => {
    event.preventDefault();
    post("/tabs/plan/results", Object.fromEntries(new FormData(results)));
  });
}

// The relationship map: shrunk to the width of the screen, or at full size in its scrolling frame.
function wireMapZoom() {
  const button = document.getElementById("map-zoom");
  const frame = document.getElementById("map-frame");
  if (!button || !frame) return;
  button.addEventListener("click", () => {
    const fit = frame.classList.toggle("fit");
    button.setAttribute("aria-pressed", String(!fit));
    button.textContent = fit ? button.dataset.full : button.dataset.fit;
  });
}

// What Teams calls when the user switches theme (registered above); named so that it can be seen working.
window.kambot = { setTheme: applyTheme };
load(body.dataset.query || "").catch(() => problem(body.dataset.error));
