// Profiles: a service's profiles over a time range, merged by agent-lite into a call tree
// (GET /api/v0/profiles/aggregate: `{name, value, children}`) drawn as a flame graph, its
// functions by self and total (GET /api/v0/profiles/top), and two ranges compared (before and
// during a spike: the same two calls for each, the change of every function's share shown in
// a table and as the colour of the flame graph's frames). Also a trace's code hotspots: the
// samples taken under its spans (`local_root_span_id`), for the trace view.

import { h, fmt, panel, setView, failure, fill, dateTime } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { nowSecs, rangeSecs } from "../lib/range.js";

const ROW = 18; // px, one frame's height
const MIN_WIDTH = 0.002; // of the focused frame: narrower frames (and their callees) not drawn
const MAX_FRAMES = 5000;

// A value in the profile's unit, as a reader says it.
export function valueFormat(unit) {
  if (unit === "nanoseconds") return (v) => (Math.abs(v) >= 1e9 ? `${fmt(v / 1e9)} s` : `${fmt(v / 1e6)} ms`);
  if (unit === "bytes") return (v) => (Math.abs(v) >= 1 << 20 ? `${fmt(v / (1 << 20))} MiB` : Math.abs(v) >= 1024 ? `${fmt(v / 1024)} KiB` : `${fmt(v)} B`);
  return (v) => `${fmt(v)}${unit && unit !== "count" ? ` ${unit}` : ""}`;
}

const share = (v, of) => (of ? (100 * v) / of : 0);
const pct = (v) => `${fmt(v, 1)}%`;

// The query string of the aggregate and top calls for one range.
function selection(sel, from, to) {
  const q = new URLSearchParams({ type: sel.type, from: String(from), to: String(to) });
  if (sel.service) q.set("service", sel.service);
  if (sel.env) q.set("env", sel.env);
  if (sel.spans) q.set("local_root_span_id", sel.spans);
  return q;
}

// The merged tree and its top table over [from, to].
async function merged(sel, from, to) {
  const q = selection(sel, from, to);
  const [tree, top] = await Promise.all([api(`/api/v0/profiles/aggregate?${q}`), api(`/api/v0/profiles/top?${q}`)]);
  return { tree, top: top.top, from, to };
}

// Warm colours by function name, as flame graphs are usually drawn (a name keeps its colour).
function warm(name) {
  let x = 0;
  for (let i = 0; i < name.length; i++) x = (x * 31 + name.charCodeAt(i)) | 0;
  const r = Math.abs(x);
  return `hsl(${(r % 55) + 5}, ${70 + (r % 20)}%, ${58 + (r % 12)}%)`;
}

// Red where a frame grew from before, blue where it shrank, by how much of the whole.
function diffColour(delta, scale) {
  const t = Math.min(1, Math.abs(delta) / scale);
  if (Math.abs(delta) < 1e-9) return "hsl(0, 0%, 85%)";
  return delta > 0 ? `hsl(0, ${40 + 50 * t}%, ${88 - 38 * t}%)` : `hsl(215, ${40 + 50 * t}%, ${88 - 38 * t}%)`;
}

// Each frame's share of the whole by its path from the root, for comparing two trees.
function sharesByPath(root) {
  const out = new Map();
  const walk = (n, path) => { for (const c of n.children || []) { const p = `${path}\u0001${c.name}`; out.set(p, (out.get(p) || 0) + share(c.value, root.value)); walk(c, p); } };
  walk(root, "");
  return out;
}

// The flame graph: the root on top, callees below, a frame's width its share of the focused
// frame. A click focuses a frame (its callers drawn full width above it, a click on one of
// them goes back up); `highlight(name)` outlines every frame of a function.
export function flameGraph(root, { format, before }) {
  const box = h("div", { class: "flamegraph", id: "flame-graph" });
  const scale = before ? Math.max(1, ...[...sharesByPath(root)].map(([p, s]) => Math.abs(s - (before.get(p) || 0)))) : 1;
  let focus = [root];
  let marked = null;
  const frame = (n, path, depth, x, w, cls) => {
    const self = n.value - (n.children || []).reduce((s, c) => s + c.value, 0);
    const now = share(n.value, root.value);
    let title = `${n.name}\n${format(n.value)} (${pct(now)} of all), self ${format(self)}`;
    let colour = warm(n.name);
    if (before && path === null) colour = "hsl(0, 0%, 80%)";
    else if (before) {
      const was = before.get(path) || 0;
      colour = diffColour(now - was, scale);
      title += `\nbefore ${pct(was)} → during ${pct(now)} (${now >= was ? "+" : ""}${fmt(now - was, 1)} points)`;
    }
    return h("div", {
      class: `frame${cls ? ` ${cls}` : ""}${marked === n.name ? " match" : ""}`, title,
      "data-name": n.name, "data-value": n.value, "data-depth": depth,
      style: `left:${x * 100}%;width:${w * 100}%;top:${depth * ROW}px;background:${colour}`,
    }, n.name);
  };
  const draw = () => {
    const frames = [];
    let depthMax = 0;
    // The focused frame's callers, full width.
    let path = "";
    focus.forEach((n, i) => {
      if (i > 0) path += `\u0001${n.name}`;
      if (i < focus.length - 1) {
        const el = frame(n, i ? path : null, i, 0, 1, "ancestor");
        el.addEventListener("click", () => { focus = focus.slice(0, i + 1); draw(); });
        frames.push(el);
      }
    });
    const top = focus[focus.length - 1];
    const base = focus.length - 1;
    const walk = (n, p, depth, x, w) => {
      if (frames.length >= MAX_FRAMES) return;
      const el = frame(n, depth ? p : null, depth, x, w);
      el.addEventListener("click", () => { if (n !== top) { focus = focus.concat(chain(top, n)); draw(); } });
      frames.push(el);
      depthMax = Math.max(depthMax, depth);
      let cx = x;
      for (const c of n.children || []) {
        const cw = (c.value / top.value) * 1;
        if (cw < MIN_WIDTH) break; // children come widest first
        walk(c, `${p}\u0001${c.name}`, depth + 1, cx, cw);
        cx += cw;
      }
    };
    if (top.value > 0) walk(top, path, base, 0, 1);
    box.style.height = `${(Math.max(depthMax, base) + 1) * ROW + 2}px`;
    fill(box, frames);
  };
  // The frames from `from` (exclusive) down to `to` (inclusive).
  const chain = (from, to) => {
    const find = (n) => {
      for (const c of n.children || []) {
        if (c === to) return [c];
        const below = find(c);
        if (below) return [c, ...below];
      }
      return null;
    };
    return find(from) || [];
  };
  draw();
  box.highlight = (name) => { marked = marked === name ? null : name; draw(); };
  box.reset = () => { focus = [root]; draw(); };
  return box;
}

// Functions by self value, with their total (themselves and their callees).
export function topTable(top, whole, format, onPick, limit = 40) {
  if (!top.length) return h("p", { class: "muted" }, "No sample.");
  return h("table", { class: "top-table" },
    h("tr", {}, h("th", {}, "function"), h("th", { class: "num" }, "self"), h("th", { class: "num" }, "self %"), h("th", { class: "num" }, "total"), h("th", { class: "num" }, "total %")),
    top.slice(0, limit).map((t) => h("tr", { class: onPick ? "click" : null, "data-name": t.name, onclick: onPick ? () => onPick(t.name) : null },
      h("td", {}, h("code", {}, t.name)), h("td", { class: "num self" }, format(t.self)), h("td", { class: "num" }, pct(share(t.self, whole))),
      h("td", { class: "num total" }, format(t.total)), h("td", { class: "num" }, pct(share(t.total, whole))))));
}

// Before vs during: each function's share of all samples in both ranges, biggest change first.
function comparison(before, during, format) {
  const rows = new Map();
  const add = (list, whole, key) => { for (const t of list) { const r = rows.get(t.name) || { name: t.name, self: [0, 0], total: [0, 0] }; r.self[key] = share(t.self, whole); r.total[key] = share(t.total, whole); rows.set(t.name, r); } };
  add(before.top, before.tree.value, 0);
  add(during.top, during.tree.value, 1);
  const sorted = [...rows.values()].sort((a, b) => Math.abs(b.self[1] - b.self[0]) - Math.abs(a.self[1] - a.self[0]) || Math.abs(b.total[1] - b.total[0]) - Math.abs(a.total[1] - a.total[0]));
  const change = (a, b) => `${b >= a ? "+" : ""}${fmt(b - a, 1)}`;
  const secs = (m) => Math.max(1, m.to - m.from);
  return h("div", {},
    h("p", { class: "muted" }, `Before: ${dateTime(before.from)} – ${dateTime(before.to)}, ${format(before.tree.value)} in ${before.tree.samples} samples (${format(before.tree.value / secs(before))} a second). `,
      `During: ${dateTime(during.from)} – ${dateTime(during.to)}, ${format(during.tree.value)} in ${during.tree.samples} samples (${format(during.tree.value / secs(during))} a second).`),
    h("table", { id: "profile-diff" },
      h("tr", {}, h("th", {}, "function"), h("th", { class: "num" }, "self before"), h("th", { class: "num" }, "self during"), h("th", { class: "num" }, "change (points)"), h("th", { class: "num" }, "total before"), h("th", { class: "num" }, "total during")),
      sorted.slice(0, 30).map((r) => h("tr", { class: r.self[1] - r.self[0] > 0.05 ? "grew" : r.self[1] - r.self[0] < -0.05 ? "shrank" : null, "data-name": r.name },
        h("td", {}, h("code", {}, r.name)), h("td", { class: "num" }, pct(r.self[0])), h("td", { class: "num" }, pct(r.self[1])),
        h("td", { class: "num change" }, change(r.self[0], r.self[1])), h("td", { class: "num" }, pct(r.total[0])), h("td", { class: "num" }, pct(r.total[1]))))));
}

// `datetime-local` values in the browser's time zone, and back to Unix seconds.
const pad = (n) => String(n).padStart(2, "0");
function localInput(secs) {
  const d = new Date(secs * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
const fromInput = (v) => (v ? Math.floor(new Date(v).getTime() / 1000) : null);
const intParam = (params, k) => (params.get(k) && Number.isFinite(Number(params.get(k))) ? Number(params.get(k)) : null);

export default async function profiles(params) {
  const now = nowSecs();
  const to = intParam(params, "to") || now;
  const from = intParam(params, "from") || to - rangeSecs();
  const baseFrom = intParam(params, "base_from"), baseTo = intParam(params, "base_to");
  const compare = baseFrom !== null && baseTo !== null && baseFrom < baseTo;
  // Services and their profile types as the profilers sent them, over both ranges.
  let list;
  try {
    list = (await api(`/api/v0/profiles?from=${compare ? Math.min(from, baseFrom) : from}&to=${compare ? Math.max(to, baseTo) : to}&limit=5000`)).profiles;
  } catch (e) { return setView("Profiles", failure(e)); }
  const byService = new Map();
  for (const p of list) {
    const s = byService.get(p.service) || { count: 0, types: new Set() };
    s.count += 1;
    for (const t of p.types) s.types.add(t);
    byService.set(p.service, s);
  }
  const spans = params.get("local_root_span_id") || "";
  // An empty `service=` is every service (a trace's hotspots cross services).
  const service = params.has("service") ? params.get("service") : byService.has("demo-service") ? "demo-service" : [...byService.keys()][0] || "";
  const types = service ? [...((byService.get(service) || {}).types || [])] : [...new Set(list.flatMap((p) => p.types))];
  const order = ["cpu", "wall", "alloc", "heap", "lock", "exception"];
  types.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  const type = params.get("type") || types[0] || "cpu";
  const sel = { service, type, env: params.get("env") || "", spans };

  const go = (over) => {
    const q = new URLSearchParams();
    const v = { service, type, env: sel.env, from: String(from), to: String(to), local_root_span_id: spans, ...(compare ? { base_from: String(baseFrom), base_to: String(baseTo) } : {}), ...over };
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined && (x !== "" || k === "service")) q.set(k, x);
    location.hash = `#/profiles?${q}`;
  };
  const form = h("form", { class: "filters", id: "profile-filters", onsubmit: (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const bf = fromInput(f.get("base_from")), bt = fromInput(f.get("base_to"));
    go({ service: f.get("service"), type: f.get("type"), from: String(fromInput(f.get("from")) || from), to: String(fromInput(f.get("to")) || to),
      base_from: bf && bt ? String(bf) : null, base_to: bf && bt ? String(bt) : null });
  } },
    "Service ", h("select", { name: "service", id: "profile-service" },
      h("option", { value: "", ...(service === "" ? { selected: "" } : {}) }, "every service"),
      [...new Set([...byService.keys(), service].filter(Boolean))].sort().map((s) => h("option", { value: s, ...(s === service ? { selected: "" } : {}) }, `${s} (${(byService.get(s) || { count: 0 }).count} profiles)`))),
    "Type ", h("select", { name: "type", id: "profile-type" }, [...new Set([...types, type])].map((t) => h("option", { value: t, ...(t === type ? { selected: "" } : {}) }, t))),
    "From ", h("input", { type: "datetime-local", step: "1", name: "from", value: localInput(from) }),
    "to ", h("input", { type: "datetime-local", step: "1", name: "to", value: localInput(to) }),
    h("span", { class: "compare-with" }, "compared with ",
      h("input", { type: "datetime-local", step: "1", name: "base_from", value: compare ? localInput(baseFrom) : "" }),
      "to ", h("input", { type: "datetime-local", step: "1", name: "base_to", value: compare ? localInput(baseTo) : "" })),
    h("button", { type: "submit" }, "Show"),
    h("button", { type: "button", id: "compare-before", title: "Compare with the range of the same length just before", onclick: () => go({ base_from: String(from - (to - from)), base_to: String(from) }) }, "Compare with the period before"),
    compare ? h("button", { type: "button", onclick: () => go({ base_from: null, base_to: null }) }, "No comparison") : null);

  if (!list.length && !spans) {
    return setView("Profiles", form, h("p", { class: "muted" }, "No profile in this range: run a service with DD_PROFILING_ENABLED=true (demo-service, or a Python app under ddtrace-run), its profiler uploads every DD_PROFILING_UPLOAD_PERIOD seconds."));
  }
  let during, before = null;
  try {
    [during, before] = await Promise.all([merged(sel, from, to), compare ? merged(sel, baseFrom, baseTo) : null]);
  } catch (e) { return setView("Profiles", form, failure(e)); }
  const format = valueFormat(during.tree.unit);
  const what = `${service || "every service"} · ${type}`;
  const note = spans ? h("p", { id: "profile-spans" }, `Only the samples taken under the spans of a trace (local root span ${spans.split(",").length > 1 ? "ids" : "id"} ${spans.length > 80 ? `${spans.slice(0, 80)}…` : spans}). `,
    params.get("trace") ? h("a", { href: `#/trace/${encodeURIComponent(params.get("trace"))}` }, "Back to the trace") : null) : null;
  if (!during.tree.samples) {
    return setView(`Profiles · ${what}`, form, note, h("p", { class: "muted", id: "profile-empty" }, `No ${type} sample in ${during.tree.profiles} profiles of this range${spans ? " under these spans" : ""}.`));
  }
  const flame = flameGraph(during.tree, { format, before: before && before.tree.samples ? sharesByPath(before.tree) : null });
  const pick = (name) => flame.highlight(name);
  // Function names (Rust's generic paths above all) need the whole width.
  const top = panel("Top functions", `by self ${during.tree.unit}`, topTable(during.top, during.tree.value, format, pick));
  top.classList.add("wide");
  setView(`Profiles · ${what}`, form, note,
    h("p", { class: "muted", id: "profile-summary" }, `${during.tree.profiles} profiles, ${during.tree.samples} samples, ${format(during.tree.value)} of ${type} from ${dateTime(from)} to ${dateTime(to)}. `,
      "Click a frame to zoom in, a caller above it to go back; a function in the table outlines its frames.",
      before ? " Colours: red grew, blue shrank, against the range compared with." : ""),
    h("div", { class: "grid" },
      h("section", { class: "panel wide" }, h("h2", {}, "Flame graph", h("button", { type: "button", class: "reset-zoom", onclick: () => flame.reset() }, "Reset zoom")), h("div", { class: "flamegraph-scroll" }, flame)),
      before ? h("section", { class: "panel wide", id: "profile-comparison" }, h("h2", {}, "Before vs during: share of all samples"),
        before.tree.samples ? comparison(before, during, format) : h("p", { class: "muted" }, `No ${type} sample in the range compared with.`)) : null,
      top));
}

// A trace's code hotspots: the functions its spans ran, from the profiles taken while it ran,
// and a link to their flame graph. `spanIds` are decimal strings (exact: 64-bit ids).
export function hotspotsPanel(traceId, spanIds, from, to, service) {
  const box = h("div", {}, h("p", { class: "muted" }, "…"));
  const ids = spanIds.slice(0, 100).join(",");
  const link = (type) => {
    const q = new URLSearchParams({ service: "", type, from: String(from), to: String(to), local_root_span_id: ids, trace: traceId });
    return h("a", { id: "hotspots-link", href: `#/profiles?${q}` }, "Open in Profiles");
  };
  (async () => {
    // CPU first (demo-service, Go, Java); Python's profiler samples wall time as well.
    for (const type of ["cpu", "wall"]) {
      const q = new URLSearchParams({ type, from: String(from), to: String(to), local_root_span_id: ids });
      const top = await api(`/api/v0/profiles/top?${q}`);
      if (top.samples) {
        const format = valueFormat(top.unit);
        return fill(box, h("p", { class: "muted" }, `${top.samples} ${type} samples (${format(top.total)}) taken under this trace's spans. `, link(type)),
          topTable(top.top, top.total, format, null, 10));
      }
    }
    fill(box, h("p", { class: "muted", id: "hotspots-empty" }, `No profile sample under this trace yet: profiles come every DD_PROFILING_UPLOAD_PERIOD seconds from a service run with DD_PROFILING_ENABLED=true${service ? ` (${service})` : ""}. `, link("cpu")));
  })().catch((e) => fill(box, failure(e)));
  return h("section", { class: "panel wide", id: "hotspots" }, h("h2", {}, "Code hotspots"), box);
}
