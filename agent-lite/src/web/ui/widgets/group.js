// Group widget: a title over its own widgets, drawn by the same renderer as a dashboard's
// (`ctx.renderWidget`, passed in by widgets/index.js so this module does not import it back).

import { h } from "../lib/dom.js";

export default function group(def, ctx) {
  return h("div", { class: "widget-body grid group-body" }, (def.widgets || []).map((w) => ctx.renderWidget(w, ctx)));
}
