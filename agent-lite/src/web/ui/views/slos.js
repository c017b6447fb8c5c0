// The SLO view: every SLO with its status, SLI, target, remaining error budget and burn-down
// chart (from /api/v1/slo and each SLO's /history); from an SLO, its slo alert monitors and
// its service's failing traces. An ES module for the page's split into views: the page's
// helpers (api, h, setView, failure) come in, so the module owns no global state.
// Not wired into index.html yet: that waits for the split of app.js (issue 18) on main.

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// The remaining budget over time, 100% at the top, 0 dashed (budget spent).
function burnDown(points) {
  const width = 320, height = 80;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "burn-down", role: "img" });
  if (!points.length) return chart;
  const t0 = points[0][0], t1 = points[points.length - 1][0] || t0 + 1;
  const low = Math.min(0, ...points.map((p) => p[1]));
  const x = (t) => ((t - t0) / Math.max(1, t1 - t0)) * width;
  const y = (v) => height - ((v - low) / (100 - low)) * height;
  chart.append(svg("line", { x1: 0, x2: width, y1: y(0), y2: y(0), class: "budget-zero", "stroke-dasharray": "4 3" }));
  chart.append(svg("polyline", { points: points.map((p) => `${x(p[0])},${y(p[1])}`).join(" "), fill: "none", class: "budget-line" }));
  return chart;
}

// OK, Warn (under the warning), Breached (under the target), as Datadog colours an SLO.
export function status(sli, threshold) {
  if (sli === null || sli === undefined) return "No Data";
  if (sli < threshold.target) return "Breached";
  if (threshold.warning !== undefined && sli < threshold.warning) return "Warn";
  return "OK";
}

const fmt = (v, digits = 3) => (v === null || v === undefined ? "-" : Number(v).toFixed(digits));

async function history(api, slo) {
  const now = Math.floor(Date.now() / 1000);
  const spans = { "7d": 7 * 86400, "30d": 30 * 86400, "90d": 90 * 86400 };
  const from = now - (spans[slo.timeframe] || 7 * 86400);
  return (await api(`/api/v1/slo/${encodeURIComponent(slo.id)}/history?from_ts=${from}&to_ts=${now}`)).data;
}

// The list: one row per SLO.
export async function slosView({ api, h, setView, failure }) {
  let list;
  try { list = (await api("/api/v1/slo")).data; } catch (e) { return setView("SLOs", failure(e)); }
  const rows = await Promise.all(list.map(async (slo) => {
    let data = null;
    try { data = await history(api, slo); } catch (e) { /* shown as no data */ }
    const threshold = slo.thresholds[0];
    const sli = data ? data.overall.sli_value : null;
    const left = data ? data.overall.error_budget_remaining[threshold.timeframe] : null;
    const state = status(sli, threshold);
    return h("tr", { class: "click", "data-slo-id": slo.id, onclick: () => { location.hash = `#/slo/${slo.id}`; } },
      h("td", { class: `state ${state.replace(" ", "-").toLowerCase()}` }, state),
      h("td", {}, slo.name),
      h("td", {}, slo.type),
      h("td", { class: "num sli" }, fmt(sli)),
      h("td", { class: "num" }, `${fmt(threshold.target, 2)}% / ${threshold.timeframe}`),
      h("td", { class: "num budget" }, `${fmt(left, 1)}%`),
      h("td", {}, data ? burnDown(data.agent_lite.burn_down[threshold.timeframe] || []) : ""));
  }));
  setView("SLOs", list.length
    ? h("table", { class: "slos" },
        h("thead", {}, h("tr", {}, ...["Status", "Name", "Type", "SLI %", "Target", "Budget left", "Burn-down"].map((t) => h("th", {}, t)))),
        h("tbody", {}, ...rows))
    : h("p", {}, "No SLO yet: put Datadog SLO JSON in AGENT_LITE_SLOS_DIR or POST /api/v1/slo."));
}

// One SLO: its numbers, its burn-down, its monitors and its service's failing traces.
export async function sloView(id, { api, h, setView, failure }) {
  let slo, data;
  try {
    slo = (await api(`/api/v1/slo/${encodeURIComponent(id)}`)).data;
    data = await history(api, slo);
  } catch (e) { return setView(`SLO ${id}`, failure(e)); }
  const service = (slo.tags || []).find((t) => t.startsWith("service:"));
  const thresholds = slo.thresholds.map((t) => h("tr", {},
    h("td", {}, t.timeframe), h("td", { class: "num" }, fmt(t.target, 2)),
    h("td", { class: "num" }, fmt(t.warning, 2)),
    h("td", { class: "num" }, `${fmt(data.overall.error_budget_remaining[t.timeframe], 1)}%`),
    h("td", {}, burnDown(data.agent_lite.burn_down[t.timeframe] || []))));
  setView(slo.name,
    h("p", {}, `SLI ${fmt(data.overall.sli_value)}% — ${data.agent_lite.good} good of ${data.agent_lite.total} ${data.agent_lite.unit}`),
    h("table", { class: "slo-thresholds" },
      h("thead", {}, h("tr", {}, ...["Timeframe", "Target", "Warning", "Budget left", "Burn-down"].map((t) => h("th", {}, t)))),
      h("tbody", {}, ...thresholds)),
    h("h3", {}, "Monitors"),
    h("ul", {}, ...[...(slo.configured_alert_ids || []), ...(slo.monitor_ids || [])].map((m) =>
      h("li", {}, h("a", { href: `#/monitor/${m}` }, `monitor ${m}`)))),
    service
      ? h("p", {}, h("a", { href: `#/traces?service=${encodeURIComponent(service.slice(8))}&error=true` }, `Failing requests of ${service.slice(8)}`))
      : "");
}
