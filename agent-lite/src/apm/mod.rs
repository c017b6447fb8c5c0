//! APM: what agent-lite makes of the spans it receives - trace metrics per 10 s bucket
//! (`stats`) and the recent traces, complete and searchable (`trace_store`).

pub mod client_stats;
pub mod stats;
pub mod trace_store;

use std::collections::BTreeMap;

use serde::Serialize;

/// A span as tracers send it (the v0.4 model, which v0.3 and v0.5 payloads decode to).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Span {
    pub service: String,
    pub name: String,
    pub resource: String,
    pub r#type: String,
    pub trace_id: u64,
    pub span_id: u64,
    pub parent_id: u64,
    /// Nanoseconds since the epoch.
    pub start: i64,
    /// Nanoseconds.
    pub duration: i64,
    pub error: i32,
    pub meta: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
}

/// A trace chunk: the spans of one trace a tracer sent together.
pub type Chunk = Vec<Span>;

/// What stats and the store's bound read of a span, whether it is kept (`Span`) or still
/// borrowed from the payload it came in (Datadog's decoder's `SpanSlice`): most spans of a
/// busy service are counted and never kept, so they are never copied.
pub trait SpanView {
    fn service(&self) -> &str;
    fn name(&self) -> &str;
    fn resource(&self) -> &str;
    fn span_id(&self) -> u64;
    fn parent_id(&self) -> u64;
    fn start(&self) -> i64;
    fn duration(&self) -> i64;
    fn is_error(&self) -> bool;
    fn meta(&self, key: &str) -> Option<&str>;
    fn metric(&self, key: &str) -> Option<f64>;
    /// The text of every tag and the number of metrics, for `approx_bytes`.
    fn tag_text(&self) -> (usize, usize, usize);

    fn end_secs(&self) -> i64 {
        self.start().saturating_add(self.duration()) / 1_000_000_000
    }

    fn status_code(&self) -> Option<&str> {
        self.meta("http.status_code")
    }

    /// About what the span takes in memory once kept, for the trace store's bound. The
    /// constants are calibrated on the process's RSS under the benchmark's payloads (jemalloc,
    /// x86_64): a span and its maps' nodes, and each tag's two strings with their size-class
    /// rounding.
    fn approx_bytes(&self) -> usize {
        const SPAN: usize = 280;
        const ENTRY: usize = 112;
        let text = |n: usize| n + n / 4;
        let (tag_bytes, tags, metrics) = self.tag_text();
        SPAN + text(self.service().len() + self.name().len() + self.resource().len())
            + text(tag_bytes)
            + ENTRY * (tags + metrics)
    }
}

impl SpanView for Span {
    fn service(&self) -> &str {
        &self.service
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn resource(&self) -> &str {
        &self.resource
    }
    fn span_id(&self) -> u64 {
        self.span_id
    }
    fn parent_id(&self) -> u64 {
        self.parent_id
    }
    fn start(&self) -> i64 {
        self.start
    }
    fn duration(&self) -> i64 {
        self.duration
    }
    fn is_error(&self) -> bool {
        self.error != 0
    }
    fn meta(&self, key: &str) -> Option<&str> {
        self.meta.get(key).map(String::as_str)
    }
    fn metric(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).copied()
    }
    fn tag_text(&self) -> (usize, usize, usize) {
        let meta: usize = self.meta.iter().map(|(k, v)| k.len() + v.len()).sum();
        let metrics: usize = self.metrics.keys().map(String::len).sum();
        (
            meta + metrics + self.r#type.len(),
            self.meta.len(),
            self.metrics.len(),
        )
    }
}

impl SpanView for libdd_trace_utils::span::v04::SpanSlice<'_> {
    fn service(&self) -> &str {
        &self.service
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn resource(&self) -> &str {
        &self.resource
    }
    fn span_id(&self) -> u64 {
        self.span_id
    }
    fn parent_id(&self) -> u64 {
        self.parent_id
    }
    fn start(&self) -> i64 {
        self.start
    }
    fn duration(&self) -> i64 {
        self.duration
    }
    fn is_error(&self) -> bool {
        self.error != 0
    }
    fn meta(&self, key: &str) -> Option<&str> {
        self.meta.get(key).map(AsRef::as_ref)
    }
    fn metric(&self, key: &str) -> Option<f64> {
        self.metrics.get(key).copied()
    }
    fn tag_text(&self) -> (usize, usize, usize) {
        let meta: usize = self.meta.iter().map(|(k, v)| k.len() + v.len()).sum();
        let metrics: usize = self.metrics.iter().map(|(k, _)| k.len()).sum();
        (
            meta + metrics + self.r#type.len(),
            self.meta.len(),
            self.metrics.len(),
        )
    }
}
