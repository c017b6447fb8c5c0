//! Log lines as Datadog's log explorer shows them - time, status, service, message, the trace
//! they belong to, and the rest as attributes - in a bounded ring, searched newest first.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogRecord {
    /// Seconds since the epoch (fractional).
    pub timestamp: f64,
    /// Datadog's statuses: error, warn, info, debug.
    pub status: String,
    pub service: Option<String>,
    pub env: Option<String>,
    pub version: Option<String>,
    pub message: String,
    /// `dd.trace_id`: the low 64 bits in decimal, the form trace ids take in the trace API.
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub host: Option<String>,
    /// Where the line came from: a file path; for a container, the `source` of its
    /// `com.datadoghq.ad.logs` label, else its short image (the Agent's default).
    pub source: String,
    /// The container the line came from; absent for file lines, so their shape is unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_image: Option<String>,
    pub attributes: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct LogQuery {
    /// Words that must all appear in the message (case-insensitive).
    pub query: Option<String>,
    pub service: Option<String>,
    pub status: Option<String>,
    pub trace_id: Option<String>,
    pub from: Option<f64>,
    pub to: Option<f64>,
    pub limit: Option<usize>,
}

#[derive(Debug)]
pub struct Logs {
    ring: VecDeque<LogRecord>,
    capacity: usize,
    pub dropped: u64,
}

/// Search results and, over every matching line, the count per service and per status.
#[derive(Debug, Serialize)]
pub struct Found<'a> {
    pub logs: Vec<&'a LogRecord>,
    pub total: usize,
    pub facets: BTreeMap<&'static str, BTreeMap<String, u64>>,
}

/// The default bound: 100,000 lines (as `agent-lite run` starts).
impl Default for Logs {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl Logs {
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: VecDeque::new(),
            capacity: capacity.max(1),
            dropped: 0,
        }
    }

    pub fn push(&mut self, record: LogRecord) {
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
            self.dropped += 1;
        }
        self.ring.push_back(record);
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn search(&self, q: &LogQuery) -> Found<'_> {
        let words: Vec<String> = q
            .query
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        let limit = q.limit.unwrap_or(100).min(1000);
        let mut facets: BTreeMap<&'static str, BTreeMap<String, u64>> = BTreeMap::new();
        let mut logs = Vec::new();
        let mut total = 0;
        for r in self.ring.iter().rev() {
            let matches = q
                .service
                .as_ref()
                .is_none_or(|s| r.service.as_ref() == Some(s))
                && q.status.as_ref().is_none_or(|s| &r.status == s)
                && q.trace_id
                    .as_ref()
                    .is_none_or(|t| r.trace_id.as_ref() == Some(t))
                && q.from.is_none_or(|f| r.timestamp >= f)
                && q.to.is_none_or(|t| r.timestamp <= t)
                && (words.is_empty() || {
                    let m = r.message.to_lowercase();
                    words.iter().all(|w| m.contains(w.as_str()))
                });
            if !matches {
                continue;
            }
            total += 1;
            *facets
                .entry("service")
                .or_default()
                .entry(r.service.clone().unwrap_or_else(|| "none".into()))
                .or_default() += 1;
            *facets
                .entry("status")
                .or_default()
                .entry(r.status.clone())
                .or_default() += 1;
            if logs.len() < limit {
                logs.push(r);
            }
        }
        Found {
            logs,
            total,
            facets,
        }
    }
}

/// The log store as the components share it.
pub type SharedLogs = crate::locked::Locked<Logs>;
