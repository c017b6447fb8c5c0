//! Recent traces kept complete (every span), in bounded memory: a ring of traces, capped by
//! their total span count and by the memory they take; the oldest trace goes first.
//!
//! A trace is kept as the msgpack its spans came in (its chunks, each an array of v0.4 spans)
//! with a [`Summary`] of its root for search, and decoded again only when the API shows it.
//! Decoded spans would take several times the memory, and one reference count per text,
//! which showed as a quarter of the intake's CPU.

use std::collections::VecDeque;
use std::mem::size_of;

use bytes::Bytes;
use libdd_trace_normalization::normalize_utils::normalize_tag_cloned;
use libdd_trace_utils::msgpack_decoder::v04;
use rustc_hash::FxHashMap;
use serde::ser::{Error as _, SerializeSeq as _};
use serde::{Deserialize, Serialize, Serializer};
use smallvec::{smallvec, SmallVec};

use super::trace_summary::Summary;
use super::{behind_array_header, SpanJson};

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

/// A chunk on its way into the store: its msgpack (an array of spans), which may be a slice
/// of a larger buffer, and its summary, whose texts are ranges of that msgpack.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub msgpack: Bytes,
    pub summary: Summary,
}

impl Incoming {
    /// What keeping it costs in the store's bound.
    pub fn bytes(&self) -> usize {
        TraceStore::cost(self.msgpack.len())
    }
}

/// A kept trace: its chunks' msgpack, the summary of the chunk holding its root (`root`), and
/// what it was counted for in the bound.
///
/// A chunk may be a slice of a buffer shared with the chunks beside it in the payload: the
/// buffer lives as long as one of them. As the oldest go first, that holds at most about one
/// batch of the intake beyond the bound.
#[derive(Debug)]
struct Kept {
    // Nearly every trace comes in one chunk: no allocation for it.
    chunks: SmallVec<[Bytes; 1]>,
    summary: Summary,
    root: usize,
    spans: usize,
    bytes: usize,
}

impl Kept {
    fn root_msgpack(&self) -> &[u8] {
        self.chunks.get(self.root).map_or(&[], |b| &b[..])
    }
}

/// A kept trace's spans, copied out of the store, decoded when serialized.
pub struct TraceSpans {
    payload: Vec<u8>,
}

impl Serialize for TraceSpans {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (chunks, _) = v04::from_slice(&self.payload).map_err(S::Error::custom)?;
        let mut seq = serializer.serialize_seq(Some(chunks.iter().map(Vec::len).sum()))?;
        for span in chunks.iter().flatten() {
            seq.serialize_element(&SpanJson(span))?;
        }
        seq.end()
    }
}

/// One line of a search result: the trace's root span and its size.
#[derive(Debug, Clone, Serialize)]
pub struct TraceSummary {
    pub trace_id: String,
    pub root: RootSpan,
    pub span_count: usize,
    pub error: bool,
    pub duration_ms: f64,
}

/// A trace's root span, as a copy of the chunk that holds it, decoded when serialized.
#[derive(Debug, Clone)]
pub struct RootSpan {
    chunk: Vec<u8>,
    span_id: u64,
}

impl Serialize for RootSpan {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (chunks, _) = v04::from_slice(&self.chunk).map_err(S::Error::custom)?;
        let spans = chunks.first().map_or(&[][..], Vec::as_slice);
        let root = spans
            .iter()
            .find(|s| s.span_id == self.span_id)
            .or_else(|| spans.first())
            .ok_or_else(|| S::Error::custom("a kept trace without spans"))?;
        SpanJson(root).serialize(serializer)
    }
}

/// The recent traces as the components share them.
pub type SharedTraces = crate::locked::Locked<TraceStore>;

/// The default bounds: 200,000 spans, 16 MiB (as `agent-lite run` starts).
impl Default for TraceStore {
    fn default() -> Self {
        Self::new(200_000, 16 << 20)
    }
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

    /// What a chunk of `msgpack_len` bytes costs in the bound: its msgpack and its entry.
    fn cost(msgpack_len: usize) -> usize {
        msgpack_len + size_of::<Bytes>() + size_of::<Kept>()
    }

    /// Of a payload's chunks, whose msgpack lengths are `msgpack_lens` (oldest first), how many
    /// of the newest the store will keep: those that fit in its memory bound, and the newest
    /// even when it alone is over, as `insert` keeps it. Room is made for them now, before
    /// they are decoded, so that the traces they replace are not held beside them.
    pub fn make_room_for_newest(
        &mut self,
        msgpack_lens: impl DoubleEndedIterator<Item = usize>,
    ) -> usize {
        let mut bytes = 0usize;
        let newest = msgpack_lens
            .rev()
            .take_while(|&len| {
                let cost = Self::cost(len);
                let fits = bytes == 0 || bytes + cost <= self.max_bytes;
                if fits {
                    bytes += cost;
                }
                fits
            })
            .count();
        self.make_room(bytes);
        newest
    }

    /// Evicts the oldest traces until `bytes` more fit.
    fn make_room(&mut self, bytes: usize) {
        while self.bytes.saturating_add(bytes) > self.max_bytes {
            if !self.evict_oldest() {
                break;
            }
        }
    }

    /// Keeps a chunk; a chunk of a trace already kept joins it (partial flushes, or several
    /// services). The newest trace stays even when it alone is over the bounds.
    pub fn insert(&mut self, chunk: Incoming) {
        let bytes = chunk.bytes();
        let spans = chunk.summary.spans as usize;
        let id = chunk.summary.trace_id;
        self.spans += spans;
        self.bytes += bytes;
        match self.traces.get_mut(&id) {
            Some(kept) => {
                if kept.summary.yields_root_to(&chunk.summary) {
                    kept.root = kept.chunks.len();
                    kept.summary = Summary {
                        error: kept.summary.error || chunk.summary.error,
                        ..chunk.summary
                    };
                } else {
                    kept.summary.error |= chunk.summary.error;
                }
                kept.chunks.push(chunk.msgpack);
                kept.spans += spans;
                kept.bytes += bytes;
            }
            None => {
                self.traces.insert(
                    id,
                    Kept {
                        chunks: smallvec![chunk.msgpack],
                        summary: chunk.summary,
                        root: 0,
                        spans,
                        bytes,
                    },
                );
                self.order.push_back(id);
            }
        }
        while (self.spans > self.max_spans || self.bytes > self.max_bytes) && self.order.len() > 1 {
            self.evict_oldest();
        }
    }

    /// False when there was nothing to evict.
    fn evict_oldest(&mut self) -> bool {
        let Some(old) = self.order.pop_front() else {
            return false;
        };
        if let Some(kept) = self.traces.remove(&old) {
            self.spans -= kept.spans;
            self.bytes -= kept.bytes;
            self.evicted_traces += 1;
        }
        true
    }

    /// The spans of a trace, as the API shows them.
    pub fn get(&self, trace_id: u64) -> Option<TraceSpans> {
        let kept = self.traces.get(&trace_id)?;
        let chunks: Vec<&[u8]> = kept.chunks.iter().map(|c| &c[..]).collect();
        Some(TraceSpans {
            payload: behind_array_header(chunks.len(), &chunks),
        })
    }

    pub fn len(&self) -> usize {
        self.traces.len()
    }

    pub fn span_count(&self) -> usize {
        self.spans
    }

    /// The chunks of every trace whose root span overlaps `[from_ns, to_ns]` (unix
    /// nanoseconds), each trace's chunks together: cheap copies (reference counts) to decode
    /// outside the store's lock, as the service map does.
    pub fn chunks_between(&self, from_ns: i64, to_ns: i64) -> Vec<SmallVec<[Bytes; 1]>> {
        self.order
            .iter()
            .filter_map(|id| self.traces.get(id))
            .filter(|kept| {
                let s = &kept.summary;
                s.start <= to_ns && s.start.saturating_add(s.duration_ns) >= from_ns
            })
            .map(|kept| kept.chunks.clone())
            .collect()
    }

    /// Newest first.
    pub fn search(&self, q: &TraceQuery) -> Vec<TraceSummary> {
        let limit = q.limit.unwrap_or(100).min(1000);
        self.order
            .iter()
            .rev()
            .filter_map(|id| self.traces.get(id))
            .filter(|kept| matches(kept, q))
            .take(limit)
            .map(|kept| TraceSummary {
                trace_id: kept.summary.trace_id.to_string(),
                root: RootSpan {
                    chunk: behind_array_header(1, &[kept.root_msgpack()]),
                    span_id: kept.summary.root_span_id,
                },
                span_count: kept.spans,
                error: kept.summary.error,
                duration_ms: kept.summary.duration_ms(),
            })
            .collect()
    }
}

fn matches(kept: &Kept, q: &TraceQuery) -> bool {
    let t = &kept.summary;
    let msgpack = kept.root_msgpack();
    let resource = t.resource.get(msgpack);
    q.service
        .as_ref()
        .is_none_or(|s| t.service.get(msgpack) == s)
        && q.resource.as_ref().is_none_or(|r| {
            // As written by the tracer, or as the `resource_name` tag of trace metrics shows it.
            resource == r
                || normalize_tag_cloned(&format!("resource_name:{resource}"))
                    .strip_prefix("resource_name:")
                    == Some(r.as_str())
        })
        && q.status
            .as_ref()
            .is_none_or(|c| t.status.map(|s| s.get(msgpack)) == Some(c.as_str()))
        && q.error.is_none_or(|e| t.error == e)
        && q.min_duration_ms.is_none_or(|d| t.duration_ms() >= d)
        && q.env
            .as_ref()
            .is_none_or(|e| t.env.map(|s| s.get(msgpack)) == Some(e.as_str()))
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::apm::{test_span, Span};
    use libdd_trace_utils::msgpack_encoder::v04::to_vec_from_v04;

    /// `chunk` as the intake hands it to the store: its msgpack and its summary.
    pub fn incoming(chunk: &[Span<'_>]) -> Incoming {
        let payload = Bytes::from(to_vec_from_v04(&[chunk]));
        let (decoded, _) = v04::from_slice(&payload).expect("decodes");
        // One trace: a one-byte array header, then the chunk.
        let msgpack = payload.slice(1..);
        let summary = Summary::of(&decoded[0], &msgpack).expect("spans");
        Incoming { msgpack, summary }
    }

    fn trace(id: u64, tag_bytes: usize) -> Vec<Span<'static>> {
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

    #[test]
    fn memory_bound_evicts_the_oldest_traces() {
        let mut store = TraceStore::new(1_000_000, 10_000);
        for id in 1..=100 {
            store.insert(incoming(&trace(id, 900)));
        }
        assert!(store.bytes() <= 10_000, "{} bytes kept", store.bytes());
        assert!(store.len() >= 5, "recent traces stay: {}", store.len());
        assert!(store.get(100).is_some() && store.get(1).is_none());
        assert_eq!(store.evicted_traces as usize + store.len(), 100);
    }

    #[test]
    fn making_room_evicts_the_oldest_first() {
        let mut store = TraceStore::new(1_000_000, 10_000);
        for id in 1..=8 {
            store.insert(incoming(&trace(id, 900)));
        }
        let one = incoming(&trace(9, 900)).bytes();
        assert!(store.bytes() + 3 * one > 10_000, "the test needs room made");
        store.make_room(3 * one);
        assert!(store.bytes() + 3 * one <= 10_000);
        assert!(store.get(8).is_some() && store.get(1).is_none());
        store.make_room(usize::MAX);
        assert_eq!(
            store.len(),
            0,
            "room for more than the bound empties the store"
        );
    }

    #[test]
    fn room_is_made_for_the_newest_chunks_that_fit_and_always_for_the_newest() {
        let mut store = TraceStore::new(1_000_000, 10_000);
        for id in 1..=8 {
            store.insert(incoming(&trace(id, 900)));
        }
        let len = incoming(&trace(9, 900)).msgpack.len();
        let cost = TraceStore::cost(len);
        let kept = store.make_room_for_newest([len; 20].into_iter());
        assert_eq!(kept, 10_000 / cost, "as many of the newest as fit");
        assert!(store.bytes() + kept * cost <= 10_000, "room was made");
        assert!(store.len() < 8 && store.get(1).is_none(), "the oldest went");
        assert_eq!(
            store.make_room_for_newest([50_000].into_iter()),
            1,
            "the newest chunk is kept even over the bound"
        );
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn the_api_shows_every_field_and_sorted_tags() {
        let mut store = TraceStore::new(10, 1_000_000);
        let span = test_span::span(7, 8, 0, "web", "op", 1, 5, &[("z", "1"), ("a", "2")]);
        store.insert(incoming(&[span]));
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

    #[test]
    fn a_trace_in_two_chunks_is_found_by_its_root_and_marked_by_a_failed_child() {
        let mut store = TraceStore::new(100, 1_000_000);
        let meta = [("env", "dev"), ("http.status_code", "200")];
        let child = test_span::span(3, 31, 30, "db", "query", 1, 5, &[("env", "dev")]);
        let mut root = test_span::span(3, 30, 0, "web", "request", 0, 50, &meta);
        root.resource = "GET /slow".into();
        store.insert(incoming(&[child]));
        store.insert(incoming(&[root]));
        let by = |q: TraceQuery| store.search(&q);
        let found = by(TraceQuery {
            service: Some("web".into()),
            resource: Some("GET /slow".into()),
            status: Some("200".into()),
            env: Some("dev".into()),
            ..TraceQuery::default()
        });
        assert_eq!(found.len(), 1, "found by its root, which came last");
        assert!(found[0].error, "its failed child marks it");
        assert_eq!(found[0].span_count, 2);
        assert_eq!(found[0].duration_ms, 50e-6);
        let json = serde_json::to_value(&found[0]).expect("serializes");
        assert_eq!(json["root"]["span_id"], 30);
        assert!(by(TraceQuery {
            service: Some("db".into()),
            ..TraceQuery::default()
        })
        .is_empty());
        let spans = serde_json::to_value(store.get(3).expect("kept")).expect("serializes");
        assert_eq!(spans.as_array().map(Vec::len), Some(2));
    }
}
