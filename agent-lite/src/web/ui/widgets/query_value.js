// Query value widget: one number from the first request, reduced by its `aggregator`, shown
// with `precision` decimals and coloured by the first matching `conditional_formats` rule.

import { h, failure, fill } from "../lib/dom.js";
import { query } from "../lib/api.js";
import { requestQueries, requestAggregator } from "../lib/dashquery.js";

const PALETTE = {
  white_on_red: ["#fff", "#d63c3c"], white_on_yellow: ["#fff", "#e5a50a"], white_on_green: ["#fff", "#2e9e5b"],
  white_on_gray: ["#fff", "#8a8f98"], black_on_light_red: ["#1f2430", "#f6c6c6"], black_on_light_yellow: ["#1f2430", "#f8e6a6"],
  black_on_light_green: ["#1f2430", "#c6ecd4"], red_on_white: ["#d63c3c", "#fff"], yellow_on_white: ["#e5a50a", "#fff"],
  green_on_white: ["#2e9e5b", "#fff"], gray_on_white: ["#8a8f98", "#fff"],
};

export function reduce(points, aggregator) {
  const vs = points.filter((p) => p[1] !== null).map((p) => p[1]);
  if (!vs.length) return null;
  switch (aggregator) {
    case "last": return vs[vs.length - 1];
    case "max": return Math.max(...vs);
    case "min": return Math.min(...vs);
    case "sum": return vs.reduce((a, b) => a + b, 0);
    default: return vs.reduce((a, b) => a + b, 0) / vs.length;
  }
}

const COMPARE = { ">": (a, b) => a > b, ">=": (a, b) => a >= b, "<": (a, b) => a < b, "<=": (a, b) => a <= b, "=": (a, b) => a === b };

export function formatFor(value, formats) {
  return (formats || []).find((f) => COMPARE[f.comparator] && COMPARE[f.comparator](value, Number(f.value)));
}

export default function queryValue(def, ctx) {
  const box = h("div", { class: "widget-body qv" }, h("p", { class: "muted" }, "…"));
  const req = (def.requests || [])[0];
  if (!req) return fill(box, h("p", { class: "muted" }, "No request."));
  const [first] = requestQueries(req, ctx.vars);
  if (!first) return fill(box, h("p", { class: "muted" }, "No query."));
  box.dataset.queries = first.q;
  box.title = first.q;
  query(first.q).then((series) => {
    const value = reduce(series.flatMap((s) => s.pointlist || []), requestAggregator(req));
    const precision = Number.isInteger(def.precision) ? def.precision : 2;
    const rule = value === null ? null : formatFor(value, req.conditional_formats);
    const [fg, bg] = rule ? PALETTE[rule.palette] || ["#1f2430", "transparent"] : ["#1f2430", "transparent"];
    fill(box, h("div", { class: `qv-value${rule ? ` cf-${rule.palette}` : ""}`, style: `color:${fg};background:${bg}`, "data-value": value === null ? "" : value },
      value === null ? "–" : value.toFixed(precision), def.custom_unit ? h("span", { class: "unit" }, ` ${def.custom_unit}`) : null));
  }).catch((e) => fill(box, failure(e)));
  return box;
}
