// Charts: SVG lines over the time range, thresholds drawn and coloured.

import { COLORS, LEVEL, fmt, h, panel, time, failure, fill } from "./dom.js";
import { nowSecs, rangeSecs } from "./range.js";
import { query } from "./api.js";

export function seriesName(s, i) {
  return (s.tag_set && s.tag_set.length ? s.tag_set.join(",") : s.display || s.metric) || `series ${i + 1}`;
}

// Datadog's marker colours by the first word of `display_type` ("error dashed").
const MARKER = { error: "#d63c3c", warning: "#e5a50a", ok: "#2e9e5b", info: "#1f7ae0" };

// A marker's `value` as Datadog writes it: "y = 80", or a band "0 < y < 50" (its bounds drawn).
export function markerValues(value) {
  const s = String(value || "").replace(/\s+/g, "");
  const eq = s.match(/^y=(-?[\d.eE+-]+)$/);
  if (eq) return [Number(eq[1])].filter(Number.isFinite);
  const band = s.match(/^(-?[\d.eE+-]+)<=?y<=?(-?[\d.eE+-]+)$/);
  if (band) return [Number(band[1]), Number(band[2])].filter(Number.isFinite);
  const one = s.match(/^y[<>]=?(-?[\d.eE+-]+)$/) || s.match(/^(-?[\d.eE+-]+)[<>]=?y$/);
  if (one) return [Number(one[1])].filter(Number.isFinite);
  return [];
}

// Series drawn over the range. opts: thresholds [{value, level}] (the views' own lines),
// markers (Datadog's widget markers), yaxis {min, max, scale}, display per series
// ("line", "bars", "area"), scale (multiplier), max (lowest top of the y axis).
export function lineChart(series, opts = {}) {
  const W = 600, H = 180, L = 44, R = 8, T = 8, B = 20;
  const to = opts.to || nowSecs(), from = opts.from || to - rangeSecs();
  const scale = opts.scale || 1;
  const lines = series.map((s, i) => ({
    name: seriesName(s, i),
    color: opts.colors ? opts.colors[i] : COLORS[i % COLORS.length],
    display: s.display_type || opts.display || "line",
    points: (s.pointlist || []).filter((p) => p[1] !== null).map((p) => [p[0] / 1000, p[1] * scale]),
  }));
  const thresholds = (opts.thresholds || []).filter((t) => t.value !== undefined && t.value !== null)
    .map((t) => ({ value: t.value, color: LEVEL[t.level] || "#999", dash: "5 4", cls: `threshold ${t.level}`, label: `${t.level} ${fmt(t.value)}` }));
  for (const m of opts.markers || []) {
    const [kind, style] = String(m.display_type || "info dashed").split(/\s+/);
    for (const v of markerValues(m.value)) {
      thresholds.push({ value: v, color: MARKER[kind] || "#999", dash: style === "solid" || style === "bold" ? "" : "5 4", width: style === "bold" ? 2.5 : 1.5, cls: `marker ${kind || "info"}`, label: m.label || m.value });
    }
  }
  const yaxis = opts.yaxis || {};
  const logScale = yaxis.scale === "log";
  const all = [...lines.flatMap((l) => l.points.map((p) => p[1])), ...thresholds.map((t) => t.value)];
  const fixedMin = yaxis.min !== undefined && yaxis.min !== "auto" && yaxis.min !== "" ? Number(yaxis.min) : null;
  const fixedMax = yaxis.max !== undefined && yaxis.max !== "auto" && yaxis.max !== "" ? Number(yaxis.max) : null;
  let min = Number.isFinite(fixedMin) ? fixedMin : Math.min(0, ...all);
  let max = Number.isFinite(fixedMax) ? fixedMax : Math.max(0, ...all);
  if (opts.max && !Number.isFinite(fixedMax)) max = Math.max(max, opts.max);
  if (logScale) min = Math.max(min, Math.min(...all.filter((v) => v > 0), 1) / 2);
  if (max <= min) max = min + 1;
  const top = Number.isFinite(fixedMax) ? max : max + (max - min) * 0.08;
  const f = (v) => (logScale ? Math.log10(Math.max(v, min)) : v);
  const x = (t) => L + ((t - from) / (to - from)) * (W - L - R);
  const y = (v) => T + (1 - (f(Math.min(Math.max(v, min), top)) - f(min)) / (f(top) - f(min))) * (H - T - B);
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
    const v = logScale ? 10 ** (f(min) + ((f(max) - f(min)) * i) / 4) : min + ((max - min) * i) / 4;
    add("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eef0f3" });
    add("text", { x: L - 4, y: y(v) + 3, "text-anchor": "end" }, fmt(v));
  }
  for (let i = 0; i <= 4; i++) {
    const t = from + ((to - from) * i) / 4;
    add("text", { x: x(t), y: H - 5, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle" }, time(t));
  }
  // A label goes under its line when it would overlap the one above (95 and 90 on 0-100).
  const labelled = [];
  for (const t of thresholds) {
    add("line", { x1: L, x2: W - R, y1: y(t.value), y2: y(t.value), stroke: t.color, "stroke-dasharray": t.dash, "stroke-width": t.width || 1.5, class: t.cls });
    const above = y(t.value) - 3;
    const ly = labelled.some((o) => Math.abs(o - above) < 11) ? y(t.value) + 11 : above;
    labelled.push(ly);
    add("text", { x: W - R - 2, y: ly, "text-anchor": "end", fill: t.color }, t.label);
  }
  const base = y(Math.max(min, 0));
  for (const l of lines) {
    if (!l.points.length) continue;
    if (l.display === "bars") {
      const w = Math.max(1, ((W - L - R) / Math.max(1, l.points.length)) * 0.7);
      for (const p of l.points) add("rect", { x: x(p[0]) - w / 2, y: Math.min(y(p[1]), base), width: w, height: Math.abs(base - y(p[1])), fill: l.color, class: "series bars" });
      continue;
    }
    const d = l.points.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join("");
    if (l.display === "area") {
      const first = l.points[0], last = l.points[l.points.length - 1];
      add("path", { d: `${d}L${x(last[0]).toFixed(1)},${base}L${x(first[0]).toFixed(1)},${base}Z`, fill: l.color, "fill-opacity": 0.25, stroke: "none", class: "area" });
    }
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
export function chartPanel(title, unit, queries, opts = {}) {
  const box = h("div", {}, h("p", { class: "muted" }, "…"));
  const p = panel(title, unit, box);
  if (opts.wide) p.classList.add("wide");
  Promise.all(queries.map((q) => query(typeof q === "string" ? q : q.q).then((ss) => ss.map((s) => ({ ...s, display: q.label || s.metric })))))
    .then((all) => fill(box, lineChart(all.flat(), opts)))
    .catch((e) => fill(box, failure(e)));
  return p;
}
