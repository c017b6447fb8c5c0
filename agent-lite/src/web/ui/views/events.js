// The event stream, filtered.

import { h, panel, setView, failure } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { nowSecs, rangeSecs } from "../lib/range.js";
import { eventList } from "../lib/lists.js";

export default async function events(params) {
  const filter = params.get("q") || "";
  const form = h("form", { class: "filters", onsubmit: (e) => { e.preventDefault(); location.hash = `#/events?q=${encodeURIComponent(new FormData(e.target).get("q") || "")}`; } },
    h("input", { name: "q", placeholder: "filter: text, tag or source", value: filter }), h("button", { type: "submit" }, "Filter"));
  try {
    const ev = (await api(`/api/v1/events?start=${nowSecs() - rangeSecs()}&end=${nowSecs()}`)).events;
    const f = filter.toLowerCase();
    const shown = f ? ev.filter((e) => [e.title, e.text, e.source_type_name, ...(e.tags || [])].join(" ").toLowerCase().includes(f)) : ev;
    setView("Events", form, h("section", { class: "panel" }, eventList(shown)));
  } catch (e) { setView("Events", form, failure(e)); }
}
