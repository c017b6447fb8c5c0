//! APM: what agent-lite makes of the spans it receives - trace metrics per 10 s bucket
//! (`stats`) and the recent traces, complete and searchable (`trace_store`).

pub mod client_stats;
pub mod stats;
pub mod trace_store;

use std::collections::BTreeMap;
use std::mem::size_of;

use libdd_tinybytes::BytesString;
use serde::ser::SerializeStruct as _;
use serde::{Serialize, Serializer};

/// A span as Datadog's decoder gives it (the v0.4 model, which v0.3 and v0.5 payloads decode
/// to): its strings are slices of the payload's buffer, so a span kept in the trace store costs
/// a reference to that buffer, not a copy of every tag.
pub type Span = libdd_trace_utils::span::v04::SpanBytes;

/// A trace chunk: the spans of one trace a tracer sent together.
pub type Chunk = Vec<Span>;

/// What stats, search and the store's bound read of a span.
pub trait SpanView {
    fn service(&self) -> &str;
    fn name(&self) -> &str;
    fn resource(&self) -> &str;
    fn trace_id64(&self) -> u64;
    fn meta(&self, key: &str) -> Option<&str>;
    fn metric(&self, key: &str) -> Option<f64>;
    fn is_error(&self) -> bool;
    fn end_secs(&self) -> i64;
    /// The text the span holds (strings, tag keys and values).
    fn text_bytes(&self) -> usize;

    fn status_code(&self) -> Option<&str> {
        self.meta("http.status_code")
    }

    /// What the span takes in memory once kept: its struct, its tag tables, and its text
    /// (which lives in the payload's buffer when shared, in its own strings when detached).
    fn approx_bytes(&self) -> usize;
}

impl SpanView for Span {
    fn service(&self) -> &str {
        self.service.as_str()
    }
    fn name(&self) -> &str {
        self.name.as_str()
    }
    fn resource(&self) -> &str {
        self.resource.as_str()
    }
    /// 64-bit ids on the wire; the high half of a 128-bit id travels in `_dd.p.tid`.
    fn trace_id64(&self) -> u64 {
        self.trace_id as u64
    }
    fn meta(&self, key: &str) -> Option<&str> {
        self.meta.get(key).map(BytesString::as_str)
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
    fn text_bytes(&self) -> usize {
        let len = |s: &BytesString| s.as_str().len();
        let meta: usize = self.meta.iter().map(|(k, v)| len(k) + len(v)).sum();
        let metrics: usize = self.metrics.iter().map(|(k, _)| len(k)).sum();
        len(&self.service)
            + len(&self.name)
            + len(&self.resource)
            + len(&self.r#type)
            + meta
            + metrics
    }
    fn approx_bytes(&self) -> usize {
        size_of::<Span>()
            + self.meta.capacity() * size_of::<(BytesString, BytesString)>()
            + self.metrics.capacity() * size_of::<(BytesString, f64)>()
            + self.text_bytes()
    }
}

/// A copy of `span` that owns its text, so that it no longer holds its payload's buffer.
pub fn detached(span: &Span) -> Span {
    let own = |s: &BytesString| BytesString::from(s.as_str().to_owned());
    Span {
        service: own(&span.service),
        name: own(&span.name),
        resource: own(&span.resource),
        r#type: own(&span.r#type),
        trace_id: span.trace_id,
        span_id: span.span_id,
        parent_id: span.parent_id,
        start: span.start,
        duration: span.duration,
        error: span.error,
        meta: span.meta.iter().map(|(k, v)| (own(k), own(v))).collect(),
        metrics: span.metrics.iter().map(|(k, v)| (own(k), *v)).collect(),
        ..Span::default()
    }
}

/// A span as the API shows it: every field present, tags as objects sorted by key, the trace
/// id's low 64 bits (what the search and the page's links use).
pub struct SpanJson<'a>(pub &'a Span);

impl Serialize for SpanJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let s = self.0;
        let meta: BTreeMap<&str, &str> = s
            .meta
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let metrics: BTreeMap<&str, f64> =
            s.metrics.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let mut out = serializer.serialize_struct("Span", 12)?;
        out.serialize_field("service", s.service.as_str())?;
        out.serialize_field("name", s.name.as_str())?;
        out.serialize_field("resource", s.resource.as_str())?;
        out.serialize_field("type", s.r#type.as_str())?;
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

/// A list of spans as the API shows them.
pub struct SpansJson<'a>(pub &'a [Span]);

impl Serialize for SpansJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(SpanJson))
    }
}

#[cfg(test)]
pub mod test_span {
    use super::*;

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
    ) -> Span {
        let text = |s: &str| BytesString::from(s.to_owned());
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
