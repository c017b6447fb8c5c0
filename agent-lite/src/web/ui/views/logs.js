// Log search with facets, linked to traces.

import { h, time, panel, setView } from "../lib/dom.js";
import { api, query } from "../lib/api.js";
import { nowSecs, rangeSecs } from "../lib/range.js";

export default async function logs(params) {
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); const f = new FormData(e.target); const q = new URLSearchParams(); for (const [k, v] of f) if (v) q.set(k, v); location.hash = `#/logs?${q}`; } },
    h("input", { name: "query", placeholder: "search text", value: params.get("query") || "" }),
    h("input", { name: "trace_id", placeholder: "trace id", value: params.get("trace_id") || "" }),
    h("button", { type: "submit" }, "Search"));
  const facets = h("section", { class: "panel facets" }, "…");
  const list = h("section", { class: "panel" }, "…");
  setView("Logs", form, h("div", { class: "logs-layout" }, facets, list));
  let body;
  const q = new URLSearchParams(params);
  q.set("from", nowSecs() - rangeSecs());
  q.set("limit", "300");
  try { body = await api(`/api/v0/logs?${q}`); } catch (e) {
    facets.replaceChildren("–");
    return list.replaceChildren(h("p", { class: "muted" }, "No logs: ", e.message));
  }
  const link = (k, v) => { const p = new URLSearchParams(params); p.set(k, v); return `#/logs?${p}`; };
  facets.replaceChildren(...Object.entries(body.facets || {}).map(([name, counts]) => h("div", {}, h("h2", {}, name),
    h("ul", {}, Object.entries(counts).map(([v, n]) => h("li", {}, h("a", { href: link(name, v) }, v), ` ${n}`))))));
  if (!body.logs.length) return list.replaceChildren(h("p", { class: "muted" }, "No log line matches."));
  list.replaceChildren(h("table", { id: "log-list" },
    h("tr", {}, h("th", {}, "time"), h("th", {}, "status"), h("th", {}, "service"), h("th", {}, "message"), h("th", {}, "trace")),
    body.logs.map((l) => h("tr", {},
      h("td", {}, time(l.timestamp)), h("td", { class: `lvl-${l.status}` }, l.status), h("td", {}, l.service || ""),
      h("td", {}, l.message), h("td", {}, l.trace_id ? h("a", { class: "trace-link", href: `#/trace/${l.trace_id}` }, "trace") : "")))));
}
