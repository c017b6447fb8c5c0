//! Trace metrics, computed here from every span received (agent-lite does not ask tracers for
//! client-side stats, so the counts are exact): for each top-level or measured span, keyed by
//! service, env, version, operation, resource and HTTP status, per 10 s bucket of the span's
//! end:
//!
//! - `trace.<operation>.hits` and `trace.<operation>.errors` (counts),
//! - `trace.<operation>.duration` (count: seconds spent, so avg latency = duration / hits),
//! - `trace.<operation>` (distribution of latency in seconds: `p95:trace.<operation>{..}`).
//!
//! Top-level as the Agent defines it: the tracer said so (`_top_level`), or the span has no
//! parent in its chunk, or its parent belongs to another service; `_dd.measured` spans count
//! too.

use std::collections::HashMap;

use sketches_ddsketch::DDSketch;

use super::Span;
use crate::store::{new_sketch, SeriesKey, Store, Written};

/// What one group of trace metrics is keyed by, per 10 s bucket (unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub service: String,
    pub env: String,
    pub version: String,
    pub name: String,
    pub resource: String,
    pub status: Option<String>,
    pub bucket: i64,
}

/// Hits, errors and latency of one group; the sketch holds seconds.
pub struct Aggregate {
    pub hits: f64,
    pub errors: f64,
    pub seconds: f64,
    pub sketch: DDSketch,
}

impl Default for Aggregate {
    fn default() -> Self {
        Self {
            hits: 0.0,
            errors: 0.0,
            seconds: 0.0,
            sketch: new_sketch(),
        }
    }
}

/// Whether the Agent would compute stats for `span` within `chunk`.
pub fn counts_in_stats(span: &Span, parents: &HashMap<u64, &str>) -> bool {
    if span.metrics.get("_top_level").copied() == Some(1.0)
        || span.metrics.get("_dd.measured").copied() == Some(1.0)
    {
        return true;
    }
    match parents.get(&span.parent_id) {
        None => true,
        Some(parent_service) => *parent_service != span.service,
    }
}

/// Adds a chunk's stats to the store; returns how many points were refused (series cap).
pub fn record(store: &mut Store, chunk: &[Span]) -> u64 {
    let parents: HashMap<u64, &str> = chunk
        .iter()
        .map(|s| (s.span_id, s.service.as_str()))
        .collect();
    let mut aggs: HashMap<Key, Aggregate> = HashMap::new();
    for span in chunk.iter().filter(|s| counts_in_stats(s, &parents)) {
        let key = Key {
            service: span.service.clone(),
            env: span
                .meta
                .get("env")
                .cloned()
                .unwrap_or_else(|| "none".into()),
            version: span.meta.get("version").cloned().unwrap_or_default(),
            name: span.name.clone(),
            resource: span.resource.clone(),
            status: span.status_code().map(str::to_owned),
            bucket: crate::store::bucket_of(span.end_secs()),
        };
        let agg = aggs.entry(key).or_default();
        let secs = span.duration.max(0) as f64 / 1e9;
        agg.hits += 1.0;
        agg.errors += f64::from(u8::from(span.error != 0));
        agg.seconds += secs;
        agg.sketch.add(secs);
    }
    write(store, aggs)
}

/// Writes aggregates as Datadog's trace metrics; returns how many points the series cap
/// refused.
pub fn write(store: &mut Store, aggs: impl IntoIterator<Item = (Key, Aggregate)>) -> u64 {
    let mut refused = 0;
    for (key, agg) in aggs {
        let mut tags = vec![
            format!("service:{}", key.service),
            format!("env:{}", key.env),
            format!("resource_name:{}", key.resource),
        ];
        if !key.version.is_empty() {
            tags.push(format!("version:{}", key.version));
        }
        if let Some(status) = &key.status {
            tags.push(format!("http.status_code:{status}"));
        }
        let base = format!("trace.{}", key.name);
        let ts = key.bucket;
        let writes = [
            store.add_count(
                SeriesKey::new(&format!("{base}.hits"), tags.clone()),
                ts,
                agg.hits,
            ),
            store.add_count(
                SeriesKey::new(&format!("{base}.errors"), tags.clone()),
                ts,
                agg.errors,
            ),
            store.add_count(
                SeriesKey::new(&format!("{base}.duration"), tags.clone()),
                ts,
                agg.seconds,
            ),
            store.merge_sketch(SeriesKey::new(&base, tags), ts, &agg.sketch),
        ];
        refused += writes.iter().filter(|w| **w != Written::Stored).count() as u64;
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Limits;
    use std::collections::BTreeMap;

    fn span(id: u64, parent: u64, service: &str, name: &str, error: i32, ms: i64) -> Span {
        Span {
            service: service.into(),
            name: name.into(),
            resource: "GET /".into(),
            r#type: "web".into(),
            trace_id: 1,
            span_id: id,
            parent_id: parent,
            start: 1_000_000_000_000,
            duration: ms * 1_000_000,
            error,
            meta: BTreeMap::from([
                ("env".into(), "dev".into()),
                ("http.status_code".into(), "200".into()),
            ]),
            metrics: BTreeMap::new(),
        }
    }

    #[test]
    fn only_top_level_spans_make_hits() {
        let mut store = Store::new(Limits::default());
        let chunk = vec![
            span(1, 0, "web", "http.server.request", 1, 20),
            span(2, 1, "web", "postgresql.query", 0, 5),
            span(3, 1, "db-proxy", "proxy.call", 0, 5),
        ];
        record(&mut store, &chunk);
        let hits = |name: &str| -> f64 {
            store
                .series_named(name)
                .flat_map(|(_, s)| s.points.values())
                .map(|p| p.scalar())
                .sum()
        };
        assert_eq!(hits("trace.http.server.request.hits"), 1.0);
        assert_eq!(hits("trace.http.server.request.errors"), 1.0);
        assert_eq!(
            hits("trace.postgresql.query.hits"),
            0.0,
            "a child of the same service"
        );
        assert_eq!(
            hits("trace.proxy.call.hits"),
            1.0,
            "a child of another service"
        );
    }
}
