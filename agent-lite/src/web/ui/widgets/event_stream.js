// Event stream widget: the events of the range whose text, tags or source match its `query`
// (words and `tag:value` terms, all of them; `sources:x` as Datadog writes it).

import { h, failure, fill } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { nowSecs, rangeSecs } from "../lib/range.js";
import { eventList } from "../lib/lists.js";
import { substitute } from "../lib/dashquery.js";

export function matches(e, q) {
  const terms = String(q || "").split(/\s+/).filter((t) => t && t !== "*");
  const hay = [e.title, e.text, e.source_type_name, ...(e.tags || [])].join(" ").toLowerCase();
  return terms.every((t) => {
    const m = t.match(/^sources?:(.*)$/i);
    if (m) return String(e.source_type_name || "").toLowerCase() === m[1].toLowerCase();
    return hay.includes(t.toLowerCase());
  });
}

export default function eventStream(def, ctx) {
  const box = h("div", { class: "widget-body" }, "…");
  const q = substitute(def.query, ctx.vars);
  api(`/api/v1/events?start=${nowSecs() - rangeSecs()}&end=${nowSecs()}`)
    .then((ev) => fill(box, eventList(ev.events.filter((e) => matches(e, q)).slice(0, 25))))
    .catch((e) => fill(box, failure(e)));
  return box;
}
