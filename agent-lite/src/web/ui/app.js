// agent-lite's page: every view reads agent-lite's own JSON API (the one tests and the
// harness use) and draws it; nothing is computed here that the API already computes.
// No framework and no build step: plain ES modules (one per view, lib/ for what they share),
// served from inside the binary, so the page works offline.

import { setView, failure } from "./lib/dom.js";
import { fitRange } from "./lib/range.js";
import overview from "./views/overview.js";
import infrastructure from "./views/infrastructure.js";
import apm from "./views/apm.js";
import traces from "./views/traces.js";
import trace from "./views/trace.js";
import logs from "./views/logs.js";
import runtime from "./views/runtime.js";
import { monitors, monitor } from "./views/monitors.js";
import events from "./views/events.js";
import { dashboards, dashboard } from "./views/dashboards.js";
import serviceMap from "./views/service_map.js";
import { slos, slo } from "./views/slos.js";
import profiles from "./views/profiles.js";

// `#/name/arg?params` → views[name](params, arg). `parent` keeps a detail page's nav entry lit.
const views = { overview, infrastructure, apm, service_map: serviceMap, traces, trace, profiles, logs, runtime, monitors, monitor, slos, slo, events, dashboards, dashboard };
const parent = { trace: "traces", monitor: "monitors", slo: "slos", dashboard: "dashboards" };

const $range = document.getElementById("range");
const $live = document.getElementById("live");

async function route() {
  const hash = location.hash.replace(/^#\/?/, "") || "overview";
  const [path, qs] = hash.split("?");
  const [name, ...rest] = path.split("/");
  const arg = rest.length ? rest.join("/") : undefined;
  const params = new URLSearchParams(qs || "");
  for (const a of document.querySelectorAll("#nav a")) {
    const target = a.getAttribute("href").slice(2);
    a.classList.toggle("active", target === name || parent[name] === target);
  }
  await fitRange();
  const view = views[name] || views.overview;
  try {
    await view(params, arg && decodeURIComponent(rest[0]), rest.map(decodeURIComponent));
  } catch (e) { setView("Error", failure(e)); }
}

window.addEventListener("hashchange", route);
$range.addEventListener("change", route);
setInterval(() => {
  // Live refresh, except on pages someone is reading in detail or editing (a flame graph
  // zoomed in is read in detail).
  const hash = location.hash;
  if ($live.checked && !hash.startsWith("#/trace/") && !hash.startsWith("#/profiles") && !document.activeElement.matches("input, select, textarea") && !document.querySelector("#widget-editor > *")) route();
}, 10000);
route();
