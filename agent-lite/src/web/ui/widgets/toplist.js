// Toplist widget: each group of the first request, reduced over the range, largest first.

import { h, fmt, failure, fill } from "../lib/dom.js";
import { query } from "../lib/api.js";
import { seriesName } from "../lib/chart.js";
import { requestQueries, requestAggregator } from "../lib/dashquery.js";
import { reduce, formatFor } from "./query_value.js";

export default function toplist(def, ctx) {
  const box = h("div", { class: "widget-body" }, h("p", { class: "muted" }, "…"));
  const req = (def.requests || [])[0];
  const [first] = req ? requestQueries(req, ctx.vars) : [];
  if (!first) return fill(box, h("p", { class: "muted" }, "No query."));
  box.dataset.queries = first.q;
  box.title = first.q;
  query(first.q).then((series) => {
    const rows = series.map((s, i) => ({ name: seriesName(s, i), value: reduce(s.pointlist || [], requestAggregator(req)) }))
      .filter((r) => r.value !== null).sort((a, b) => b.value - a.value).slice(0, 10);
    if (!rows.length) return fill(box, h("p", { class: "muted" }, "no data in this range"));
    const top = Math.max(...rows.map((r) => Math.abs(r.value)), 1e-9);
    fill(box, h("table", { class: "toplist" }, rows.map((r) => {
      const rule = formatFor(r.value, req.conditional_formats);
      return h("tr", {}, h("td", {}, r.name), h("td", { class: "num" }, fmt(r.value)),
        h("td", { class: "bar-cell" }, h("div", { class: `tbar${rule ? ` cf-${rule.palette}` : ""}`, style: `width:${(Math.abs(r.value) / top) * 100}%` })));
    })));
  }).catch((e) => fill(box, failure(e)));
  return box;
}
