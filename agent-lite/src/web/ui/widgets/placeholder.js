// A widget type the page does not draw: kept in the dashboard as it came, named here.

import { h } from "../lib/dom.js";

export default function placeholder(def) {
  return h("div", { class: "widget-body placeholder" }, h("p", { class: "muted" }, `Widget type "${def.type}" is not rendered by agent-lite; it is kept in the dashboard's JSON as it is.`));
}
