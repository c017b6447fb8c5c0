// agent-lite's page: every view reads agent-lite's own JSON API (the one tests and the
// harness use) and draws it; nothing is computed here that the API already computes.
// No framework and no build step, so the page ships inside the binary and works offline.
"use strict";

const $view = document.getElementById("view");
const $range = document.getElementById("range");
const $live = document.getElementById("live");
const COLORS = ["#632ca6", "#1f7ae0", "#e5a50a", "#2e9e5b", "#d63c3c", "#00a2b3", "#8a5a00", "#b04ab0"];
const LEVEL = { warning: "#e5a50a", critical: "#d63c3c" };

// ---- data -----------------------------------------------------------------------------
const nowSecs = () => Math.floor(Date.now() / 1000);
const rangeSecs = () => Number($range.value) || 3600;

async function api(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const msg = body && body.errors ? body.errors.join("; ") : res.statusText;
    throw new Error(`${path}: ${msg}`);
  }
  return body;
}

async function query(q, from, to) {
  to = to || nowSecs();
  from = from || to - rangeSecs();
  const body = await api(`/api/v1/query?from=${from}&to=${to}&query=${encodeURIComponent(q)}`);
  return body.series || [];
}

// ---- small helpers --------------------------------------------------------------------
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
const esc = (s) => String(s);
const fmt = (v, digits = 2) => {
  if (v === null || v === undefined || Number.isNaN(v)) return "–";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(1) + "k";
  if (a >= 100) return v.toFixed(0);
  return Number(v.toFixed(digits)).toString();
};
const time = (secs) => new Date(secs * 1000).toLocaleTimeString();
const dateTime = (secs) => new Date(secs * 1000).toLocaleString();
const badge = (state) => h("span", { class: `badge ${String(state).replace(" ", "")}` }, state);
function panel(title, unit, ...body) {
  return h("section", { class: "panel" }, h("h2", {}, title, unit ? h("span", { class: "unit" }, ` (${unit})`) : null), ...body);
}
function setView(title, ...children) {
  $view.replaceChildren(h("h1", {}, title), ...children);
}
function failure(e) {
  return h("p", { class: "muted" }, `Could not load: ${e.message}`);
}

// ---- charts: SVG lines over the time range, thresholds drawn and coloured -------------------
function lineChart(series, opts = {}) {
  const W = 600, H = 180, L = 44, R = 8, T = 8, B = 20;
  const to = nowSecs(), from = to - rangeSecs();
  const scale = opts.scale || 1;
  const lines = series.map((s, i) => ({
    name: (s.tag_set && s.tag_set.length ? s.tag_set.join(",") : s.display || s.metric) || `series ${i + 1}`,
    color: opts.colors ? opts.colors[i] : COLORS[i % COLORS.length],
    points: (s.pointlist || []).filter((p) => p[1] !== null).map((p) => [p[0] / 1000, p[1] * scale]),
  }));
  const thresholds = (opts.thresholds || []).filter((t) => t.value !== undefined && t.value !== null);
  let max = Math.max(0, ...lines.flatMap((l) => l.points.map((p) => p[1])), ...thresholds.map((t) => t.value));
  if (opts.max) max = Math.max(max, opts.max);
  if (max <= 0) max = 1;
  max *= 1.08;
  const x = (t) => L + ((t - from) / (to - from)) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("preserveAspectRatio", "none");
  const add = (tag, attrs, text) => {
    const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text !== undefined) el.textContent = text;
    svg.append(el);
    return el;
  };
  for (let i = 0; i <= 4; i++) {
    const v = (max / 1.08) * (i / 4);
    add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eef0f3" });
    add("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, fmt(v));
  }
  for (let i = 0; i <= 4; i++) {
    const t = from + ((to - from) * i) / 4;
    add("text", { x: x(t), y: H - 5, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, time(t));
  }
  for (const t of thresholds) {
    add("line", { x1: L, x2: W - R, y1: y(t.value), y2: y(t.value), stroke: LEVEL[t.level] || "#999", "stroke-dasharray": "5 4", "stroke-width": 1.5, class: `threshold ${t.level}` });
    add("text", { x: W - R - 2, y: y(t.value) - 3, "text-anchor": "end", fill: LEVEL[t.level] }, `${t.level} ${fmt(t.value)}`);
  }
  for (const l of lines) {
    if (!l.points.length) continue;
    const d = l.points.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
    add("path", { d, fill: "none", stroke: l.color, "stroke-width": 1.6, class: "series" });
    // A lone point draws no line: mark it.
    if (l.points.length < 3) for (const p of l.points) add("circle", { cx: x(p[0]), cy: y(p[1]), r: 3, fill: l.color });
  }
  const empty = lines.every((l) => !l.points.length);
  if (empty) add("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no data in this range");
  const legend = h("div", { class: "legend" }, lines.slice(0, 12).map((l) => h("span", {}, h("i", { style: `background:${l.color}` }), l.name)));
  return h("div", { class: "chart-box", "data-points": lines.reduce((n, l) => n + l.points.length, 0) }, svg, legend);
}

// A chart panel fed by queries; each query may carry its own label.
function chartPanel(title, unit, queries, opts = {}) {
  const box = h("div", {}, h("p", { class: "muted" }, "…"));
  const p = panel(title, unit, box);
  if (opts.wide) p.classList.add("wide");
  Promise.all(queries.map((q) => query(typeof q === "string" ? q : q.q).then((ss) => ss.map((s) => ({ ...s, display: q.label || s.metric })))))
    .then((all) => box.replaceChildren(lineChart(all.flat(), opts)))
    .catch((e) => box.replaceChildren(failure(e)));
  return p;
}

// ---- views ------------------------------------------------------------------------------
const views = {};

views.overview = async () => {
  const monitors = h("div", {}, "…");
  const events = h("div", {}, "…");
  setView("Overview",
    h("div", { class: "grid" },
      panel("Monitors", null, monitors),
      panel("Latest events", null, events),
      chartPanel("Host CPU user", "%", ["avg:system.cpu.user{*} by {host}"], { thresholds: [{ value: 60, level: "warning" }, { value: 80, level: "critical" }] }),
      chartPanel("Requests", "req/s", ["sum:trace.http.server.request.hits{*} by {service}.as_rate()"]),
      chartPanel("Error rate", "%", [{ q: "100 * sum:trace.http.server.request.errors{*}.as_count() / sum:trace.http.server.request.hits{*}.as_count()", label: "error rate" }], { thresholds: [{ value: 5, level: "critical" }] }),
      chartPanel("Latency p95", "ms", [{ q: "p95:trace.http.server.request{*}", label: "p95" }], { scale: 1000 })));
  try {
    monitors.replaceChildren(monitorTable(await api("/api/v1/monitor")));
  } catch (e) { monitors.replaceChildren(failure(e)); }
  try {
    const ev = await api(`/api/v1/events?start=${nowSecs() - rangeSecs()}&end=${nowSecs()}`);
    events.replaceChildren(eventList(ev.events.slice(0, 10)));
  } catch (e) { events.replaceChildren(failure(e)); }
};

views.infrastructure = async () => {
  const events = h("div", {}, "…");
  setView("Infrastructure",
    h("div", { class: "grid" },
      chartPanel("Host CPU: user vs system", "%", [{ q: "avg:system.cpu.user{*}", label: "user" }, { q: "avg:system.cpu.system{*}", label: "system" }], { thresholds: [{ value: 80, level: "critical" }] }),
      chartPanel("CPU saturation", "%", [{ q: "avg:system.cpu.iowait{*}", label: "iowait" }, { q: "avg:system.cpu.stolen{*}", label: "stolen" }, { q: "100 - avg:system.cpu.idle{*}", label: "busy" }], { thresholds: [{ value: 80, level: "critical" }], max: 100 }),
      chartPanel("Memory usage", "MiB", [{ q: "avg:system.mem.used{*}", label: "used" }, { q: "avg:system.mem.total{*}", label: "total" }, { q: "avg:system.mem.cached{*}", label: "cached" }]),
      chartPanel("Memory saturation", "% used", [{ q: "100 - 100 * avg:system.mem.pct_usable{*}", label: "used" }], { thresholds: [{ value: 80, level: "critical" }], max: 100 }),
      chartPanel("Disk usage per device", "%", ["100 * max:system.disk.in_use{*} by {device}"], { thresholds: [{ value: 95, level: "critical" }], max: 100 }),
      chartPanel("Load", "per core", [{ q: "avg:system.load.norm.1{*}", label: "1 min" }, { q: "avg:system.load.norm.5{*}", label: "5 min" }]),
      chartPanel("CPU per container", "% of a core", ["avg:container.cpu.usage{*} by {container_name} / 10000000"], { thresholds: [{ value: 60, level: "warning" }, { value: 80, level: "critical" }] }),
      chartPanel("Container memory against its limit", "% of limit", ["100 * avg:container.memory.usage{*} by {container_name} / avg:container.memory.limit{*} by {container_name}"], { thresholds: [{ value: 80, level: "critical" }], max: 100 }),
      chartPanel("Container memory", "MiB", ["avg:container.memory.usage{*} by {container_name} / 1048576"]),
      chartPanel("Container restarts", "restarts", ["max:container.restarts{*} by {container_name}"]),
      panel("Event stream", null, events)));
  try {
    const ev = await api(`/api/v1/events?start=${nowSecs() - rangeSecs()}&end=${nowSecs()}`);
    events.replaceChildren(eventList(ev.events.slice(0, 25)));
  } catch (e) { events.replaceChildren(failure(e)); }
};

// Services and operations from the trace metrics' own tags.
async function services() {
  const metrics = (await api(`/api/v1/metrics?from=${nowSecs() - rangeSecs()}`)).metrics || [];
  const ops = metrics.filter((m) => m.startsWith("trace.") && m.endsWith(".hits")).map((m) => m.slice(6, -5));
  const out = [];
  for (const op of ops) {
    try {
      const tags = (await api(`/api/v2/metrics/${encodeURIComponent(`trace.${op}.hits`)}/all-tags`)).data.attributes.tags;
      for (const t of tags) if (t.startsWith("service:")) out.push({ service: t.slice(8), op });
    } catch (_) { /* a metric gone since the listing */ }
  }
  return out;
}

views.apm = async (params) => {
  const list = await services().catch(() => []);
  if (!list.length) return setView("APM", h("p", { class: "muted" }, "No trace metrics in this range yet: send traffic to a traced service."));
  // A service's entry operation first: the server span, as Datadog's service page shows it.
  const rank = (s) => (s.op === "http.server.request" ? 0 : /(^|\.)request$/.test(s.op) && !s.op.includes("client") ? 1 : 2);
  list.sort((a, b) => rank(a) - rank(b));
  const wanted = params.get("service") || "demo-service";
  const pick = list.find((s) => s.service === wanted && (!params.get("op") || s.op === params.get("op"))) || list.find((s) => s.service === wanted) || list[0];
  const scope = `service:${pick.service}`;
  const m = `trace.${pick.op}`;
  const select = h("select", { onchange: (e) => { const [s, o] = e.target.value.split("|"); location.hash = `#/apm?service=${encodeURIComponent(s)}&op=${encodeURIComponent(o)}`; } },
    list.map((s) => h("option", { value: `${s.service}|${s.op}`, ...(s === pick ? { selected: "" } : {}) }, `${s.service} · ${s.op}`)));
  const table = h("div", {}, "…");
  setView(`APM · ${pick.service}`,
    h("div", { class: "filters" }, "Service ", select),
    h("div", { class: "grid" },
      chartPanel("Requests", "req/s", [{ q: `sum:${m}.hits{${scope}}.as_rate()`, label: "requests" }]),
      chartPanel("Error rate", "%", [{ q: `100 * sum:${m}.errors{${scope}}.as_count() / sum:${m}.hits{${scope}}.as_count()`, label: "errors" }], { thresholds: [{ value: 5, level: "critical" }] }),
      chartPanel("Latency", "ms", [{ q: `p50:${m}{${scope}}`, label: "p50" }, { q: `p95:${m}{${scope}}`, label: "p95" }, { q: `p99:${m}{${scope}}`, label: "p99" }], { scale: 1000 }),
      chartPanel("Errors by HTTP status", "errors", [`sum:${m}.errors{${scope}} by {http.status_code}.as_count()`]),
      panel("Resources", null, table)));
  try {
    const [hits, errors, p95] = await Promise.all([
      query(`sum:${m}.hits{${scope}} by {resource_name}.as_count()`),
      query(`sum:${m}.errors{${scope}} by {resource_name}.as_count()`),
      query(`p95:${m}{${scope}} by {resource_name}.rollup(avg, ${rangeSecs()})`),
    ]);
    const total = (s) => (s.pointlist || []).reduce((n, p) => n + (p[1] || 0), 0);
    const byRes = (ss) => Object.fromEntries(ss.map((s) => [s.tag_set.join(","), s]));
    const e = byRes(errors), p = byRes(p95);
    const rows = hits.map((s) => {
      const key = s.tag_set.join(",");
      const n = total(s), err = e[key] ? total(e[key]) : 0;
      const last = p[key] ? (p[key].pointlist || []).filter((x) => x[1] !== null).pop() : null;
      return { key, name: key.replace("resource_name:", ""), n, err, p95: last ? last[1] * 1000 : null };
    }).sort((a, b) => b.n - a.n);
    table.replaceChildren(h("table", {},
      h("tr", {}, h("th", {}, "resource"), h("th", { class: "num" }, "requests"), h("th", { class: "num" }, "errors"), h("th", { class: "num" }, "error rate %"), h("th", { class: "num" }, "p95 ms")),
      rows.map((r) => h("tr", { class: "click", onclick: () => { location.hash = `#/traces?service=${encodeURIComponent(pick.service)}&resource=${encodeURIComponent(r.name)}`; } },
        h("td", {}, r.name), h("td", { class: "num" }, fmt(r.n)), h("td", { class: "num" }, fmt(r.err)),
        h("td", { class: "num" }, r.n ? fmt((100 * r.err) / r.n) : "–"), h("td", { class: "num" }, fmt(r.p95))))));
  } catch (err) { table.replaceChildren(failure(err)); }
};

views.traces = async (params) => {
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); const f = new FormData(e.target); const q = new URLSearchParams(); for (const [k, v] of f) if (v) q.set(k, v); location.hash = `#/traces?${q}`; } },
    h("input", { name: "service", placeholder: "service", value: params.get("service") || "" }),
    h("input", { name: "resource", placeholder: "resource (GET /slow)", value: params.get("resource") || "" }),
    h("input", { name: "status", placeholder: "status", size: 5, value: params.get("status") || "" }),
    h("select", { name: "error" }, h("option", { value: "" }, "all"), h("option", { value: "true", ...(params.get("error") === "true" ? { selected: "" } : {}) }, "errors only"), h("option", { value: "false", ...(params.get("error") === "false" ? { selected: "" } : {}) }, "no errors")),
    h("input", { name: "min_duration_ms", placeholder: "min ms", size: 6, value: params.get("min_duration_ms") || "" }),
    h("button", { type: "submit" }, "Search"));
  const list = h("div", {}, "…");
  setView("Traces", form, h("section", { class: "panel" }, list));
  try {
    const q = new URLSearchParams(params);
    q.set("limit", "200");
    const found = (await api(`/api/v0/traces?${q}`)).traces;
    if (!found.length) return list.replaceChildren(h("p", { class: "muted" }, "No trace matches."));
    list.replaceChildren(h("table", { id: "trace-list" },
      h("tr", {}, h("th", {}, "time"), h("th", {}, "service"), h("th", {}, "resource"), h("th", {}, "status"), h("th", { class: "num" }, "duration ms"), h("th", { class: "num" }, "spans"), h("th", {}, "trace id")),
      found.map((t) => h("tr", { class: "click", "data-trace-id": t.trace_id, onclick: () => { location.hash = `#/trace/${t.trace_id}`; } },
        h("td", {}, time(t.root.start / 1e9)), h("td", {}, t.root.service), h("td", {}, t.root.resource),
        h("td", {}, t.error ? h("span", { class: "badge Alert" }, t.root.meta["http.status_code"] || "error") : t.root.meta["http.status_code"] || ""),
        h("td", { class: "num" }, fmt(t.duration_ms)), h("td", { class: "num" }, t.span_count), h("td", {}, h("a", { href: `#/trace/${t.trace_id}` }, t.trace_id))))));
  } catch (e) { list.replaceChildren(failure(e)); }
};

views.trace = async (params, id) => {
  let trace;
  try { trace = await api(`/api/v0/traces/${encodeURIComponent(id)}`); } catch (e) { return setView(`Trace ${id}`, failure(e)); }
  const spans = trace.spans.slice().sort((a, b) => a.start - b.start);
  const ids = new Set(spans.map((s) => s.span_id));
  const children = {};
  for (const s of spans) (children[ids.has(s.parent_id) ? s.parent_id : 0] ||= []).push(s);
  const t0 = Math.min(...spans.map((s) => s.start));
  const t1 = Math.max(...spans.map((s) => s.start + s.duration));
  const total = Math.max(1, t1 - t0);
  const details = h("div", { class: "panel wide", id: "span-details" }, h("p", { class: "muted" }, "Click a span for its tags."));
  const showSpan = (s) => {
    const meta = Object.entries(s.meta).sort();
    const err = s.error ? h("div", {}, h("h2", {}, "Error"), h("p", {}, h("b", {}, s.meta["error.type"] || "error"), ": ", s.meta["error.message"] || ""), s.meta["error.stack"] ? h("pre", {}, s.meta["error.stack"]) : null) : null;
    details.replaceChildren(h("h2", {}, `${s.service} · ${s.name} · ${s.resource}`), h("p", { class: "muted" }, `${fmt(s.duration / 1e6)} ms, span ${s.span_id}`), err,
      h("table", {}, meta.filter(([k]) => k !== "error.stack").map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))),
        Object.entries(s.metrics).sort().map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))));
  };
  // Waterfall: depth-first, indented by depth.
  const rows = [];
  const walk = (s, depth) => { rows.push([s, depth]); for (const c of children[s.span_id] || []) walk(c, depth + 1); };
  for (const root of children[0] || []) walk(root, 0);
  const waterfall = h("div", { class: "waterfall" }, rows.map(([s, d]) => h("div", { class: "row", onclick: () => showSpan(s) },
    h("div", { class: "name", style: `padding-left:${d * 14}px`, title: `${s.name} ${s.resource}` }, `${s.service} ${s.name}`),
    h("div", { class: "track" }, h("div", { class: `bar${s.error ? " err" : ""}`, style: `left:${((s.start - t0) / total) * 100}%;width:${(s.duration / total) * 100}%`, title: `${fmt(s.duration / 1e6)} ms` })))));
  // Flame graph: each span under its parent, width by duration.
  const flame = h("div", { class: "flame", id: "flame" });
  let depthMax = 0;
  for (const [s, d] of rows) {
    depthMax = Math.max(depthMax, d);
    const color = s.error ? "#d63c3c" : COLORS[(s.service.length + d) % COLORS.length];
    flame.append(h("div", { style: `left:${((s.start - t0) / total) * 100}%;width:${Math.max(0.3, (s.duration / total) * 100)}%;top:${d * 20}px;background:${color}`, title: `${s.name} ${fmt(s.duration / 1e6)} ms`, onclick: () => showSpan(s) }, `${s.name} ${s.resource}`));
  }
  flame.style.height = `${(depthMax + 1) * 20 + 4}px`;
  const root = (children[0] || spans)[0];
  setView(`Trace ${id}`,
    h("p", {}, `${root.service} · ${root.resource} · ${fmt(total / 1e6)} ms · ${spans.length} spans · `,
      h("a", { id: "trace-logs", href: `#/logs?trace_id=${encodeURIComponent(id)}` }, "logs of this trace")),
    h("div", { class: "grid" }, h("section", { class: "panel wide" }, h("h2", {}, "Waterfall"), waterfall),
      h("section", { class: "panel wide" }, h("h2", {}, "Flame graph"), flame), details));
  showSpan(root);
};

views.logs = async (params) => {
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); const f = new FormData(e.target); const q = new URLSearchParams(); for (const [k, v] of f) if (v) q.set(k, v); location.hash = `#/logs?${q}`; } },
    h("input", { name: "query", placeholder: "search text", value: params.get("query") || "" }),
    h("input", { name: "trace_id", placeholder: "trace id", value: params.get("trace_id") || "" }),
    h("button", { type: "submit" }, "Search"));
  const facets = h("section", { class: "panel facets" }, "…");
  const list = h("section", { class: "panel" }, "…");
  setView("Logs", form, h("div", { class: "logs-layout" }, facets, list));
  let body;
  const q = new URLSearchParams(params);
  q.set("from", nowSecs() - rangeSecs());
  q.set("limit", "300");
  try { body = await api(`/api/v0/logs?${q}`); } catch (e) {
    facets.replaceChildren("–");
    return list.replaceChildren(h("p", { class: "muted" }, "No logs: ", e.message));
  }
  const link = (k, v) => { const p = new URLSearchParams(params); p.set(k, v); return `#/logs?${p}`; };
  facets.replaceChildren(...Object.entries(body.facets || {}).map(([name, counts]) => h("div", {}, h("h2", {}, name),
    h("ul", {}, Object.entries(counts).map(([v, n]) => h("li", {}, h("a", { href: link(name, v) }, v), ` ${n}`))))));
  if (!body.logs.length) return list.replaceChildren(h("p", { class: "muted" }, "No log line matches."));
  list.replaceChildren(h("table", { id: "log-list" },
    h("tr", {}, h("th", {}, "time"), h("th", {}, "status"), h("th", {}, "service"), h("th", {}, "message"), h("th", {}, "trace")),
    body.logs.map((l) => h("tr", {},
      h("td", {}, time(l.timestamp)), h("td", { class: `lvl-${l.status}` }, l.status), h("td", {}, l.service || ""),
      h("td", {}, l.message), h("td", {}, l.trace_id ? h("a", { class: "trace-link", href: `#/trace/${l.trace_id}` }, "trace") : "")))));
};

views.runtime = async (params) => {
  const service = params.get("service") || "demo-service";
  const s = `service:${service}`;
  setView(`Runtime metrics · ${service}`,
    h("div", { class: "grid" },
      chartPanel("CPU", "%", [{ q: `avg:runtime.rust.cpu.percent{${s}}`, label: "process CPU" }]),
      chartPanel("CPU time", "s per s", [{ q: `avg:runtime.rust.cpu.time.user{${s}}`, label: "user" }, { q: `avg:runtime.rust.cpu.time.sys{${s}}`, label: "system" }]),
      chartPanel("Memory", "MiB", [{ q: `avg:runtime.rust.mem.rss{${s}} / 1048576`, label: "RSS" }, { q: `avg:runtime.rust.mem.allocated{${s}} / 1048576`, label: "allocated" }, { q: `avg:runtime.rust.mem.resident{${s}} / 1048576`, label: "allocator resident" }]),
      chartPanel("Threads and file descriptors", "count", [{ q: `avg:runtime.rust.thread_count{${s}}`, label: "threads" }, { q: `avg:runtime.rust.fd_count{${s}}`, label: "fds" }]),
      chartPanel("Context switches", "per s", [{ q: `avg:runtime.rust.cpu.ctx_switch.voluntary{${s}}`, label: "voluntary" }, { q: `avg:runtime.rust.cpu.ctx_switch.involuntary{${s}}`, label: "involuntary" }]),
      chartPanel("Tokio", "count", [{ q: `avg:runtime.rust.tokio.workers{${s}}`, label: "workers" }, { q: `avg:runtime.rust.tokio.alive_tasks{${s}}`, label: "alive tasks" }, { q: `avg:runtime.rust.tokio.global_queue_depth{${s}}`, label: "queue depth" }]),
      chartPanel("Tokio busy ratio", "%", [{ q: `100 * avg:runtime.rust.tokio.busy_ratio{${s}}`, label: "busy" }], { max: 100 })));
};

function monitorTable(list) {
  if (!list.length) return h("p", { class: "muted" }, "No monitor loaded (AGENT_LITE_MONITORS_DIR).");
  const order = { Alert: 0, Warn: 1, "No Data": 2, OK: 3 };
  return h("table", { id: "monitor-list" }, h("tr", {}, h("th", {}, "state"), h("th", {}, "monitor"), h("th", {}, "groups")),
    list.slice().sort((a, b) => order[a.overall_state] - order[b.overall_state] || a.name.localeCompare(b.name)).map((m) => h("tr", { class: "click", onclick: () => { location.hash = `#/monitor/${m.id}`; } },
      h("td", {}, badge(m.overall_state)), h("td", {}, m.name), h("td", { class: "muted" },
        Object.values(m.state.groups).filter((g) => g.status !== "OK").map((g) => `${g.name}: ${g.status}`).join(", ")))));
}

function eventList(events) {
  if (!events.length) return h("p", { class: "muted" }, "No event in this range.");
  return h("ul", { class: "events" }, events.map((e) => h("li", { class: `ev-${e.alert_type}` },
    h("div", {}, h("b", {}, e.title), h("span", { class: "muted" }, ` · ${dateTime(e.date_happened)} · ${e.source_type_name}`)),
    e.text ? h("div", { class: "muted" }, e.text) : null,
    e.tags && e.tags.length ? h("div", { class: "muted" }, e.tags.join(" ")) : null)));
}

views.monitors = async () => {
  try { setView("Monitors", h("section", { class: "panel" }, monitorTable(await api("/api/v1/monitor")))); } catch (e) { setView("Monitors", failure(e)); }
};

views.monitor = async (params, id) => {
  let m, history;
  try {
    [m, history] = await Promise.all([api(`/api/v1/monitor/${id}`), api(`/api/v0/monitors/${id}/history`)]);
  } catch (e) { return setView(`Monitor ${id}`, failure(e)); }
  const th = m.options.thresholds || {};
  const lines = [{ value: th.critical, level: "critical" }, { value: th.warning, level: "warning" }];
  const groups = Object.values(m.state.groups);
  setView(m.name,
    h("p", {}, badge(m.overall_state), " ", h("code", {}, m.query)),
    h("div", { class: "grid" },
      chartPanel("Evaluated series", `${m.agent_lite.comparator} ${th.critical}`, [m.agent_lite.expression], { thresholds: lines, wide: true }),
      panel("Groups", null, groups.length ? h("table", {}, h("tr", {}, h("th", {}, "group"), h("th", {}, "state"), h("th", { class: "num" }, "last value"), h("th", {}, "since")),
        groups.map((g) => h("tr", {}, h("td", {}, g.name), h("td", {}, badge(g.status)), h("td", { class: "num" }, fmt(g.last_value, 4)), h("td", {}, dateTime(g.since))))) : h("p", { class: "muted" }, "Not evaluated yet.")),
      panel("Transitions", null, history.transitions.length ? h("table", { id: "transitions" }, h("tr", {}, h("th", {}, "time"), h("th", {}, "group"), h("th", {}, "transition"), h("th", { class: "num" }, "value")),
        history.transitions.slice().reverse().map((t) => h("tr", {}, h("td", {}, dateTime(t.ts)), h("td", {}, t.group), h("td", {}, badge(t.from), " → ", badge(t.to)), h("td", { class: "num" }, fmt(t.value, 4))))) : h("p", { class: "muted" }, "No transition yet.")),
      panel("Definition", null, h("pre", {}, JSON.stringify({ name: m.name, type: m.type, query: m.query, message: m.message, tags: m.tags, priority: m.priority, options: m.options }, null, 2)))));
};

views.events = async (params) => {
  const filter = params.get("q") || "";
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); location.hash = `#/events?q=${encodeURIComponent(new FormData(e.target).get("q") || "")}`; } },
    h("input", { name: "q", placeholder: "filter: text, tag or source", value: filter }), h("button", { type: "submit" }, "Filter"));
  try {
    const ev = (await api(`/api/v1/events?start=${nowSecs() - rangeSecs()}&end=${nowSecs()}`)).events;
    const f = filter.toLowerCase();
    const shown = f ? ev.filter((e) => [e.title, e.text, e.source_type_name, ...(e.tags || [])].join(" ").toLowerCase().includes(f)) : ev;
    setView("Events", form, h("section", { class: "panel" }, eventList(shown)));
  } catch (e) { setView("Events", form, failure(e)); }
};

// ---- routing and refresh ------------------------------------------------------------------
function route() {
  const hash = location.hash.replace(/^#\/?/, "") || "overview";
  const [path, qs] = hash.split("?");
  const [name, arg] = path.split("/");
  const params = new URLSearchParams(qs || "");
  for (const a of document.querySelectorAll("#nav a")) {
    const target = a.getAttribute("href").slice(2);
    a.classList.toggle("active", target === name || (name === "trace" && target === "traces") || (name === "monitor" && target === "monitors"));
  }
  const view = views[name] || views.overview;
  return view(params, arg && decodeURIComponent(arg)).catch((e) => setView("Error", failure(e)));
}

window.addEventListener("hashchange", route);
$range.addEventListener("change", route);
setInterval(() => {
  // Live refresh, except on pages someone is reading in detail.
  const hash = location.hash;
  if ($live.checked && !hash.startsWith("#/trace/") && !document.activeElement.matches("input, select")) route();
}, 10000);
route();
