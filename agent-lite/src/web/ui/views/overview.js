// Overview: monitors, latest events, the host and the service at a glance.

import { h, panel, setView, failure, fill } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { chartPanel } from "../lib/chart.js";
import { nowSecs, rangeSecs } from "../lib/range.js";
import { monitorTable, eventList } from "../lib/lists.js";

export default async function overview() {
  const monitors = h("div", {}, "…");
  const events = h("div", {}, "…");
  setView("Overview",
    h("div", { class: "grid" },
      panel("Monitors", null, monitors),
      panel("Latest events", null, events),
      chartPanel("Host CPU user", "%", ["avg:system.cpu.user{*} by {host}"], { thresholds: [{ value: 60, level: "warning" }, { value: 80, level: "critical" }] }),
      chartPanel("Requests", "req/s", ["sum:trace.http.server.request.hits{*} by {service}.as_rate()"]),
      chartPanel("Error rate", "%", [{ q: "100 * sum:trace.http.server.request.errors{*}.as_count() / sum:trace.http.server.request.hits{*}.as_count()", label: "error rate" }], { thresholds: [{ value: 5, level: "critical" }] }),
      chartPanel("Latency p95", "ms", [{ q: "p95:trace.http.server.request{*}", label: "p95" }], { scale: 1000 })));
  try {
    fill(monitors, monitorTable(await api("/api/v1/monitor")));
  } catch (e) { fill(monitors, failure(e)); }
  try {
    const ev = await api(`/api/v1/events?start=${nowSecs() - rangeSecs()}&end=${nowSecs()}`);
    fill(events, eventList(ev.events.slice(0, 10)));
  } catch (e) { fill(events, failure(e)); }
}
