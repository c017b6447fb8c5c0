// One module per widget type; `renderWidget` frames a widget with its title and picks its
// module by `definition.type` (a group draws its own widgets through it).

import { h } from "../lib/dom.js";
import timeseries from "./timeseries.js";
import queryValue from "./query_value.js";
import toplist from "./toplist.js";
import eventStream from "./event_stream.js";
import note from "./note.js";
import manageStatus from "./manage_status.js";
import slo from "./slo.js";
import group from "./group.js";
import placeholder from "./placeholder.js";

const RENDER = { timeseries, query_value: queryValue, toplist, event_stream: eventStream, note, manage_status: manageStatus, slo, group };

// The widget types the builder offers, in its menu's order.
export const BUILDABLE = ["timeseries", "query_value", "toplist", "event_stream", "note", "manage_status", "slo", "group"];

export function renderWidget(widget, ctx, tools) {
  const def = (widget && widget.definition) || {};
  const type = String(def.type || "");
  const render = RENDER[type] || placeholder;
  const title = def.title || (type === "note" || type === "slo" ? null : type);
  const wide = type === "group" || type === "event_stream" || (widget.layout && widget.layout.width >= 8);
  return h("section", { class: `panel widget w-${type.replace(/[^a-z_]/g, "")}${wide ? " wide" : ""}`, "data-widget-type": type, "data-widget-id": widget.id ?? "" },
    title || tools ? h("h2", {}, title || "", tools || null) : null, render(def, { ...ctx, renderWidget }));
}

// A dashboard's widgets as the grid the page lays them in; `tools(i)` adds the builder's
// buttons to widget i.
export function renderWidgets(widgets, ctx, tools) {
  return h("div", { class: "grid dashboard", id: "dashboard-widgets" }, (widgets || []).map((w, i) => renderWidget(w, ctx, tools ? tools(i) : null)));
}
