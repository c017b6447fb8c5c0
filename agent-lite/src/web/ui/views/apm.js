// APM: a service's requests, errors, latency and resources, from the trace metrics.

import { h, fmt, panel, setView, failure } from "../lib/dom.js";
import { api, query } from "../lib/api.js";
import { labDashboardBox } from "../lib/lab_dashboards.js";
import { nowSecs, rangeSecs } from "../lib/range.js";
import { dependencyPanels } from "./service_map.js";

// Services and operations from the trace metrics' own tags.
async function services() {
  const metrics = (await api(`/api/v1/metrics?from=${nowSecs() - rangeSecs()}`)).metrics || [];
  const ops = metrics.filter((m) => m.startsWith("trace.") && m.endsWith(".hits")).map((m) => m.slice(6, -5));
  const out = [];
  for (const op of ops) {
    try {
      const tags = (await api(`/api/v2/metrics/${encodeURIComponent(`trace.${op}.hits`)}/all-tags`)).data.attributes.tags;
      for (const t of tags) if (t.startsWith("service:")) out.push({ service: t.slice(8), op });
    } catch (_) { /* a metric gone since the listing */ }
  }
  return out;
}

export default async function apm(params) {
  const list = await services().catch(() => []);
  if (!list.length) return setView("APM", h("p", { class: "muted" }, "No trace metrics in this range yet: send traffic to a traced service."));
  // A service's entry operation first: the server span, as Datadog's service page shows it.
  const rank = (s) => (s.op === "http.server.request" ? 0 : /(^|\.)request$/.test(s.op) && !s.op.includes("client") ? 1 : 2);
  list.sort((a, b) => rank(a) - rank(b));
  const wanted = params.get("service") || "demo-service";
  const pick = list.find((s) => s.service === wanted && (!params.get("op") || s.op === params.get("op"))) || list.find((s) => s.service === wanted) || list[0];
  const scope = `service:${pick.service}`;
  const m = `trace.${pick.op}`;
  const select = h("select", { onchange: (e) => { const [s, o] = e.target.value.split("|"); location.hash = `#/apm?service=${encodeURIComponent(s)}&op=${encodeURIComponent(o)}`; } },
    list.map((s) => h("option", { value: `${s.service}|${s.op}`, ...(s === pick ? { selected: "" } : {}) }, `${s.service} · ${s.op}`)));
  const table = h("div", {}, "…");
  setView(`APM · ${pick.service}`,
    h("div", { class: "filters" }, "Service ", select),
    // The charts: the lab's APM service dashboard (compose/dashboards/apm-service.json, its
    // thresholds in its markers) with `$service` set to the service picked here.
    pick.op === "http.server.request" ? null : h("p", { class: "muted" }, `The service dashboard reads trace.http.server.request; ${pick.service} reports ${m}.`),
    labDashboardBox("apm-service.json", { service: pick.service }, () => apm(params)),
    h("div", { class: "grid" },
      panel("Resources", null, table),
      ...dependencyPanels(pick.service, params)));
  try {
    const [hits, errors, p95] = await Promise.all([
      query(`sum:${m}.hits{${scope}} by {resource_name}.as_count()`),
      query(`sum:${m}.errors{${scope}} by {resource_name}.as_count()`),
      query(`p95:${m}{${scope}} by {resource_name}.rollup(avg, ${rangeSecs()})`),
    ]);
    const total = (s) => (s.pointlist || []).reduce((n, p) => n + (p[1] || 0), 0);
    const byRes = (ss) => Object.fromEntries(ss.map((s) => [s.tag_set.join(","), s]));
    const e = byRes(errors), p = byRes(p95);
    const rows = hits.map((s) => {
      const key = s.tag_set.join(",");
      const n = total(s), err = e[key] ? total(e[key]) : 0;
      const last = p[key] ? (p[key].pointlist || []).filter((x) => x[1] !== null).pop() : null;
      return { key, name: key.replace("resource_name:", ""), n, err, p95: last ? last[1] * 1000 : null };
    }).sort((a, b) => b.n - a.n);
    table.replaceChildren(h("table", {},
      h("tr", {}, h("th", {}, "resource"), h("th", { class: "num" }, "requests"), h("th", { class: "num" }, "errors"), h("th", { class: "num" }, "error rate %"), h("th", { class: "num" }, "p95 ms")),
      rows.map((r) => h("tr", { class: "click", onclick: () => { location.hash = `#/traces?service=${encodeURIComponent(pick.service)}&resource=${encodeURIComponent(r.name)}`; } },
        h("td", {}, r.name), h("td", { class: "num" }, fmt(r.n)), h("td", { class: "num" }, fmt(r.err)),
        h("td", { class: "num" }, r.n ? fmt((100 * r.err) / r.n) : "–"), h("td", { class: "num" }, fmt(r.p95))))));
  } catch (err) { table.replaceChildren(failure(err)); }
}
