//! What the fuzz targets share: an intake's output into fresh stores with the server's
//! default bounds, for each input (so that no input changes how the next is handled, and a
//! crash replays from its input alone; no agent around the parser), and a store holding an
//! hour of the lab's metrics, for the query and monitor targets to evaluate against.

use std::sync::LazyLock;

use agent_lite::intake::traces::decode::Version;
use agent_lite::intake::traces::{self, receive};
use agent_lite::store::{new_sketch, Limits, SeriesKey, Store};

/// The fixtures' "now": 2025-11-25T00:00:00Z.
pub const NOW: i64 = 1_764_028_800;

/// A trace payload received as `content_type`, by a fresh agent: decoded, counted, trace
/// metrics computed, the newest traces kept, or refused with a 400's reason.
pub fn receive_traces(version: Version, content_type: &str, body: &[u8]) {
    let intake = traces::Output::default();
    // The body as the intake reads it: one buffer of its own.
    if let Err(e) = receive(&intake, version, Some(content_type), false, body.to_vec()) {
        // The 400's body.
        let _ = e.to_string();
    }
}

/// The boundary of the profile uploads in the corpus (fuzz/corpus/profiles): each input is
/// a multipart body sent with this boundary.
pub const PROFILE_BOUNDARY: &str = "lab-fuzz-boundary";

/// A profile upload received by a fresh agent: split, read, each pprof decoded and kept, or
/// refused with its reason; what was kept is then merged for each of its types, with and
/// without a span filter, as the aggregate API does.
pub fn receive_profile(body: &[u8]) {
    use agent_lite::intake::profiles::{self, flame, store};
    let out = profiles::Output::default();
    let content_type = format!("multipart/form-data; boundary={PROFILE_BOUNDARY}");
    let limit = profiles::ProfilesConfig::default().max_upload_bytes;
    match profiles::receive(&out, Some(&content_type), body.to_vec().into(), limit) {
        Ok(_) => {
            let kept = out.profiles.lock().list(&store::Filter::default());
            for p in &kept {
                for t in p.types() {
                    let _ = serde_json::to_string(&flame::aggregate(
                        &kept,
                        t,
                        &flame::SpanFilter::default(),
                    ));
                    let spans = flame::SpanFilter {
                        local_root_span_ids: vec![1],
                        span_ids: vec![2],
                    };
                    let _ = flame::aggregate(&kept, t, &spans);
                }
            }
        }
        Err(e) => {
            // The 400's body.
            let _ = e.to_string();
        }
    }
}

/// An hour before [`NOW`] of what the lab's monitors read, every 10 s: host CPU, memory and
/// disk, container CPU against its limit and restarts, the demo service's trace metrics (hits,
/// errors, latency distribution), with incidents in the last 20 minutes (CPU spike, error
/// burst, memory pressure, a restart) so that the lab's monitors fire and their messages are
/// rendered. Read-only: built once and shared by every input.
pub fn lab_store() -> &'static Store {
    static STORE: LazyLock<Store> = LazyLock::new(build_lab_store);
    &STORE
}

fn key(name: &str, tags: &[&str]) -> SeriesKey {
    SeriesKey::new(name, tags.iter().map(|t| (*t).to_owned()).collect())
}

fn build_lab_store() -> Store {
    let mut store = Store::new(Limits::default());
    let host = ["host:lab"];
    let container = ["container_name:demo-service", "service:demo-service"];
    for i in 0..360i64 {
        let ts = NOW - 3600 + i * 10;
        let hot = i >= 240;
        store.set_gauge(
            key("system.cpu.user", &host),
            ts,
            if hot { 91.0 } else { 12.0 },
        );
        store.set_gauge(key("system.cpu.system", &host), ts, 4.0);
        store.set_gauge(
            key("system.mem.pct_usable", &host),
            ts,
            if i >= 330 { 0.15 } else { 0.6 },
        );
        store.set_gauge(
            key("system.disk.in_use", &["host:lab", "device:/dev/vda"]),
            ts,
            0.4,
        );
        store.set_gauge(
            key("container.cpu.usage", &container),
            ts,
            if hot { 1.7e9 } else { 2e8 },
        );
        store.set_gauge(key("container.cpu.limit", &container), ts, 2e9);
        store.set_gauge(
            key("container.restarts", &container),
            ts,
            if i >= 330 { 1.0 } else { 0.0 },
        );
        let burst = if i >= 300 { 10.0 } else { 1.0 };
        for (resource, status, hits, errors, seconds) in [
            ("GET /", "200", 190.0, 0.0, 0.004),
            ("GET /slow", "200", 6.0, 0.0, 1.5),
            ("GET /error", "500", 4.0 * burst, 4.0 * burst, 0.002),
        ] {
            let tags = [
                "service:demo-service".to_owned(),
                "env:dev".to_owned(),
                "version:1.0".to_owned(),
                format!("resource_name:{resource}"),
                format!("http.status_code:{status}"),
            ];
            let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
            store.add_count(key("trace.http.server.request.hits", &tags), ts, hits);
            store.add_count(key("trace.http.server.request.errors", &tags), ts, errors);
            store.add_count(
                key("trace.http.server.request.duration", &tags),
                ts,
                hits * seconds,
            );
            let mut sketch = new_sketch();
            sketch.add(seconds);
            sketch.add(seconds * 2.0);
            store.merge_sketch(key("trace.http.server.request", &tags), ts, &sketch);
        }
        // DogStatsD counters as the tracer sends them (read as rates unless `.as_count()`).
        store.add_count(
            key("datadog.tracer.exporter.traces", &["service:demo-service"]),
            ts,
            3.0,
        );
    }
    store
}
