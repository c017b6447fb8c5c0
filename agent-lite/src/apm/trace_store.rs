//! Recent traces kept complete (every span), in bounded memory: a ring of traces, capped by
//! their total span count and by the memory they take; the oldest trace goes first.

use std::collections::VecDeque;

use libdd_trace_normalization::normalize_utils::normalize_tag_cloned;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{Span, SpanView, SpansJson};

#[derive(Debug)]
pub struct TraceStore {
    // Trace ids are random already: a cheap hash, not SipHash, which showed in profiles.
    traces: FxHashMap<u64, Kept>,
    order: VecDeque<u64>,
    spans: usize,
    max_spans: usize,
    bytes: usize,
    max_bytes: usize,
    pub evicted_traces: u64,
}

/// Filters of the trace search, as the API takes them.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct TraceQuery {
    pub service: Option<String>,
    pub resource: Option<String>,
    /// HTTP status code of the root span.
    pub status: Option<String>,
    pub error: Option<bool>,
    pub min_duration_ms: Option<f64>,
    pub env: Option<String>,
    pub limit: Option<usize>,
}

/// A kept trace and what its spans were counted for in the bound, so that evicting it need
/// not walk its tags again.
#[derive(Debug)]
struct Kept {
    spans: Vec<Span>,
    bytes: usize,
}

/// One line of a search result: the trace's root span and its size.
#[derive(Debug, Clone, Serialize)]
pub struct TraceSummary {
    pub trace_id: String,
    #[serde(serialize_with = "root_json")]
    pub root: Span,
    pub span_count: usize,
    pub error: bool,
    pub duration_ms: f64,
}

fn root_json<S: serde::Serializer>(root: &Span, serializer: S) -> Result<S::Ok, S::Error> {
    super::SpanJson(root).serialize(serializer)
}

impl TraceStore {
    pub fn new(max_spans: usize, max_bytes: usize) -> Self {
        Self {
            traces: FxHashMap::default(),
            order: VecDeque::new(),
            spans: 0,
            max_spans: max_spans.max(1),
            bytes: 0,
            max_bytes: max_bytes.max(1),
            evicted_traces: 0,
        }
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How much a payload may add before its oldest traces would be evicted by its own newest.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// Keeps `chunk`, whose spans take `bytes` (their `approx_bytes`, which the caller has
    /// already summed to choose what to keep).
    pub fn insert(&mut self, chunk: Vec<Span>, bytes: usize) {
        let Some(first) = chunk.first() else { return };
        let id = first.trace_id64();
        self.spans += chunk.len();
        self.bytes += bytes;
        match self.traces.get_mut(&id) {
            // A trace can arrive in several chunks (partial flush, or several services).
            Some(kept) => {
                kept.spans.extend(chunk);
                kept.bytes += bytes;
            }
            None => {
                self.traces.insert(
                    id,
                    Kept {
                        spans: chunk,
                        bytes,
                    },
                );
                self.order.push_back(id);
            }
        }
        while (self.spans > self.max_spans || self.bytes > self.max_bytes) && self.order.len() > 1 {
            if let Some(old) = self.order.pop_front() {
                if let Some(kept) = self.traces.remove(&old) {
                    self.spans -= kept.spans.len();
                    self.bytes -= kept.bytes;
                    self.evicted_traces += 1;
                }
            }
        }
    }

    /// The spans of a trace, as the API shows them.
    pub fn get(&self, trace_id: u64) -> Option<SpansJson<'_>> {
        self.traces.get(&trace_id).map(|k| SpansJson(&k.spans))
    }

    pub fn len(&self) -> usize {
        self.traces.len()
    }

    pub fn span_count(&self) -> usize {
        self.spans
    }

    /// Newest first.
    pub fn search(&self, q: &TraceQuery) -> Vec<TraceSummary> {
        let limit = q.limit.unwrap_or(100).min(1000);
        self.order
            .iter()
            .rev()
            .filter_map(|id| self.traces.get(id))
            .filter_map(|kept| summarize(&kept.spans))
            .filter(|t| matches(t, q))
            .take(limit)
            .collect()
    }
}

/// The root is the span without a parent in the trace (the earliest, if several).
fn summarize(spans: &[Span]) -> Option<TraceSummary> {
    let ids: std::collections::HashSet<u64> = spans.iter().map(|s| s.span_id).collect();
    let root = spans
        .iter()
        .filter(|s| s.parent_id == 0 || !ids.contains(&s.parent_id))
        .min_by_key(|s| s.start)
        .or_else(|| spans.first())?;
    Some(TraceSummary {
        trace_id: root.trace_id64().to_string(),
        root: root.clone(),
        span_count: spans.len(),
        error: spans.iter().any(|s| s.error != 0),
        duration_ms: root.duration as f64 / 1e6,
    })
}

fn matches(t: &TraceSummary, q: &TraceQuery) -> bool {
    let root = &t.root;
    q.service.as_ref().is_none_or(|s| root.service() == s)
        && q.resource.as_ref().is_none_or(|r| {
            // As written by the tracer, or as the `resource_name` tag of trace metrics shows it.
            root.resource() == r
                || normalize_tag_cloned(&format!("resource_name:{}", root.resource()))
                    .strip_prefix("resource_name:")
                    == Some(r.as_str())
        })
        && q.status
            .as_ref()
            .is_none_or(|c| root.status_code() == Some(c.as_str()))
        && q.error.is_none_or(|e| t.error == e)
        && q.min_duration_ms.is_none_or(|d| t.duration_ms >= d)
        && q.env
            .as_ref()
            .is_none_or(|e| root.meta("env") == Some(e.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apm::test_span;

    fn trace(id: u64, tag_bytes: usize) -> Vec<Span> {
        let big = "x".repeat(tag_bytes);
        vec![test_span::span(
            id,
            id,
            0,
            "web",
            "http.server.request",
            0,
            1,
            &[("big", &big)],
        )]
    }

    fn insert(store: &mut TraceStore, chunk: Vec<Span>) {
        let bytes = chunk.iter().map(SpanView::approx_bytes).sum();
        store.insert(chunk, bytes);
    }

    #[test]
    fn memory_bound_evicts_the_oldest_traces() {
        let mut store = TraceStore::new(1_000_000, 10_000);
        for id in 1..=100 {
            insert(&mut store, trace(id, 900));
        }
        assert!(store.bytes() <= 10_000, "{} bytes kept", store.bytes());
        assert!(store.len() >= 5, "recent traces stay: {}", store.len());
        assert!(store.get(100).is_some() && store.get(1).is_none());
        assert_eq!(store.evicted_traces as usize + store.len(), 100);
    }

    #[test]
    fn the_api_shows_every_field_and_sorted_tags() {
        let mut store = TraceStore::new(10, 1_000_000);
        let span = test_span::span(7, 8, 0, "web", "op", 1, 5, &[("z", "1"), ("a", "2")]);
        insert(&mut store, vec![span]);
        let json = serde_json::to_value(store.get(7).expect("kept")).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!([{"service": "web", "name": "op", "resource": "GET /", "type": "web",
                "trace_id": 7, "span_id": 8, "parent_id": 0, "start": 1_000_000_000_000i64,
                "duration": 5, "error": 1, "meta": {"a": "2", "z": "1"}, "metrics": {}}])
        );
        let found = store.search(&TraceQuery::default());
        assert_eq!(
            serde_json::to_value(&found[0]).expect("serializes")["root"],
            json[0]
        );
    }
}
