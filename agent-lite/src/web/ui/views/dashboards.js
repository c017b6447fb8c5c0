// Dashboards: the list (with import by paste or upload), one dashboard drawn from its
// Datadog JSON with its template variables, and the builder (add, edit, move, remove a
// widget; a query editor previewing live; markers; save with POST or PUT; export).
// A dashboard agent-lite will not change (`is_read_only`: those of AGENT_LITE_DASHBOARDS_DIR)
// is not edited in place: "Edit a copy" drafts a new one, saved with POST.

import { h, setView, failure, fill, panel } from "../lib/dom.js";
import { api, query } from "../lib/api.js";
import { lineChart } from "../lib/chart.js";
import { requestQueries } from "../lib/dashquery.js";
import { variables } from "../lib/template_vars.js";
import { BUILDABLE, renderWidgets } from "../widgets/index.js";

// The dashboard being edited survives the page's live refresh: id → draft.
const drafts = new Map();

// The fields Datadog sets itself; a copy starts without them, as a new dashboard.
const SERVER_FIELDS = ["id", "url", "created_at", "modified_at", "author_handle"];

const post = (path, body, method = "POST") => api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });

function importBox() {
  const status = h("p", { id: "import-status", class: "muted" });
  const text = h("textarea", { id: "import-json", rows: 6, cols: 80, placeholder: "Paste a dashboard's JSON (exported from Datadog or from here)" });
  const send = async (raw) => {
    let body;
    try { body = JSON.parse(raw); } catch (e) { return fill(status, `Not JSON: ${e.message}`); }
    try {
      const made = await post("/api/v1/dashboard", body);
      location.hash = `#/dashboard/${made.id}`;
    } catch (e) { fill(status, `Refused: ${e.message}`); }
  };
  const file = h("input", { type: "file", id: "import-file", accept: ".json,application/json", onchange: async (e) => { const f = e.target.files[0]; if (f) send(await f.text()); } });
  return panel("Import", null, text, h("div", { class: "filters" }, h("button", { id: "import-button", onclick: () => send(text.value) }, "Import pasted JSON"), " or upload ", file), status);
}

export async function dashboards() {
  let list;
  try { list = (await api("/api/v1/dashboard")).dashboards; } catch (e) { return setView("Dashboards", failure(e)); }
  setView("Dashboards",
    h("div", { class: "filters" }, h("a", { id: "new-dashboard", href: "#/dashboard/new" }, "+ New dashboard")),
    h("section", { class: "panel" }, list.length ? h("table", { id: "dashboard-list" },
      h("tr", {}, h("th", {}, "title"), h("th", {}, "id"), h("th", {}, "modified"), h("th", {}, "")),
      list.slice().sort((a, b) => a.title.localeCompare(b.title)).map((d) => h("tr", { class: "click", onclick: () => { location.hash = `#/dashboard/${d.id}`; } },
        h("td", {}, h("a", { href: `#/dashboard/${d.id}` }, d.title)), h("td", { class: "muted" }, d.id), h("td", { class: "muted" }, d.modified_at || ""),
        h("td", { class: "muted" }, d.is_read_only ? "read-only (file)" : ""))))
      : h("p", { class: "muted" }, "No dashboard yet (AGENT_LITE_DASHBOARDS_DIR, or make one).")),
    importBox());
}

export async function dashboard(params, id) {
  let dash = drafts.get(id);
  if (!dash) {
    if (id === "new") dash = { title: "New dashboard", layout_type: "ordered", widgets: [], template_variables: [] };
    else {
      try { dash = await api(`/api/v1/dashboard/${encodeURIComponent(id)}`); } catch (e) { return setView(`Dashboard ${id}`, failure(e)); }
    }
  }
  const editing = drafts.has(id) || id === "new";
  if (editing && !drafts.has(id)) drafts.set(id, dash);
  const rerender = () => dashboard(params, id);
  const { vars, bar } = variables(dash, rerender);
  const ctx = { vars };
  const readOnly = dash.is_read_only === true && !editing;
  const widgets = dash.widgets || [];
  const tools = (i) => editing ? h("span", { class: "widget-tools" },
    h("button", { class: "w-edit", onclick: () => editWidget(dash, i, rerender, vars) }, "edit"),
    h("button", { class: "w-up", onclick: () => { if (i > 0) { [widgets[i - 1], widgets[i]] = [widgets[i], widgets[i - 1]]; rerender(); } } }, "↑"),
    h("button", { class: "w-down", onclick: () => { if (i < widgets.length - 1) { [widgets[i + 1], widgets[i]] = [widgets[i], widgets[i + 1]]; rerender(); } } }, "↓"),
    h("button", { class: "w-remove", onclick: () => { widgets.splice(i, 1); rerender(); } }, "remove")) : null;
  const status = h("p", { id: "save-status", class: "muted" });
  const save = async () => {
    try {
      const saved = dash.id ? await post(`/api/v1/dashboard/${dash.id}`, dash, "PUT") : await post("/api/v1/dashboard", dash);
      drafts.delete(id);
      if (saved.id === id) rerender(); else location.hash = `#/dashboard/${saved.id}`;
    } catch (e) { fill(status, `Refused: ${e.message}`); }
  };
  // The JSON downloaded, and shown to copy into Datadog's "Import dashboard JSON".
  const exported = h("div", { id: "export-box" });
  const exportJson = () => {
    const text = JSON.stringify(dash, null, 2);
    const name = `${(dash.title || "dashboard").replace(/[^A-Za-z0-9_-]+/g, "-")}.json`;
    const href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
    const a = h("a", { href, download: name });
    document.body.append(a); a.click(); a.remove();
    fill(exported, panel("Exported JSON", null, h("p", { class: "muted" }, `Downloaded as ${name}; paste it into Datadog (Dashboards > New > Import dashboard JSON) or run compose/import-dashboards.sh on the file.`),
      h("textarea", { id: "export-json", rows: 12, cols: 100, readonly: "" }, text),
      h("div", { class: "filters" }, h("button", { onclick: () => fill(exported) }, "Close"))));
  };
  // A draft of a new dashboard from this one: POSTed on save, whatever this one is.
  const copy = () => {
    const draft = structuredClone(dash);
    for (const k of SERVER_FIELDS) delete draft[k];
    draft.is_read_only = false;
    draft.title = `${dash.title || "Dashboard"} (copy)`;
    drafts.set("new", draft);
    location.hash = "#/dashboard/new";
  };
  const typeMenu = h("select", { id: "widget-type" }, BUILDABLE.map((t) => h("option", { value: t }, t)));
  const editBar = editing
    ? h("div", { class: "filters builder" },
      h("input", { id: "dash-title", value: dash.title, size: 40, onchange: (e) => { dash.title = e.target.value; } }),
      typeMenu, h("button", { id: "add-widget", onclick: () => { widgets.push({ definition: blank(typeMenu.value) }); editWidget(dash, widgets.length - 1, rerender, vars); } }, "Add widget"),
      h("button", { id: "save-dashboard", onclick: save }, dash.id ? "Save (PUT)" : "Save (POST)"),
      h("button", { id: "cancel-edit", onclick: () => { drafts.delete(id); location.hash = dash.id ? `#/dashboard/${dash.id}` : "#/dashboards"; rerender(); } }, "Cancel"))
    : readOnly
      ? h("div", { class: "filters" }, h("span", { id: "read-only", class: "muted" }, "Read-only: it comes from a file of AGENT_LITE_DASHBOARDS_DIR (change the file, or edit a copy)."),
        h("button", { id: "copy-dashboard", onclick: copy }, "Edit a copy"))
      : h("div", { class: "filters" },
        h("button", { id: "edit-dashboard", onclick: () => { drafts.set(id, structuredClone(dash)); rerender(); } }, "Edit"),
        h("button", { id: "copy-dashboard", onclick: copy }, "Save as copy"));
  setView(dash.title || "Dashboard",
    dash.description ? h("p", { class: "muted" }, dash.description) : null,
    h("div", { class: "filters" }, editBar, h("button", { id: "export-dashboard", onclick: exportJson }, "Export JSON"), h("a", { href: "#/dashboards" }, "all dashboards")),
    status, exported, bar, h("div", { id: "widget-editor" }),
    renderWidgets(widgets, ctx, tools));
}

function blank(type) {
  switch (type) {
    case "timeseries": return { type, title: "", requests: [{ q: "", display_type: "line" }], markers: [] };
    case "query_value": return { type, title: "", requests: [{ q: "", aggregator: "avg", conditional_formats: [] }], precision: 2 };
    case "toplist": return { type, title: "", requests: [{ q: "" }] };
    case "event_stream": return { type, title: "Events", query: "*" };
    case "manage_status": return { type, title: "Monitors", query: "*", summary_type: "monitors" };
    case "note": return { type, content: "" };
    case "slo": return { type, title: "", view_type: "detail", slo_id: "", time_windows: ["7d"], show_error_budget: true, view_mode: "overall" };
    case "group": return { type, title: "Group", layout_type: "ordered", widgets: [] };
    default: return { type };
  }
}

// The editor of widget `i`: its title, its query (previewed as it is typed, with the API's
// refusal shown, the dashboard's template variables substituted as the page has them),
// markers, aggregation and colouring, text, SLO; "Apply" puts it in the draft.
function editWidget(dash, i, rerender, vars) {
  const def = structuredClone(dash.widgets[i].definition);
  const box = document.getElementById("widget-editor");
  const preview = h("div", { id: "query-preview" });
  const reason = h("p", { id: "query-error", class: "muted" });
  const req = (def.requests || [])[0];
  let timer;
  const runPreview = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const [first] = req ? requestQueries(req, vars) : [];
      if (!first || !first.q.trim()) { fill(reason, "Type a metric query, e.g. avg:system.cpu.user{*}"); return fill(preview); }
      try {
        const series = await query(first.q);
        fill(reason, h("span", { class: "sent-query" }, `Query sent: ${first.q}`));
        fill(preview, lineChart(series, { markers: def.markers, yaxis: def.yaxis }));
      } catch (e) { fill(reason, `Refused: ${e.message}`); fill(preview); }
    }, 300);
  };
  const field = (label, el) => h("label", { class: "field" }, label, " ", el);
  const parts = [field("Title", h("input", { id: "widget-title", value: def.title || "", size: 40, oninput: (e) => { def.title = e.target.value; } }))];
  if (req) {
    if (req.q === undefined && req.queries) parts.push(h("p", { class: "muted" }, "This request uses queries + formulas; edit it in the JSON (export, change, import)."));
    else parts.push(field("Query", h("textarea", { id: "query-input", rows: 2, cols: 70, oninput: (e) => { req.q = e.target.value; runPreview(); } }, req.q || "")));
  }
  if (def.type === "timeseries") {
    parts.push(field("Display", h("select", { id: "display-type", onchange: (e) => { req.display_type = e.target.value; } }, ["line", "bars", "area"].map((t) => h("option", { value: t, ...(req.display_type === t ? { selected: "" } : {}) }, t)))));
    const list = h("ul", { id: "marker-list" });
    const drawMarkers = () => fill(list, (def.markers || []).map((m, k) => h("li", {}, `${m.value} (${m.display_type})`, " ", h("button", { onclick: () => { def.markers.splice(k, 1); drawMarkers(); runPreview(); } }, "×"))));
    const mv = h("input", { id: "marker-value", placeholder: "y = 80", size: 10 });
    const mt = h("select", { id: "marker-type" }, ["error dashed", "warning dashed", "ok dashed", "info dashed", "error solid", "warning solid"].map((t) => h("option", { value: t }, t)));
    parts.push(h("div", {}, "Markers ", mv, mt, h("button", { id: "add-marker", onclick: () => { if (mv.value.trim()) { (def.markers ||= []).push({ value: mv.value.trim(), display_type: mt.value }); mv.value = ""; drawMarkers(); runPreview(); } } }, "Add marker"), list));
    drawMarkers();
  }
  if (def.type === "query_value") {
    parts.push(field("Aggregator", h("select", { id: "aggregator", onchange: (e) => { req.aggregator = e.target.value; } }, ["avg", "last", "max", "min", "sum"].map((t) => h("option", { value: t, ...(req.aggregator === t ? { selected: "" } : {}) }, t)))));
    parts.push(field("Colour when above", h("input", { id: "cf-value", type: "number", value: (req.conditional_formats || [])[0]?.value ?? "", onchange: (e) => { req.conditional_formats = e.target.value === "" ? [] : [{ comparator: ">", value: Number(e.target.value), palette: "white_on_red" }, { comparator: "<=", value: Number(e.target.value), palette: "white_on_green" }]; } })));
  }
  if (def.type === "note") parts.push(field("Text", h("textarea", { id: "note-content", rows: 4, cols: 70, oninput: (e) => { def.content = e.target.value; } }, def.content || "")));
  if (def.type === "slo") parts.push(sloFields(def));
  if (def.type === "event_stream" || def.type === "manage_status") parts.push(field("Query", h("input", { id: "widget-query", value: def.query || "", size: 40, oninput: (e) => { def.query = e.target.value; } })));
  fill(box, panel(`Edit widget ${i + 1} (${def.type})`, null, ...parts, reason, preview,
    h("div", { class: "filters" }, h("button", { id: "apply-widget", onclick: () => { dash.widgets[i].definition = def; fill(box); rerender(); } }, "Apply"),
      h("button", { onclick: () => fill(box) }, "Close"))));
  box.classList.add("panel-editor");
  if (req) runPreview();
}

const WINDOWS = ["7d", "30d", "90d", "week_to_date", "previous_week", "month_to_date", "previous_month", "global_time"];

// The SLO widget's fields: which SLO (from /api/v1/slo) and its time windows.
function sloFields(def) {
  const pick = h("select", { id: "slo-id", onchange: (e) => { def.slo_id = e.target.value; } }, h("option", { value: "" }, "…"));
  api("/api/v1/slo").then((body) => fill(pick, h("option", { value: "" }, "choose an SLO"),
    (body.data || []).map((s) => h("option", { value: s.id, ...(s.id === def.slo_id ? { selected: "" } : {}) }, s.name))))
    .catch((e) => fill(pick, h("option", { value: "" }, `Could not load the SLOs: ${e.message}`)));
  const windows = new Set(def.time_windows || []);
  const boxes = WINDOWS.map((w) => h("label", {}, h("input", { type: "checkbox", class: "slo-window", value: w, ...(windows.has(w) ? { checked: "" } : {}), onchange: (e) => {
    if (e.target.checked) windows.add(w); else windows.delete(w);
    def.time_windows = WINDOWS.filter((x) => windows.has(x));
  } }), ` ${w} `));
  return h("div", {}, h("label", { class: "field" }, "SLO ", pick), h("div", {}, "Time windows ", boxes));
}
