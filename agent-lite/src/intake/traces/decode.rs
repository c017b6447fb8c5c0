//! Trace payloads to spans. msgpack (v0.3, v0.4, v0.5) goes through Datadog's own decoder
//! (libdd-trace-utils); JSON (v0.3 and v0.4 only, as the Agent takes it) through serde.

use std::collections::BTreeMap;

use libdd_trace_utils::span::v04::SpanSlice;
use serde::Deserialize;

use crate::apm::{Chunk, Span, SpanView};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V03,
    V04,
    V05,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V03 => "v0.3",
            Version::V04 => "v0.4",
            Version::V05 => "v0.5",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("invalid msgpack {version} payload: {reason}")]
    Msgpack {
        version: &'static str,
        reason: String,
    },
    #[error("invalid JSON payload: {0}")]
    Json(String),
    #[error("{version} payloads are msgpack only, got Content-Type {content_type}")]
    UnsupportedContentType {
        version: &'static str,
        content_type: String,
    },
}

impl DecodeError {
    /// The reason counted in `datadog.agent_lite.traces.rejected`.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Msgpack { .. } => "invalid_msgpack",
            DecodeError::Json(_) => "invalid_json",
            DecodeError::UnsupportedContentType { .. } => "unsupported_content_type",
        }
    }
}

/// A payload's traces: borrowed from the body when it was msgpack (Datadog's zero-copy
/// decoder), owned when JSON.
pub enum Decoded<'a> {
    Borrowed(Vec<Vec<SpanSlice<'a>>>),
    Owned(Vec<Chunk>),
}

impl Decoded<'_> {
    pub fn traces(&self) -> usize {
        match self {
            Decoded::Borrowed(t) => t.len(),
            Decoded::Owned(t) => t.len(),
        }
    }

    pub fn spans(&self) -> usize {
        match self {
            Decoded::Borrowed(t) => t.iter().map(Vec::len).sum(),
            Decoded::Owned(t) => t.iter().map(Vec::len).sum(),
        }
    }

    /// The newest traces whose kept size fits in `budget` bytes, owned, oldest first: what a
    /// store of that size would still hold after this payload.
    pub fn newest_within(self, budget: usize) -> Vec<Chunk> {
        fn take<S: SpanView>(traces: &[Vec<S>], budget: usize) -> usize {
            let mut used = 0usize;
            let mut n = 0;
            for t in traces.iter().rev() {
                used += t.iter().map(SpanView::approx_bytes).sum::<usize>();
                if used > budget && n > 0 {
                    break;
                }
                n += 1;
            }
            n
        }
        match self {
            Decoded::Borrowed(t) => {
                let n = take(&t, budget);
                t[t.len() - n..]
                    .iter()
                    .map(|c| c.iter().map(from_slice).collect())
                    .collect()
            }
            Decoded::Owned(mut t) => {
                let n = take(&t, budget);
                t.split_off(t.len() - n)
            }
        }
    }
}

pub fn decode<'a>(
    version: Version,
    content_type: Option<&str>,
    body: &'a [u8],
) -> Result<Decoded<'a>, DecodeError> {
    let json = content_type.is_some_and(|c| c.starts_with("application/json"));
    if json {
        if version == Version::V05 {
            return Err(DecodeError::UnsupportedContentType {
                version: version.as_str(),
                content_type: content_type.unwrap_or_default().to_owned(),
            });
        }
        let traces: Vec<Vec<JsonSpan>> =
            serde_json::from_slice(body).map_err(|e| DecodeError::Json(e.to_string()))?;
        return Ok(Decoded::Owned(
            traces
                .into_iter()
                .map(|t| t.into_iter().map(Span::from).collect())
                .collect(),
        ));
    }
    let decoded = match version {
        // v0.3 msgpack has the v0.4 layout.
        Version::V03 | Version::V04 => libdd_trace_utils::msgpack_decoder::v04::from_slice(body),
        Version::V05 => libdd_trace_utils::msgpack_decoder::v05::from_slice(body),
    };
    let (traces, _) = decoded.map_err(|e| DecodeError::Msgpack {
        version: version.as_str(),
        reason: e.to_string(),
    })?;
    Ok(Decoded::Borrowed(traces))
}

fn from_slice(s: &SpanSlice<'_>) -> Span {
    Span {
        service: s.service.to_string(),
        name: s.name.to_string(),
        resource: s.resource.to_string(),
        r#type: s.r#type.to_string(),
        // 64-bit ids on the wire; the high half of a 128-bit id travels in _dd.p.tid.
        trace_id: s.trace_id as u64,
        span_id: s.span_id,
        parent_id: s.parent_id,
        start: s.start,
        duration: s.duration,
        error: s.error,
        meta: s
            .meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        metrics: s.metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

/// A span in a JSON payload (v0.3/v0.4 field names; missing fields take their zero value).
#[derive(Debug, Deserialize)]
struct JsonSpan {
    #[serde(default)]
    service: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    resource: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    trace_id: u64,
    #[serde(default)]
    span_id: u64,
    #[serde(default)]
    parent_id: u64,
    #[serde(default)]
    start: i64,
    #[serde(default)]
    duration: i64,
    #[serde(default)]
    error: i32,
    #[serde(default)]
    meta: BTreeMap<String, String>,
    #[serde(default)]
    metrics: BTreeMap<String, f64>,
}

impl From<JsonSpan> for Span {
    fn from(j: JsonSpan) -> Self {
        Span {
            service: j.service,
            name: j.name,
            resource: j.resource,
            r#type: j.kind,
            trace_id: j.trace_id,
            span_id: j.span_id,
            parent_id: j.parent_id,
            start: j.start,
            duration: j.duration,
            error: j.error,
            meta: j.meta,
            metrics: j.metrics,
        }
    }
}
