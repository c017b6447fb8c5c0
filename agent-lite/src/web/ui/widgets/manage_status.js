// Monitor summary widget (`manage_status`): the monitors matching its `query` (name words,
// `tag:x`, `status:alert`), counted by state and listed.

import { h, failure, fill, badge } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { substitute } from "../lib/dashquery.js";

function keep(m, q) {
  return String(q || "").split(/\s+/).filter((t) => t && t !== "*").every((t) => {
    const [k, ...rest] = t.split(":");
    const v = rest.join(":").toLowerCase();
    if (rest.length && k === "status") return m.overall_state.toLowerCase().replace(" ", "") === v.replace(" ", "");
    if (rest.length && k === "tag") return (m.tags || []).some((x) => x.toLowerCase() === v.replace(/^"|"$/g, ""));
    if (rest.length && k === "type") return m.type.toLowerCase().includes(v);
    return m.name.toLowerCase().includes(t.toLowerCase()) || (m.tags || []).includes(t);
  });
}

export default function manageStatus(def, ctx) {
  const box = h("div", { class: "widget-body" }, "…");
  api("/api/v1/monitor").then((list) => {
    const shown = list.filter((m) => keep(m, substitute(def.query, ctx.vars)));
    const counts = {};
    for (const m of shown) counts[m.overall_state] = (counts[m.overall_state] || 0) + 1;
    fill(box, h("div", { class: "kpis" }, ["Alert", "Warn", "No Data", "OK"].map((s) => h("div", { class: "kpi" }, h("b", {}, counts[s] || 0), badge(s)))),
      def.summary_type === "groups" || def.summary_type === "combined" || !def.summary_type || def.summary_type === "monitors"
        ? h("table", { class: "monitor-summary" }, shown.map((m) => h("tr", { class: "click", onclick: () => { location.hash = `#/monitor/${m.id}`; } }, h("td", {}, badge(m.overall_state)), h("td", {}, m.name))))
        : null);
  }).catch((e) => fill(box, failure(e)));
  return box;
}
