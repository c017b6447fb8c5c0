//! agent-lite's status, as `agent status` shows the Agent's: listeners, counters, store sizes.
//! The same counters are written to the store as `datadog.agent_lite.*` gauges.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::apm::trace_store::SharedTraces;
use crate::clock::now_secs;
use crate::collectors::health::CollectorsHealth;
use crate::counters::Counters;
use crate::dashboards::registry::SharedDashboards;
use crate::hostname::Hostname;
use crate::monitors::notify::Deliveries;
use crate::monitors::registry::SharedRegistry;
use crate::slos::registry::SharedSlos;
use crate::store::events::SharedEvents;
use crate::store::logs::SharedLogs;
use crate::store::{SeriesKey, SharedStore};

/// Every handle of a running agent. Status is the one reader of all of them; every other
/// component is handed only the parts it uses.
#[derive(Clone)]
pub struct Everything {
    pub store: SharedStore,
    pub events: SharedEvents,
    pub traces: SharedTraces,
    pub profiles: crate::intake::profiles::SharedProfiles,
    pub logs: SharedLogs,
    pub monitors: SharedRegistry,
    pub dashboards: SharedDashboards,
    pub slos: SharedSlos,
    pub webhooks: Deliveries,
    pub counters: Counters,
    pub collectors: Arc<CollectorsHealth>,
    pub host: Hostname,
    pub started: Instant,
}

/// One lock at a time: status never holds two stores at once.
pub fn snapshot(all: &Everything) -> serde_json::Value {
    let (series, refused_series, refused_points) = {
        let store = all.store.lock();
        (
            store.series_count(),
            store.refused_series,
            store.refused_points,
        )
    };
    let (traces, spans, evicted, trace_bytes) = {
        let t = all.traces.lock();
        (t.len(), t.span_count(), t.evicted_traces, t.bytes())
    };
    let monitors = {
        let registry = all.monitors.lock();
        let mut by_state = std::collections::BTreeMap::<&str, u64>::new();
        for e in registry.entries() {
            *by_state.entry(e.overall_state().name()).or_default() += 1;
        }
        let failing: Vec<_> = registry
            .entries()
            .filter_map(|e| {
                e.last_error
                    .as_ref()
                    .map(|err| json!({"id": e.checked.id(), "name": e.checked.monitor.name, "error": err}))
            })
            .collect();
        json!({
            "count": registry.len(),
            "by_state": by_state,
            "refused": registry.refused,
            "failing": failing,
            "webhooks": {
                "targets": all.webhooks.webhooks().iter().map(|w| &w.name).collect::<Vec<_>>(),
                "status": all.webhooks.status(),
            },
            "history": {
                "file": registry.history.path().map(|p| p.display().to_string()),
                "write_errors": registry.history.write_errors,
            },
        })
    };
    let slos = {
        let slos = all.slos.lock();
        json!({"count": slos.len(), "refused": slos.refused})
    };
    let logs = {
        let logs = all.logs.lock();
        json!({"kept": logs.len(), "dropped": logs.dropped})
    };
    let events = all.events.lock().len();
    let dashboards = {
        let d = all.dashboards.lock();
        json!({"loaded": d.entries().count(), "refused": d.refused})
    };
    let profiles = {
        let p = all.profiles.lock();
        json!({"kept": p.len(), "approx_bytes": p.bytes(), "evicted": p.evicted})
    };
    json!({
        "profiles": profiles,
        "monitors": monitors,
        "dashboards": dashboards,
        "slos": slos,
        "version": env!("CARGO_PKG_VERSION"),
        "hostname": all.host.as_str(),
        "uptime_secs": all.started.elapsed().as_secs(),
        "counters": all.counters.snapshot(),
        "store": {"series": series, "refused_series": refused_series, "refused_points": refused_points},
        "traces": {"kept": traces, "spans": spans, "evicted": evicted, "approx_bytes": trace_bytes},
        "events": events,
        "logs": logs,
        "collectors": all.collectors.snapshot(),
    })
}

/// Every 10 s, until the runtime stops: the counters written as metrics, and the points past
/// the retention pruned.
pub async fn housekeeping(store: SharedStore, counters: Counters, host: Hostname) {
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    loop {
        tick.tick().await;
        record_own_metrics(&store, &counters, &host);
        store.lock().prune(now_secs());
    }
}

/// Writes the counters as `datadog.agent_lite.<name>` gauges (running totals).
pub fn record_own_metrics(store: &SharedStore, counters: &Counters, host: &Hostname) {
    let now = now_secs();
    let counters = counters.snapshot();
    let host = host.tag();
    let mut store = store.lock();
    // Written past the series cap: they are how the cap's refusals show.
    for (name, value) in counters {
        store.set_own_gauge(
            SeriesKey::new(&format!("datadog.agent_lite.{name}"), vec![host.clone()]),
            now,
            value as f64,
        );
    }
    let (series, refused) = (store.series_count(), store.refused_series);
    store.set_own_gauge(
        SeriesKey::new("datadog.agent_lite.store.series", vec![host.clone()]),
        now,
        series as f64,
    );
    store.set_own_gauge(
        SeriesKey::new(
            "datadog.agent_lite.store.refused_series",
            vec![host.clone()],
        ),
        now,
        refused as f64,
    );
}

/// `agent-lite status`: which running agent to ask, and how to print its answer.
#[derive(Debug, Clone, clap::Args)]
pub struct StatusConfig {
    /// The agent-lite API to ask.
    #[arg(long, env = "AGENT_LITE_URL", default_value = "http://127.0.0.1:5002")]
    pub url: String,
    /// Print the raw JSON.
    #[arg(long)]
    pub json: bool,
}

/// `agent-lite status`: asks a running agent-lite for its status (`GET /status`) and prints
/// it, like `agent status`.
pub async fn command(cfg: StatusConfig) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let url = format!("{}/status", cfg.url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let v: serde_json::Value = client
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("agent-lite does not answer at {url}"))?
        .json()
        .await
        .with_context(|| format!("{url} did not answer JSON"))?;
    if cfg.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print(&v);
    }
    Ok(())
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
    let m = &v["monitors"];
    println!("  monitors: {} {}", m["count"], m["by_state"]);
    for r in m["refused"].as_array().into_iter().flatten() {
        println!(
            "    refused: {}: {}",
            r["file"].as_str().unwrap_or("?"),
            r["error"].as_str().unwrap_or("?")
        );
    }
    for f in m["failing"].as_array().into_iter().flatten() {
        println!("    cannot evaluate {}: {}", f["name"], f["error"]);
    }
    let hooks = &m["webhooks"]["status"];
    if m["webhooks"]["targets"]
        .as_array()
        .is_some_and(|t| !t.is_empty())
    {
        println!(
            "    webhooks: {} delivered, {} failed{}",
            hooks["delivered"],
            hooks["failed"],
            hooks["last_error"]
                .as_str()
                .map(|e| format!(" (last: {e})"))
                .unwrap_or_default()
        );
    }
    print_collectors(&v["collectors"]);
    println!("  counters:");
    if let Some(map) = v["counters"].as_object() {
        let width = map.keys().map(String::len).max().unwrap_or(0);
        for (k, n) in map {
            let doc = crate::counters::describe(k).unwrap_or("");
            println!("    {k:<width$}  {n:>10}  {doc}");
        }
    }
}

/// The collectors' part: what is on, what fails and why, what the logs follow.
fn print_collectors(c: &serde_json::Value) {
    if c.is_null() {
        return;
    }
    println!("  collectors:");
    let host = &c["host"];
    if host["enabled"] == true {
        let failing = host["failing"].as_object().filter(|f| !f.is_empty());
        match failing {
            Some(parts) => {
                for (part, error) in parts {
                    println!(
                        "    host metrics: on, {part} cannot be read: {}",
                        error.as_str().unwrap_or("?")
                    );
                }
            }
            None => println!("    host metrics: on"),
        }
        if let (None, Some(last)) = (failing, host["last_error"].as_object()) {
            let ago = last
                .get("at")
                .and_then(|a| a.as_i64())
                .map_or_else(|| "?".to_owned(), |at| (now_secs() - at).to_string());
            println!(
                "      last error, {ago} s ago ({}): {}",
                last.get("part").and_then(|p| p.as_str()).unwrap_or("?"),
                last.get("error").and_then(|e| e.as_str()).unwrap_or("?")
            );
        }
    } else {
        println!("    host metrics: off");
    }
    let engine = &c["containers"];
    match engine["state"].as_str().unwrap_or("off") {
        "unavailable" => println!(
            "    containers (Docker Engine): unavailable: {}",
            engine["reason"].as_str().unwrap_or("?")
        ),
        state => println!("    containers (Docker Engine): {state}"),
    }
    let pg = &c["postgres"];
    if pg["state"].as_str().is_some_and(|s| s != "off") {
        println!(
            "    postgres check ({}): {}{}",
            pg["target"].as_str().unwrap_or("?"),
            pg["state"].as_str().unwrap_or("?"),
            pg["reason"]
                .as_str()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    let logs = &c["logs"];
    let followed: Vec<&str> = logs["containers_followed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str())
        .collect();
    let which = match logs["container_collect"].as_str() {
        Some("all") => "all containers",
        Some("labelled") => "containers labelled com.datadoghq.ad.logs",
        _ => "container logs off",
    };
    println!(
        "    logs: files followed: {}, containers followed: {} ({which}), lines received: {} from files, {} from containers",
        logs["files_followed"],
        followed.len(),
        logs["lines_received"]["files"],
        logs["lines_received"]["containers"]
    );
    if !followed.is_empty() {
        println!("      following: {}", followed.join(", "));
    }
}
