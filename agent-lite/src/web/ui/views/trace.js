// One trace: waterfall, flame graph, a span's tags, and its code hotspots (the profile
// samples taken under its spans).

import { COLORS, h, fmt, panel, setView, failure, fill } from "../lib/dom.js";
import { hotspotsPanel } from "./profiles.js";

// Span ids are 64-bit: as JavaScript numbers they lose their low digits past 2^53, and a lost
// digit matches no profile sample's `local root span id`. They are kept as their JSON text
// (JSON.parse's source text access: Chromium 114, Firefox 135; older browsers get the
// rounded number and no hotspots).
async function traceJson(id) {
  const path = `/api/v0/traces/${encodeURIComponent(id)}`;
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  const text = await res.text();
  const exact = (k, v, context) => ((k === "span_id" || k === "parent_id") && typeof v === "number" && context && context.source ? context.source : v);
  const body = (() => { try { return JSON.parse(text, exact); } catch (_) { return null; } })();
  if (!res.ok) throw new Error(`${path}: ${body && body.errors ? body.errors.join("; ") : res.statusText}`);
  return body;
}

export default async function trace(params, id) {
  let trace;
  try { trace = await traceJson(id); } catch (e) { return setView(`Trace ${id}`, failure(e)); }
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
    fill(details, h("h2", {}, `${s.service} · ${s.name} · ${s.resource}`), h("p", { class: "muted" }, `${fmt(s.duration / 1e6)} ms, span ${s.span_id}`), err,
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
  // A sample's `local root span id` is the first span of the trace in the process that took
  // it: every span id is asked for as one, those whose parent is elsewhere (another service,
  // or none) first, since the list is cut at 100.
  const byId = Object.fromEntries(spans.map((s) => [s.span_id, s]));
  const localRoots = spans.filter((s) => !byId[s.parent_id] || byId[s.parent_id].service !== s.service);
  const spanIds = [...new Set([...localRoots, ...spans].map((s) => String(s.span_id)))];
  const hotspots = hotspotsPanel(id, spanIds, Math.floor(t0 / 1e9), Math.ceil(t1 / 1e9), root.service);
  setView(`Trace ${id}`,
    h("p", {}, `${root.service} · ${root.resource} · ${fmt(total / 1e6)} ms · ${spans.length} spans · `,
      h("a", { id: "trace-logs", href: `#/logs?trace_id=${encodeURIComponent(id)}` }, "logs of this trace")),
    h("div", { class: "grid" }, h("section", { class: "panel wide" }, h("h2", {}, "Waterfall"), waterfall),
      h("section", { class: "panel wide" }, h("h2", {}, "Flame graph"), flame), hotspots, details));
  showSpan(root);
}
