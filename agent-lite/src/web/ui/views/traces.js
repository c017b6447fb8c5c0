// Trace search.

import { h, fmt, time, badge, panel, setView, failure } from "../lib/dom.js";
import { api } from "../lib/api.js";

export default async function traces(params) {
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); const f = new FormData(e.target); const q = new URLSearchParams(); for (const [k, v] of f) if (v) q.set(k, v); location.hash = `#/traces?${q}`; } },
    h("input", { name: "service", placeholder: "service", value: params.get("service") || "" }),
    h("input", { name: "resource", placeholder: "resource (GET /slow)", value: params.get("resource") || "" }),
    h("input", { name: "status", placeholder: "status", size: 5, value: params.get("status") || "" }),
    h("select", { name: "error" }, h("option", { value: "" }, "all"), h("option", { value: "true", ...(params.get("error") === "true" ? { selected: "" } : {}) }, "errors only"), h("option", { value: "false", ...(params.get("error") === "false" ? { selected: "" } : {}) }, "no errors")),
    h("input", { name: "min_duration_ms", placeholder: "min ms", size: 6, value: params.get("min_duration_ms") || "" }),
    h("button", { type: "submit" }, "Search"));
  const list = h("div", {}, "…");
  setView("Traces", form, h("section", { class: "panel" }, list));
  try {
    const q = new URLSearchParams(params);
    q.set("limit", "200");
    const found = (await api(`/api/v0/traces?${q}`)).traces;
    if (!found.length) return list.replaceChildren(h("p", { class: "muted" }, "No trace matches."));
    list.replaceChildren(h("table", { id: "trace-list" },
      h("tr", {}, h("th", {}, "time"), h("th", {}, "service"), h("th", {}, "resource"), h("th", {}, "status"), h("th", { class: "num" }, "duration ms"), h("th", { class: "num" }, "spans"), h("th", {}, "trace id")),
      found.map((t) => h("tr", { class: "click", "data-trace-id": t.trace_id, onclick: () => { location.hash = `#/trace/${t.trace_id}`; } },
        h("td", {}, time(t.root.start / 1e9)), h("td", {}, t.root.service), h("td", {}, t.root.resource),
        h("td", {}, t.error ? h("span", { class: "badge Alert" }, t.root.meta["http.status_code"] || "error") : t.root.meta["http.status_code"] || ""),
        h("td", { class: "num" }, fmt(t.duration_ms)), h("td", { class: "num" }, t.span_count), h("td", {}, h("a", { href: `#/trace/${t.trace_id}` }, t.trace_id))))));
  } catch (e) { list.replaceChildren(failure(e)); }
}
