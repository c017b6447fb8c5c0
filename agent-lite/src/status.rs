//! agent-lite's status, as `agent status` shows the Agent's: listeners, counters, store sizes.
//! The same counters are written to the store as `datadog.agent_lite.*` gauges.

use serde_json::json;

use crate::state::{now_secs, Shared};
use crate::store::SeriesKey;

pub fn snapshot(shared: &Shared) -> serde_json::Value {
    let (series, refused_series, refused_points) = {
        let store = shared.store();
        (
            store.series_count(),
            store.refused_series,
            store.refused_points,
        )
    };
    let (traces, spans, evicted) = {
        let t = shared.traces();
        (t.len(), t.span_count(), t.evicted_traces)
    };
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": shared.hostname,
        "uptime_secs": shared.started.elapsed().as_secs(),
        "counters": shared.counters.snapshot(),
        "store": {"series": series, "refused_series": refused_series, "refused_points": refused_points},
        "traces": {"kept": traces, "spans": spans, "evicted": evicted},
        "events": shared.events().len(),
    })
}

/// Writes the counters as `datadog.agent_lite.<name>` gauges (running totals).
pub fn record_own_metrics(shared: &Shared) {
    let now = now_secs();
    let counters = shared.counters.snapshot();
    let host = shared.host_tag();
    let mut store = shared.store();
    for (name, value) in counters {
        store.set_gauge(
            SeriesKey::new(&format!("datadog.agent_lite.{name}"), vec![host.clone()]),
            now,
            value as f64,
        );
    }
    let (series, refused) = (store.series_count(), store.refused_series);
    store.set_gauge(
        SeriesKey::new("datadog.agent_lite.store.series", vec![host.clone()]),
        now,
        series as f64,
    );
    store.set_gauge(
        SeriesKey::new("datadog.agent_lite.store.refused_series", vec![host]),
        now,
        refused as f64,
    );
}

/// Prints a status snapshot for people.
pub fn print(v: &serde_json::Value) {
    println!(
        "agent-lite {} on {}",
        v["version"].as_str().unwrap_or("?"),
        v["hostname"].as_str().unwrap_or("?")
    );
    println!("  uptime: {} s", v["uptime_secs"]);
    println!(
        "  store: {} series ({} refused over the cap)",
        v["store"]["series"], v["store"]["refused_series"]
    );
    println!(
        "  traces kept: {} ({} spans, {} evicted)",
        v["traces"]["kept"], v["traces"]["spans"], v["traces"]["evicted"]
    );
    println!("  events: {}", v["events"]);
    println!("  counters:");
    if let Some(map) = v["counters"].as_object() {
        for (k, n) in map {
            println!("    {k}: {n}");
        }
    }
}
