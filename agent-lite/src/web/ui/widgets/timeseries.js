// Timeseries widget: every request (legacy `q`, or `queries` + `formulas`), its
// `display_type` (line, bars, area), the widget's `markers` and `yaxis`.

import { h, failure, fill } from "../lib/dom.js";
import { query } from "../lib/api.js";
import { lineChart } from "../lib/chart.js";
import { requestQueries } from "../lib/dashquery.js";

export default function timeseries(def, ctx) {
  const box = h("div", { class: "widget-body" }, h("p", { class: "muted" }, "…"));
  const runs = (def.requests || []).flatMap((req) => requestQueries(req, ctx.vars).map((rq) => ({ ...rq, display: req.display_type })));
  // The queries sent, template variables substituted: shown on hover, as Datadog does.
  box.dataset.queries = runs.map((r) => r.q).join("\n");
  box.title = box.dataset.queries;
  Promise.all(runs.map((r) => query(r.q).then((ss) => ss.map((s) => ({ ...s, display: r.label || s.display || s.metric, display_type: r.display })))))
    .then((all) => fill(box, lineChart(all.flat(), { markers: def.markers, yaxis: def.yaxis })))
    .catch((e) => fill(box, failure(e)));
  return box;
}
