//! Trace payloads to spans. msgpack (v0.3, v0.4, v0.5) goes through Datadog's own decoder
//! (libdd-trace-utils); JSON (v0.3 and v0.4 only, as the Agent takes it) through serde.

use std::collections::BTreeMap;

use bytes::Bytes;
use libdd_tinybytes::BytesString;
use serde::Deserialize;

use crate::apm::{detached, Chunk, Span, SpanView};

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

/// A payload's traces. msgpack spans are Datadog's `SpanBytes`, whose strings are slices of
/// the body's buffer: decoding copies no text, and neither does keeping a trace.
pub struct Decoded {
    pub chunks: Vec<Chunk>,
}

impl Decoded {
    pub fn traces(&self) -> usize {
        self.chunks.len()
    }

    pub fn spans(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// The newest traces whose kept size fits in `budget` bytes, oldest first, each with its
    /// size: what a store of that size would still hold after this payload. When they are
    /// a small part of the payload, their text is copied out, so that the store does not hold
    /// a large buffer for a few spans and its bound stays true.
    pub fn newest_within(mut self, budget: usize) -> Vec<(Chunk, usize)> {
        let total = self.spans();
        let mut used = 0usize;
        let mut sizes = Vec::new();
        for t in self.chunks.iter().rev() {
            let bytes = t.iter().map(SpanView::approx_bytes).sum::<usize>();
            if used + bytes > budget && !sizes.is_empty() {
                break;
            }
            used += bytes;
            sizes.push(bytes);
        }
        let kept = self.chunks.split_off(self.chunks.len() - sizes.len());
        let kept_spans: usize = kept.iter().map(Vec::len).sum();
        let detach = kept_spans * 2 < total;
        kept.into_iter()
            .zip(sizes.into_iter().rev())
            .map(|(chunk, bytes)| {
                if detach {
                    let chunk: Chunk = chunk.iter().map(detached).collect();
                    let bytes = chunk.iter().map(SpanView::approx_bytes).sum();
                    (chunk, bytes)
                } else {
                    (chunk, bytes)
                }
            })
            .collect()
    }
}

/// A tracer's body as Datadog's decoder takes it, without a copy.
struct Body(Bytes);

impl AsRef<[u8]> for Body {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl libdd_tinybytes::UnderlyingBytes for Body {}

pub fn decode(
    version: Version,
    content_type: Option<&str>,
    body: Bytes,
) -> Result<Decoded, DecodeError> {
    let json = content_type.is_some_and(|c| c.starts_with("application/json"));
    if json {
        if version == Version::V05 {
            return Err(DecodeError::UnsupportedContentType {
                version: version.as_str(),
                content_type: content_type.unwrap_or_default().to_owned(),
            });
        }
        let traces: Vec<Vec<JsonSpan>> =
            serde_json::from_slice(&body).map_err(|e| DecodeError::Json(e.to_string()))?;
        return Ok(Decoded {
            chunks: traces
                .into_iter()
                .map(|t| t.into_iter().map(Span::from).collect())
                .collect(),
        });
    }
    // Datadog's decoder reserves what the lengths announce before reading: they are bounded by
    // the body first, or a few bytes could abort the process (see msgpack_bounds).
    super::msgpack_bounds::check(&body).map_err(|reason| DecodeError::Msgpack {
        version: version.as_str(),
        reason: reason.to_owned(),
    })?;
    let body = libdd_tinybytes::Bytes::from_underlying(Body(body));
    let decoded = match version {
        // v0.3 msgpack has the v0.4 layout.
        Version::V03 | Version::V04 => libdd_trace_utils::msgpack_decoder::v04::from_bytes(body),
        Version::V05 => libdd_trace_utils::msgpack_decoder::v05::from_bytes(body),
    };
    let (chunks, _) = decoded.map_err(|e| DecodeError::Msgpack {
        version: version.as_str(),
        reason: e.to_string(),
    })?;
    Ok(Decoded { chunks })
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
            service: j.service.into(),
            name: j.name.into(),
            resource: j.resource.into(),
            r#type: j.kind.into(),
            trace_id: u128::from(j.trace_id),
            span_id: j.span_id,
            parent_id: j.parent_id,
            start: j.start,
            duration: j.duration,
            error: j.error,
            meta: j
                .meta
                .into_iter()
                .map(|(k, v)| (BytesString::from(k), BytesString::from(v)))
                .collect(),
            metrics: j
                .metrics
                .into_iter()
                .map(|(k, v)| (BytesString::from(k), v))
                .collect(),
            ..Span::default()
        }
    }
}
