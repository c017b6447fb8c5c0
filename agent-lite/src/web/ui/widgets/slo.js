// SLO widget (`slo`, view_type `detail`): the SLO `slo_id` over each of its `time_windows`
// (7d, 30d, 90d, week_to_date, previous_week, month_to_date, previous_month, global_time),
// with its status, SLI, target and, unless `show_error_budget` is false, the error budget
// left; read from /api/v1/slo/{id} and /api/v1/slo/{id}/history, as Datadog's widget reads
// its SLO's history.

import { h, badge, failure, fill } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { nowSecs, rangeSecs } from "../lib/range.js";

const DAY = 86400;
const WINDOW_NAMES = {
  "7d": "7 days", "30d": "30 days", "90d": "90 days", week_to_date: "Week to date", previous_week: "Previous week",
  month_to_date: "Month to date", previous_month: "Previous month", global_time: "The page's range",
};

// [from, to] of a time window, in seconds; weeks start on Monday and months on the 1st (UTC).
export function windowRange(window, now = nowSecs()) {
  const days = { "7d": 7, "30d": 30, "90d": 90 }[window];
  if (days) return [now - days * DAY, now];
  const d = new Date(now * 1000);
  const midnight = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) / 1000;
  const monday = midnight - ((d.getUTCDay() + 6) % 7) * DAY;
  const first = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1) / 1000;
  const firstBefore = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1) / 1000;
  switch (window) {
    case "week_to_date": return [monday, now];
    case "previous_week": return [monday - 7 * DAY, monday];
    case "month_to_date": return [first, now];
    case "previous_month": return [firstBefore, first];
    default: return [now - rangeSecs(), now];
  }
}

// OK, Warning (under the warning), Breached (under the target), as Datadog colours an SLO.
function state(sli, threshold) {
  if (sli === null || sli === undefined || !threshold) return "No Data";
  if (sli < threshold.target) return "Breached";
  if (threshold.warning !== undefined && threshold.warning !== null && sli < threshold.warning) return "Warn";
  return "OK";
}

const pct = (v, digits = 3) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? "–" : `${Number(v).toFixed(digits)}%`);

async function row(slo, window, showBudget) {
  // The threshold of that timeframe, else the SLO's first (its primary).
  const threshold = slo.thresholds.find((t) => t.timeframe === window) || slo.thresholds[0];
  const [from, to] = windowRange(window);
  const data = (await api(`/api/v1/slo/${encodeURIComponent(slo.id)}/history?from_ts=${from}&to_ts=${to}`)).data;
  const sli = data.overall.sli_value;
  const left = threshold ? (data.overall.error_budget_remaining || {})[threshold.timeframe] : null;
  const s = state(sli, threshold);
  return h("tr", { "data-window": window, "data-state": s },
    h("td", {}, WINDOW_NAMES[window] || window), h("td", {}, badge(s)),
    h("td", { class: "num sli" }, pct(sli)), h("td", { class: "num" }, threshold ? pct(threshold.target, 2) : "–"),
    showBudget ? h("td", { class: "num budget" }, pct(left, 1)) : null);
}

export default function sloWidget(def) {
  const box = h("div", { class: "widget-body slo-widget" }, h("p", { class: "muted" }, "…"));
  if (!def.slo_id) return fill(box, h("p", { class: "muted" }, "No SLO chosen (slo_id)."));
  const showBudget = def.show_error_budget !== false;
  api(`/api/v1/slo/${encodeURIComponent(def.slo_id)}`).then(async ({ data: slo }) => {
    const windows = def.time_windows && def.time_windows.length ? def.time_windows : [slo.thresholds[0].timeframe];
    const rows = await Promise.all(windows.map((w) => row(slo, w, showBudget)));
    fill(box, def.title ? null : h("h3", { class: "slo-name" }, h("a", { href: `#/slo/${encodeURIComponent(slo.id)}` }, slo.name)),
      h("table", { class: "slo-windows" },
        h("tr", {}, h("th", {}, "window"), h("th", {}, "status"), h("th", { class: "num" }, "SLI"), h("th", { class: "num" }, "target"), showBudget ? h("th", { class: "num" }, "budget left") : null),
        rows));
  }).catch((e) => fill(box, failure(e)));
  return box;
}
