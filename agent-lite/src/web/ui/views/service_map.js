// Service Map: the services and their dependencies over the time range, drawn as SVG from
// /api/v0/service_map (nodes and edges with requests, errors and p95, computed by agent-lite
// from the recent traces). Also the downstream and database-queries tables of a service's
// APM page, from /api/v0/services/{service}/dependencies.

import { h, fmt, panel, setView, failure } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { nowSecs, rangeSecs } from "../lib/range.js";

const SVG = "http://www.w3.org/2000/svg";
const KIND_COLOR = { service: "#632ca6", database: "#1f7ae0", external: "#8a5a00" };

function svgEl(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

const rate = (f) => (f.requests ? `${fmt((100 * f.errors) / f.requests)}% errors` : "no requests");
const figures = (f) => `${fmt(f.requests)} req · ${rate(f)} · p95 ${fmt(f.p95_ms)} ms`;

// Columns by depth from the callers (a service no one calls is at depth 0), rows within.
function layout(nodes, edges) {
  const depth = Object.fromEntries(nodes.map((n) => [n.service, 0]));
  for (let pass = 0; pass < nodes.length; pass++) {
    let moved = false;
    for (const e of edges) {
      if (e.from !== e.to && depth[e.to] <= depth[e.from] && depth[e.from] < nodes.length) {
        depth[e.to] = depth[e.from] + 1;
        moved = true;
      }
    }
    if (!moved) break;
  }
  const columns = {};
  for (const n of nodes) (columns[depth[n.service]] ||= []).push(n);
  const W = 220, H = 110, pos = {};
  for (const [d, list] of Object.entries(columns)) list.forEach((n, i) => { pos[n.service] = { x: 90 + d * W, y: 60 + i * H }; });
  const width = 180 + Math.max(0, ...Object.keys(columns).map(Number)) * W;
  const height = 120 + Math.max(0, ...Object.values(columns).map((l) => l.length - 1)) * H;
  return { pos, width, height };
}

export function drawMap(map) {
  const { pos, width, height } = layout(map.nodes, map.edges);
  // Wide enough to read, not so wide that a small map's labels turn into headlines.
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, class: "service-map", id: "service-map", width: "100%", style: `max-width:${Math.round(width * 1.5)}px` });
  const defs = svgEl("defs", {});
  const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" });
  marker.append(svgEl("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#888" }));
  defs.append(marker);
  svg.append(defs);
  const R = 26;
  for (const e of map.edges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    const dx = b.x - a.x, dy = b.y - a.y, len = Math.hypot(dx, dy) || 1;
    const [x1, y1, x2, y2] = [a.x + (dx / len) * R, a.y + (dy / len) * R, b.x - (dx / len) * R, b.y - (dy / len) * R];
    const g = svgEl("g", { class: "edge", "data-from": e.from, "data-to": e.to, "data-requests": e.requests, "data-errors": e.errors });
    const failing = e.errors > 0;
    g.append(svgEl("line", { x1, y1, x2, y2, stroke: failing ? "#d63c3c" : "#888", "stroke-width": 1.5 + Math.min(4, Math.log10(1 + e.requests)), "marker-end": "url(#arrow)" }));
    g.append(svgEl("text", { x: (x1 + x2) / 2, y: (y1 + y2) / 2 - 6, "text-anchor": "middle", class: "edge-label" }, `${fmt(e.requests)} req · p95 ${fmt(e.p95_ms)} ms`));
    g.append(svgEl("title", {}, `${e.from} → ${e.to} (${e.type || "call"}): ${figures(e)}`));
    svg.append(g);
  }
  for (const n of map.nodes) {
    const p = pos[n.service];
    const g = svgEl("g", { class: `node ${n.kind}`, "data-service": n.service, "data-requests": n.requests, "data-errors": n.errors });
    if (n.traced) {
      g.style.cursor = "pointer";
      g.addEventListener("click", () => { location.hash = `#/apm?service=${encodeURIComponent(n.service)}`; });
    }
    const errorShare = n.requests ? n.errors / n.requests : 0;
    g.append(svgEl("circle", { cx: p.x, cy: p.y, r: R, fill: KIND_COLOR[n.kind] || "#666", stroke: errorShare > 0.05 ? "#d63c3c" : "#fff", "stroke-width": errorShare > 0.05 ? 4 : 2 }));
    g.append(svgEl("text", { x: p.x, y: p.y + R + 16, "text-anchor": "middle", class: "node-name" }, n.service));
    g.append(svgEl("text", { x: p.x, y: p.y + R + 30, "text-anchor": "middle", class: "node-figures" }, `${fmt(n.requests)} req · ${rate(n)}`));
    g.append(svgEl("title", {}, `${n.service} (${n.kind}): ${figures(n)}`));
    svg.append(g);
  }
  return svg;
}

function windowQuery(params) {
  const to = nowSecs();
  const q = new URLSearchParams({ from: String(to - rangeSecs()), to: String(to) });
  if (params && params.get("env")) q.set("env", params.get("env"));
  return q;
}

export default async function serviceMap(params) {
  let map;
  try { map = await api(`/api/v0/service_map?${windowQuery(params)}`); } catch (e) { return setView("Service Map", failure(e)); }
  if (!map.nodes.length) return setView("Service Map", h("p", { class: "muted" }, "No traces in this range yet: send traffic to a traced service."));
  setView("Service Map",
    h("p", { class: "muted" }, `${map.traces} recent traces${map.env ? ` in env ${map.env}` : ""}; click a service for its APM page.`),
    h("section", { class: "panel wide" }, drawMap(map)),
    panel("Calls", null, h("table", { id: "edge-list" },
      h("tr", {}, h("th", {}, "from"), h("th", {}, "to"), h("th", {}, "type"), h("th", { class: "num" }, "requests"), h("th", { class: "num" }, "errors"), h("th", { class: "num" }, "p95 ms")),
      map.edges.map((e) => h("tr", {}, h("td", {}, e.from), h("td", {}, e.to), h("td", {}, e.type), h("td", { class: "num" }, fmt(e.requests)), h("td", { class: "num" }, fmt(e.errors)), h("td", { class: "num" }, fmt(e.p95_ms)))))));
}

// The downstream and database-queries panels of a service's APM page.
export function dependencyPanels(service, params) {
  const downstream = h("div", {}, "…");
  const queries = h("div", {}, "…");
  api(`/api/v0/services/${encodeURIComponent(service)}/dependencies?${windowQuery(params)}`).then((d) => {
    downstream.replaceChildren(d.downstream.length ? h("table", { id: "downstream" },
      h("tr", {}, h("th", {}, "service"), h("th", {}, "type"), h("th", { class: "num" }, "requests"), h("th", { class: "num" }, "errors"), h("th", { class: "num" }, "p95 ms")),
      d.downstream.map((e) => h("tr", {}, h("td", {}, e.to), h("td", {}, e.type), h("td", { class: "num" }, fmt(e.requests)), h("td", { class: "num" }, fmt(e.errors)), h("td", { class: "num" }, fmt(e.p95_ms)))))
      : h("p", { class: "muted" }, "No downstream call in this range."));
    queries.replaceChildren(d.queries.length ? h("table", { id: "queries" },
      h("tr", {}, h("th", {}, "statement"), h("th", {}, "database"), h("th", { class: "num" }, "calls"), h("th", { class: "num" }, "errors"), h("th", { class: "num" }, "p95 ms")),
      d.queries.map((q) => h("tr", {}, h("td", {}, h("code", {}, q.statement)), h("td", {}, `${q.database} (${q.db_system})`), h("td", { class: "num" }, fmt(q.calls)), h("td", { class: "num" }, fmt(q.errors)), h("td", { class: "num" }, fmt(q.p95_ms)))))
      : h("p", { class: "muted" }, "No database query in this range."));
  }).catch((e) => { downstream.replaceChildren(failure(e)); queries.replaceChildren(failure(e)); });
  return [panel("Downstream services", null, downstream), panel("Database queries", null, queries)];
}
