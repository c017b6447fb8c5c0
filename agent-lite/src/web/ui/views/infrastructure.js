// Infrastructure: the seed's dashboard of the host and its containers, drawn from the lab's
// Datadog JSON (compose/dashboards/infrastructure.json) through the widget modules; its
// thresholds are that file's markers, the levels of compose/monitors/.

import { setView } from "../lib/dom.js";
import { labDashboardBox } from "../lib/lab_dashboards.js";

export default async function infrastructure(params) {
  setView("Infrastructure", labDashboardBox("infrastructure.json", {}, () => infrastructure(params)));
}
