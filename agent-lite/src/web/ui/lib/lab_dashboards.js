// The lab's own dashboards (compose/dashboards/*.json, Datadog dashboard JSON) drawn inside
// the page's views: the Infrastructure view is infrastructure.json and the APM service view
// is apm-service.json, so their thresholds live in the JSON's markers, as in Datadog, and
// nowhere in this code.
//
// agent-lite gives a dashboard file without an `id` a stable one from its file name
// (dashboards/id.rs `stable`: FNV-1a, then 9 letters or digits as abc-def-ghi); the same
// computation here finds a file's dashboard once AGENT_LITE_DASHBOARDS_DIR is loaded.

import { h, fill, failure } from "./dom.js";
import { api } from "./api.js";
import { variables } from "./template_vars.js";
import { renderWidgets } from "../widgets/index.js";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
const MASK = (1n << 64n) - 1n;

export function fileDashboardId(stem) {
  let hash = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(stem)) {
    hash ^= BigInt(b);
    hash = (hash * 0x100000001b3n) & MASK;
  }
  let out = "";
  for (let i = 0; i < 9; i++) {
    if (i === 3 || i === 6) out += "-";
    out += ALPHABET[Number(hash % 36n)];
    hash /= 36n;
  }
  return out;
}

// The dashboard of compose/dashboards/`file`, or null when agent-lite has not loaded it.
export async function labDashboard(file) {
  try {
    return await api(`/api/v1/dashboard/${fileDashboardId(file.replace(/\.json$/, ""))}`);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

// What a view shows in place of a lab dashboard agent-lite has not loaded: how to load it.
export function notLoaded(file) {
  return h("section", { class: "panel not-loaded", id: "not-loaded" },
    h("h2", {}, `compose/dashboards/${file} is not loaded`),
    h("p", {}, "This view draws the lab's dashboard from its Datadog JSON, and agent-lite has not loaded it: ",
      "AGENT_LITE_DASHBOARDS_DIR is unset, or that folder has no ", h("code", {}, file), "."),
    h("p", {}, "Start agent-lite with ", h("code", {}, "AGENT_LITE_DASHBOARDS_DIR=compose/dashboards"),
      " (docker compose sets it), or ", h("code", {}, "--dashboards-dir compose/dashboards"),
      ". Its files load at start and again within 2 s of a change; a refused file is listed in ",
      h("a", { href: "/status" }, "/status"), ". To look at the JSON without the folder, import it on the ",
      h("a", { href: "#/dashboards" }, "Dashboards"), " page."));
}

// A view's box holding the dashboard of compose/dashboards/`file`: its template variables
// (`fixed` ones set by the view, the others in a bar) and its widgets, or how to load it.
export function labDashboardBox(file, fixed, rerender) {
  const box = h("div", { class: "lab-dashboard", "data-file": file }, h("p", { class: "muted" }, "…"));
  labDashboard(file).then((dash) => {
    if (!dash) return fill(box, notLoaded(file));
    const { vars, bar } = variables(dash, rerender, fixed);
    fill(box, h("p", { class: "muted" }, `${dash.title} (compose/dashboards/${file}): `,
      h("a", { class: "open-dashboard", href: `#/dashboard/${dash.id}` }, "open it as a dashboard"), " to export it or edit a copy."),
    bar, renderWidgets(dash.widgets, { vars }));
  }).catch((e) => fill(box, failure(e)));
  return box;
}
