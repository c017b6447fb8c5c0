// Tables and lists more than one view shows: the monitors and the event stream.

import { h, badge, dateTime } from "./dom.js";

export function monitorTable(list) {
  if (!list.length) return h("p", { class: "muted" }, "No monitor loaded (AGENT_LITE_MONITORS_DIR).");
  const order = { Alert: 0, Warn: 1, "No Data": 2, OK: 3 };
  return h("table", { id: "monitor-list" }, h("tr", {}, h("th", {}, "state"), h("th", {}, "monitor"), h("th", {}, "groups")),
    list.slice().sort((a, b) => order[a.overall_state] - order[b.overall_state] || a.name.localeCompare(b.name)).map((m) => h("tr", { class: "click", onclick: () => { location.hash = `#/monitor/${m.id}`; } },
      h("td", {}, badge(m.overall_state)), h("td", {}, m.name), h("td", { class: "muted" },
        Object.values(m.state.groups).filter((g) => g.status !== "OK").map((g) => `${g.name}: ${g.status}`).join(", ")))));
}

export function eventList(events) {
  if (!events.length) return h("p", { class: "muted" }, "No event in this range.");
  return h("ul", { class: "events" }, events.map((e) => h("li", { class: `ev-${e.alert_type}` },
    h("div", {}, h("b", {}, e.title), h("span", { class: "muted" }, ` · ${dateTime(e.date_happened)} · ${e.source_type_name}`)),
    e.text ? h("div", { class: "muted" }, e.text) : null,
    e.tags && e.tags.length ? h("div", { class: "muted" }, e.tags.join(" ")) : null)));
}
