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

impl Span {
    pub fn end_secs(&self) -> i64 {
        (self.start.saturating_add(self.duration)) / 1_000_000_000
    }

    /// About what the span takes in memory, for the trace store's bound.
    pub fn approx_bytes(&self) -> usize {
        const SPAN: usize = 160;
        const ENTRY: usize = 64;
        SPAN + self.service.len()
            + self.name.len()
            + self.resource.len()
            + self.r#type.len()
            + self
                .meta
                .iter()
                .map(|(k, v)| ENTRY + k.len() + v.len())
                .sum::<usize>()
            + self.metrics.keys().map(|k| ENTRY + k.len()).sum::<usize>()
    }

    pub fn status_code(&self) -> Option<&str> {
        self.meta.get("http.status_code").map(String::as_str)
    }
}

/// A trace chunk: the spans of one trace a tracer sent together.
pub type Chunk = Vec<Span>;
