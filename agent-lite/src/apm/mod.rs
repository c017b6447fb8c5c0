//! APM: what agent-lite makes of the spans it receives - trace metrics per 10 s bucket
//! (`stats`) and the recent traces, complete and searchable (`trace_store`, with the summary
//! of each trace that search reads in `trace_summary`).

pub mod client_stats;
mod config;
pub mod service_map;
pub mod stats;
pub mod trace_store;
pub mod trace_summary;

pub use config::TraceStoreConfig;

use std::borrow::Borrow;
use std::collections::BTreeMap;

use libdd_trace_utils::span::v04;
use libdd_trace_utils::span::TraceData;
use serde::ser::SerializeStruct as _;
use serde::{Serialize, Serializer};

/// A span as Datadog's decoder reads it in place: its texts borrow the msgpack it was read
/// from. agent-lite decodes every payload to this one model (v0.3, v0.5 and JSON payloads are
/// first re-encoded as v0.4), and keeps traces as their msgpack, not as decoded spans.
pub type Span<'a> = v04::SpanSlice<'a>;

/// What stats and search read of a span, whatever holds its texts.
pub trait SpanView {
    fn service(&self) -> &str;
    fn name(&self) -> &str;
    fn resource(&self) -> &str;
    fn trace_id64(&self) -> u64;
    fn meta(&self, key: &str) -> Option<&str>;
    fn metric(&self, key: &str) -> Option<f64>;
    fn is_error(&self) -> bool;
    fn end_secs(&self) -> i64;

    fn status_code(&self) -> Option<&str> {
        self.meta("http.status_code")
    }
}

impl<T: TraceData> SpanView for v04::Span<T> {
    fn service(&self) -> &str {
        self.service.borrow()
    }
    fn name(&self) -> &str {
        self.name.borrow()
    }
    fn resource(&self) -> &str {
        self.resource.borrow()
    }
    /// 64-bit ids on the wire; the high half of a 128-bit id travels in `_dd.p.tid`.
    fn trace_id64(&self) -> u64 {
        self.trace_id as u64
    }
    fn meta(&self, key: &str) -> Option<&str> {
        self.meta.get(key).map(Borrow::borrow)
    }
    fn metric(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).copied()
    }
    fn is_error(&self) -> bool {
        self.error != 0
    }
    fn end_secs(&self) -> i64 {
        self.start.saturating_add(self.duration) / 1_000_000_000
    }
}

/// `count` msgpack values (`values`, already encoded) made into one array: a run of traces
/// made a payload again, which is the only input Datadog's decoder takes.
pub fn behind_array_header(count: usize, values: &[&[u8]]) -> Vec<u8> {
    let len: usize = values.iter().map(|v| v.len()).sum();
    let mut out = Vec::with_capacity(len + 5);
    // Writing to a Vec cannot fail.
    let _ = rmp::encode::write_array_len(&mut out, count as u32);
    for v in values {
        out.extend_from_slice(v);
    }
    out
}

/// A span as the API shows it: every field present, tags as objects sorted by key, the trace
/// id's low 64 bits (what the search and the page's links use).
pub struct SpanJson<'a, 'b>(pub &'a Span<'b>);

impl Serialize for SpanJson<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let meta: BTreeMap<&str, &str> = s
            .meta
            .iter()
            .map(|(k, v)| (k.borrow(), v.borrow()))
            .collect();
        let metrics: BTreeMap<&str, f64> =
            s.metrics.iter().map(|(k, v)| (k.borrow(), *v)).collect();
        let mut out = serializer.serialize_struct("Span", 12)?;
        out.serialize_field("service", s.service())?;
        out.serialize_field("name", s.name())?;
        out.serialize_field("resource", s.resource())?;
        out.serialize_field("type", &*s.r#type)?;
        out.serialize_field("trace_id", &s.trace_id64())?;
        out.serialize_field("span_id", &s.span_id)?;
        out.serialize_field("parent_id", &s.parent_id)?;
        out.serialize_field("start", &s.start)?;
        out.serialize_field("duration", &s.duration)?;
        out.serialize_field("error", &s.error)?;
        out.serialize_field("meta", &meta)?;
        out.serialize_field("metrics", &metrics)?;
        out.end()
    }
}

#[cfg(test)]
pub mod test_span {
    use super::*;
    use std::borrow::Cow;

    /// A span for unit tests, tags given as pairs.
    #[allow(clippy::too_many_arguments)]
    pub fn span(
        trace_id: u64,
        span_id: u64,
        parent_id: u64,
        service: &str,
        name: &str,
        error: i32,
        duration_ns: i64,
        meta: &[(&str, &str)],
    ) -> Span<'static> {
        let text = |s: &str| Cow::Owned(s.to_owned());
        Span {
            service: text(service),
            name: text(name),
            resource: text("GET /"),
            r#type: text("web"),
            trace_id: u128::from(trace_id),
            span_id,
            parent_id,
            start: 1_000_000_000_000,
            duration: duration_ns,
            error,
            meta: meta.iter().map(|(k, v)| (text(k), text(v))).collect(),
            ..Span::default()
        }
    }
}
