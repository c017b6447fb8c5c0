// Monitors: the list, and one monitor with its groups and transitions.

import { h, fmt, time, dateTime, badge, panel, setView, failure } from "../lib/dom.js";
import { api, query } from "../lib/api.js";
import { chartPanel } from "../lib/chart.js";
import { monitorTable } from "../lib/lists.js";

export async function monitors() {
  try { setView("Monitors", h("section", { class: "panel" }, monitorTable(await api("/api/v1/monitor")))); } catch (e) { setView("Monitors", failure(e)); }
}

export async function monitor(params, id) {
  let m, history;
  try {
    [m, history] = await Promise.all([api(`/api/v1/monitor/${id}`), api(`/api/v0/monitors/${id}/history`)]);
  } catch (e) { return setView(`Monitor ${id}`, failure(e)); }
  const th = m.options.thresholds || {};
  const lines = [{ value: th.critical, level: "critical" }, { value: th.warning, level: "warning" }];
  const groups = Object.values(m.state.groups);
  setView(m.name,
    h("p", {}, badge(m.overall_state), " ", h("code", {}, m.query)),
    h("div", { class: "grid" },
      chartPanel("Evaluated series", `${m.agent_lite.comparator} ${th.critical}`, [m.agent_lite.expression], { thresholds: lines, wide: true }),
      panel("Groups", null, groups.length ? h("table", {}, h("tr", {}, h("th", {}, "group"), h("th", {}, "state"), h("th", { class: "num" }, "last value"), h("th", {}, "since")),
        groups.map((g) => h("tr", {}, h("td", {}, g.name), h("td", {}, badge(g.status)), h("td", { class: "num" }, fmt(g.last_value, 4)), h("td", {}, dateTime(g.since))))) : h("p", { class: "muted" }, "Not evaluated yet.")),
      panel("Transitions", null, history.transitions.length ? h("table", { id: "transitions" }, h("tr", {}, h("th", {}, "time"), h("th", {}, "group"), h("th", {}, "transition"), h("th", { class: "num" }, "value")),
        history.transitions.slice().reverse().map((t) => h("tr", {}, h("td", {}, dateTime(t.ts)), h("td", {}, t.group), h("td", {}, badge(t.from), " → ", badge(t.to)), h("td", { class: "num" }, fmt(t.value, 4))))) : h("p", { class: "muted" }, "No transition yet.")),
      panel("Definition", null, h("pre", {}, JSON.stringify({ name: m.name, type: m.type, query: m.query, message: m.message, tags: m.tags, priority: m.priority, options: m.options }, null, 2)))));
}
