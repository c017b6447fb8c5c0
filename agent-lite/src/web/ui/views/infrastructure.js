// Infrastructure: the seed's dashboard of the host and its containers.

import { h, panel, setView, failure, fill } from "../lib/dom.js";
import { api } from "../lib/api.js";
import { chartPanel } from "../lib/chart.js";
import { nowSecs, rangeSecs } from "../lib/range.js";
import { eventList } from "../lib/lists.js";

export default async function infrastructure() {
  const events = h("div", {}, "…");
  setView("Infrastructure",
    h("div", { class: "grid" },
      chartPanel("Host CPU: user vs system", "%", [{ q: "avg:system.cpu.user{*}", label: "user" }, { q: "avg:system.cpu.system{*}", label: "system" }], { thresholds: [{ value: 80, level: "critical" }] }),
      chartPanel("CPU saturation", "%", [{ q: "avg:system.cpu.iowait{*}", label: "iowait" }, { q: "avg:system.cpu.stolen{*}", label: "stolen" }, { q: "100 - avg:system.cpu.idle{*}", label: "busy" }], { thresholds: [{ value: 80, level: "critical" }], max: 100 }),
      chartPanel("Memory usage", "MiB", [{ q: "avg:system.mem.used{*}", label: "used" }, { q: "avg:system.mem.total{*}", label: "total" }, { q: "avg:system.mem.cached{*}", label: "cached" }]),
      chartPanel("Memory saturation", "% used", [{ q: "100 - 100 * avg:system.mem.pct_usable{*}", label: "used" }], { thresholds: [{ value: 80, level: "critical" }], max: 100 }),
      chartPanel("Disk usage per device", "%", ["100 * max:system.disk.in_use{*} by {device}"], { thresholds: [{ value: 95, level: "critical" }], max: 100 }),
      chartPanel("Load", "per core", [{ q: "avg:system.load.norm.1{*}", label: "1 min" }, { q: "avg:system.load.norm.5{*}", label: "5 min" }]),
      // Against each container's own CPU limit (container.cpu.limit, nanocores), so 80% means
      // 80% of what that container may use, whatever its number of CPUs.
      chartPanel("CPU per container", "% of its CPU limit", ["100 * avg:container.cpu.usage{*} by {container_name} / avg:container.cpu.limit{*} by {container_name}"], { thresholds: [{ value: 60, level: "warning" }, { value: 80, level: "critical" }], max: 100 }),
      chartPanel("CPU per container", "cores", ["avg:container.cpu.usage{*} by {container_name} / 1000000000"]),
      chartPanel("Container memory against its limit", "% of limit", ["100 * avg:container.memory.usage{*} by {container_name} / avg:container.memory.limit{*} by {container_name}"], { thresholds: [{ value: 80, level: "critical" }], max: 100 }),
      chartPanel("Container memory", "MiB", ["avg:container.memory.usage{*} by {container_name} / 1048576"]),
      chartPanel("Container restarts", "restarts", ["max:container.restarts{*} by {container_name}"]),
      panel("Event stream", null, events)));
  try {
    const ev = await api(`/api/v1/events?start=${nowSecs() - rangeSecs()}&end=${nowSecs()}`);
    fill(events, eventList(ev.events.slice(0, 25)));
  } catch (e) { fill(events, failure(e)); }
}
