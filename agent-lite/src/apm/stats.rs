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

use rustc_hash::FxHashMap;

use sketches_ddsketch::DDSketch;

use super::{Span, SpanView};
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

/// Whether the Agent would compute stats for `span` within its chunk.
pub fn counts_in_stats(span: &Span<'_>, parents: &FxHashMap<u64, &str>) -> bool {
    if span.metric("_top_level") == Some(1.0) || span.metric("_dd.measured") == Some(1.0) {
        return true;
    }
    match parents.get(&span.parent_id) {
        None => true,
        Some(parent_service) => *parent_service != span.service(),
    }
}

/// The key of one group while a batch is aggregated: borrowed from the spans, so that a
/// span costs a hash lookup, not six string copies; owned `Key`s are made once per group and
/// batch.
#[derive(PartialEq, Eq, Hash)]
struct KeyRef<'a> {
    service: &'a str,
    env: &'a str,
    version: &'a str,
    name: &'a str,
    resource: &'a str,
    status: Option<&'a str>,
    bucket: i64,
}

/// A payload's trace metrics, gathered over the batches it is decoded in and written to the
/// store at once (one write per group, not one per trace), once the whole payload is known
/// to be sound.
#[derive(Default)]
pub struct Aggregates {
    groups: FxHashMap<Key, Aggregate>,
}

impl Aggregates {
    /// Adds the stats of a batch of chunks.
    pub fn add(&mut self, chunks: &[Vec<Span<'_>>]) {
        let mut batch: FxHashMap<KeyRef<'_>, Aggregate> = FxHashMap::default();
        let mut parents: FxHashMap<u64, &str> = FxHashMap::default();
        for chunk in chunks {
            parents.clear();
            parents.extend(chunk.iter().map(|s| (s.span_id, s.service())));
            for span in chunk.iter().filter(|s| counts_in_stats(s, &parents)) {
                let key = KeyRef {
                    service: span.service(),
                    env: span.meta("env").unwrap_or("none"),
                    version: span.meta("version").unwrap_or(""),
                    name: span.name(),
                    resource: span.resource(),
                    status: span.status_code(),
                    bucket: crate::store::bucket_of(span.end_secs()),
                };
                let agg = batch.entry(key).or_default();
                let secs = span.duration.max(0) as f64 / 1e9;
                agg.hits += 1.0;
                agg.errors += f64::from(u8::from(span.is_error()));
                agg.seconds += secs;
                agg.sketch.add(secs);
            }
        }
        for (k, agg) in batch {
            let key = Key {
                service: k.service.to_owned(),
                env: k.env.to_owned(),
                version: k.version.to_owned(),
                name: k.name.to_owned(),
                resource: k.resource.to_owned(),
                status: k.status.map(str::to_owned),
                bucket: k.bucket,
            };
            match self.groups.get_mut(&key) {
                Some(total) => {
                    total.hits += agg.hits;
                    total.errors += agg.errors;
                    total.seconds += agg.seconds;
                    // Sketches made by `new_sketch` share their configuration: merging cannot
                    // fail.
                    let _ = total.sketch.merge(&agg.sketch);
                }
                None => {
                    self.groups.insert(key, agg);
                }
            }
        }
    }

    /// Writes the trace metrics; returns how many points the series cap refused.
    pub fn write(self, store: &mut Store) -> u64 {
        write(store, self.groups)
    }
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
    use crate::apm::test_span;
    use crate::store::Limits;

    fn span(id: u64, parent: u64, service: &str, name: &str, error: i32, ms: i64) -> Span<'static> {
        test_span::span(
            1,
            id,
            parent,
            service,
            name,
            error,
            ms * 1_000_000,
            &[("env", "dev"), ("http.status_code", "200")],
        )
    }

    #[test]
    fn only_top_level_spans_make_hits() {
        let mut store = Store::new(Limits::default());
        let chunk = vec![
            span(1, 0, "web", "http.server.request", 1, 20),
            span(2, 1, "web", "postgresql.query", 0, 5),
            span(3, 1, "db-proxy", "proxy.call", 0, 5),
        ];
        let mut aggs = Aggregates::default();
        aggs.add(&[chunk]);
        aggs.write(&mut store);
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
