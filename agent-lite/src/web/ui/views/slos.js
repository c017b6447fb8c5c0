// SLOs: every SLO with its status, SLI, target, remaining error budget and burn-down (from
// /api/v1/slo and each SLO's /history, Datadog's shapes); one SLO with its thresholds, its
// burn-down over time, its monitors (the slo alerts on it, the monitors of a monitor SLO) and
// its service's failing requests' traces.

import { h, fmt, badge, panel, setView, failure, time } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { lineChart } from "../lib/chart.js";
import { nowSecs } from "../lib/range.js";

const SVG = "http://www.w3.org/2000/svg";
const TIMEFRAME_SECS = { "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400 };

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// The remaining budget over time as a sparkline: 100% at the top, 0 dashed (budget spent).
function burnDown(points) {
  const width = 320, height = 60;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "burn-down", role: "img", "data-points": points.length });
  if (!points.length) return chart;
  const t0 = points[0][0], t1 = points[points.length - 1][0];
  const low = Math.min(0, ...points.map((p) => p[1]));
  const x = (t) => ((t - t0) / Math.max(1, t1 - t0)) * width;
  const y = (v) => 2 + (1 - (v - low) / (100 - low || 1)) * (height - 4);
  chart.append(svg("line", { x1: 0, x2: width, y1: y(0), y2: y(0), class: "budget-zero" }));
  chart.append(svg("polyline", { points: points.map((p) => `${x(p[0])},${y(p[1])}`).join(" "), class: "budget-line" }));
  return chart;
}

// OK, Warn (under the warning), Breached (under the target), as Datadog colours an SLO.
export function status(sli, threshold) {
  if (sli === null || sli === undefined) return "No Data";
  if (sli < threshold.target) return "Breached";
  if (threshold.warning !== undefined && threshold.warning !== null && sli < threshold.warning) return "Warn";
  return "OK";
}

const stateClass = (state) => `slo-state ${state.replace(" ", "-").toLowerCase()}`;
const pct = (v, digits = 3) => (v === null || v === undefined ? "–" : `${Number(v).toFixed(digits)}%`);

// The SLO's history over its primary timeframe, up to now.
async function history(slo) {
  const to = nowSecs();
  const from = to - (TIMEFRAME_SECS[slo.timeframe || (slo.thresholds[0] || {}).timeframe] || TIMEFRAME_SECS["7d"]);
  const body = await api(`/api/v1/slo/${encodeURIComponent(slo.id)}/history?from_ts=${from}&to_ts=${to}`);
  return { ...body.data, from, to };
}

// The service an SLO is about: its `service:` tag, else the first `service:` of its queries.
function serviceOf(slo) {
  const tag = (slo.tags || []).find((t) => t.startsWith("service:"));
  if (tag) return tag.slice(8);
  const m = JSON.stringify(slo.query || slo.sli_specification || {}).match(/service:([\w.\-/]+)/);
  return m ? m[1] : null;
}

export async function slos() {
  let list;
  try { list = (await api("/api/v1/slo")).data; } catch (e) { return setView("SLOs", failure(e)); }
  if (!list.length) return setView("SLOs", h("p", { class: "muted" }, "No SLO yet: put Datadog SLO JSON in AGENT_LITE_SLOS_DIR or POST /api/v1/slo."));
  const rows = await Promise.all(list.map(async (slo) => {
    const threshold = slo.thresholds[0];
    let data = null, why = null;
    try { data = await history(slo); } catch (e) { why = e.message; }
    const sli = data ? data.overall.sli_value : null;
    const left = data ? data.overall.error_budget_remaining[threshold.timeframe] : null;
    const state = status(sli, threshold);
    return h("tr", { class: "click", "data-slo-id": slo.id, onclick: () => { location.hash = `#/slo/${encodeURIComponent(slo.id)}`; } },
      h("td", {}, h("span", { class: stateClass(state), title: why || state }, state)),
      h("td", {}, h("a", { href: `#/slo/${encodeURIComponent(slo.id)}` }, slo.name)),
      h("td", {}, slo.type),
      h("td", { class: "num sli" }, pct(sli)),
      h("td", { class: "num target" }, `${fmt(threshold.target, 3)}% · ${threshold.timeframe}`),
      h("td", { class: "num budget" }, pct(left, 1)),
      h("td", {}, data ? burnDown(data.agent_lite.burn_down[threshold.timeframe] || []) : null));
  }));
  setView("SLOs", h("section", { class: "panel" }, h("table", { id: "slo-list" },
    h("tr", {}, ["Status", "Name", "Type", "SLI", "Target", "Budget left", "Burn-down"].map((t, i) => h("th", { class: i >= 3 && i <= 5 ? "num" : null }, t))),
    rows)));
}

export async function slo(params, id) {
  let one, data;
  try {
    one = (await api(`/api/v1/slo/${encodeURIComponent(id)}`)).data;
    data = await history(one);
  } catch (e) { return setView(`SLO ${id}`, failure(e)); }
  const primary = one.thresholds[0];
  const sli = data.overall.sli_value;
  const state = status(sli, primary);
  const burn = (t) => data.agent_lite.burn_down[t.timeframe] || [];
  const thresholds = h("table", { id: "slo-thresholds" },
    h("tr", {}, h("th", {}, "timeframe"), h("th", { class: "num" }, "target"), h("th", { class: "num" }, "warning"), h("th", {}, "status"), h("th", { class: "num" }, "budget left")),
    one.thresholds.map((t) => {
      const s = status(sli, t);
      return h("tr", {}, h("td", {}, t.timeframe), h("td", { class: "num" }, pct(t.target, 3)), h("td", { class: "num" }, pct(t.warning, 3)),
        h("td", {}, h("span", { class: stateClass(s) }, s)), h("td", { class: "num budget" }, pct(data.overall.error_budget_remaining[t.timeframe], 1)));
    }));
  const chart = lineChart([{ display: `budget left (${primary.timeframe})`, pointlist: burn(primary).map(([t, v]) => [t * 1000, v]) }],
    { from: data.from, to: data.to, thresholds: [{ value: 0, level: "critical" }], yaxis: { max: 100 } });
  const monitors = h("div", {}, "…");
  const traces = h("div", {}, "…");
  const service = serviceOf(one);
  setView(one.name,
    h("p", { id: "slo-summary" }, h("span", { class: stateClass(state) }, state), " ",
      h("b", { class: "sli" }, `SLI ${pct(sli)}`), ` against ${pct(primary.target, 3)} over ${primary.timeframe} · `,
      `${fmt(data.agent_lite.good)} good of ${fmt(data.agent_lite.total)} ${data.agent_lite.unit} · ${one.type} SLO`),
    one.description ? h("p", { class: "muted" }, one.description) : null,
    h("div", { class: "grid" },
      panel("Error budget left", "%", chart),
      panel("Thresholds", null, thresholds),
      panel("Monitors", null, monitors),
      panel(service ? `Failing requests of ${service}` : "Failing requests", null, traces)));
  fillMonitors(monitors, [...(one.configured_alert_ids || []), ...(one.monitor_ids || [])]);
  fillTraces(traces, service);
}

// The slo alerts on this SLO and, for a monitor SLO, the monitors it measures, with their state.
async function fillMonitors(box, ids) {
  if (!ids.length) return box.replaceChildren(h("p", { class: "muted" }, "No monitor: a burn_rate(\"<slo id>\") or error_budget(\"<slo id>\") slo alert would appear here."));
  try {
    const all = Object.fromEntries((await api("/api/v1/monitor")).map((m) => [m.id, m]));
    box.replaceChildren(h("table", { id: "slo-monitors" },
      h("tr", {}, h("th", {}, "state"), h("th", {}, "monitor"), h("th", {}, "query")),
      [...new Set(ids)].map((mid) => {
        const m = all[mid];
        return h("tr", {}, h("td", {}, m ? badge(m.overall_state) : "–"),
          h("td", {}, h("a", { href: `#/monitor/${mid}` }, m ? m.name : `monitor ${mid}`)), h("td", {}, m ? h("code", {}, m.query) : "deleted"));
      })));
  } catch (e) { box.replaceChildren(failure(e)); }
}

// The traces of the service's failed requests among the recent traces, newest first.
async function fillTraces(box, service) {
  if (!service) return box.replaceChildren(h("p", { class: "muted" }, "The SLO names no service (no service: tag or query filter)."));
  const all = `#/traces?service=${encodeURIComponent(service)}&error=true`;
  try {
    const found = (await api(`/api/v0/traces?service=${encodeURIComponent(service)}&error=true&limit=10`)).traces;
    box.replaceChildren(found.length
      ? h("table", { id: "slo-traces" },
          h("tr", {}, h("th", {}, "time"), h("th", {}, "resource"), h("th", {}, "status"), h("th", { class: "num" }, "ms")),
          found.map((t) => h("tr", { class: "click", "data-trace-id": t.trace_id, onclick: () => { location.hash = `#/trace/${t.trace_id}`; } },
            h("td", {}, time(t.root.start / 1e9)), h("td", {}, t.root.resource),
            h("td", {}, h("span", { class: "badge Alert" }, t.root.meta["http.status_code"] || "error")), h("td", { class: "num" }, fmt(t.duration_ms)))))
      : h("p", { class: "muted" }, "No failing request among the recent traces."),
      h("p", {}, h("a", { id: "slo-failing-traces", href: all }, `Every failing trace of ${service}`)));
  } catch (e) { box.replaceChildren(failure(e)); }
}
