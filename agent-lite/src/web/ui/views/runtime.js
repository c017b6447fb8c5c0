// A service's runtime metrics.

import { h, time, setView } from "../lib/dom.js";
import { chartPanel } from "../lib/chart.js";

export default async function runtime(params) {
  const service = params.get("service") || "demo-service";
  const s = `service:${service}`;
  setView(`Runtime metrics · ${service}`,
    h("div", { class: "grid" },
      chartPanel("CPU", "%", [{ q: `avg:runtime.rust.cpu.percent{${s}}`, label: "process CPU" }]),
      chartPanel("CPU time", "s per s", [{ q: `avg:runtime.rust.cpu.time.user{${s}}`, label: "user" }, { q: `avg:runtime.rust.cpu.time.sys{${s}}`, label: "system" }]),
      chartPanel("Memory", "MiB", [{ q: `avg:runtime.rust.mem.rss{${s}} / 1048576`, label: "RSS" }, { q: `avg:runtime.rust.mem.allocated{${s}} / 1048576`, label: "allocated" }, { q: `avg:runtime.rust.mem.resident{${s}} / 1048576`, label: "allocator resident" }]),
      chartPanel("Threads and file descriptors", "count", [{ q: `avg:runtime.rust.thread_count{${s}}`, label: "threads" }, { q: `avg:runtime.rust.fd_count{${s}}`, label: "fds" }]),
      chartPanel("Context switches", "per s", [{ q: `avg:runtime.rust.cpu.ctx_switch.voluntary{${s}}`, label: "voluntary" }, { q: `avg:runtime.rust.cpu.ctx_switch.involuntary{${s}}`, label: "involuntary" }]),
      chartPanel("Tokio", "count", [{ q: `avg:runtime.rust.tokio.workers{${s}}`, label: "workers" }, { q: `avg:runtime.rust.tokio.alive_tasks{${s}}`, label: "alive tasks" }, { q: `avg:runtime.rust.tokio.global_queue_depth{${s}}`, label: "queue depth" }]),
      chartPanel("Tokio busy ratio", "%", [{ q: `100 * avg:runtime.rust.tokio.busy_ratio{${s}}`, label: "busy" }], { max: 100 })));
}
