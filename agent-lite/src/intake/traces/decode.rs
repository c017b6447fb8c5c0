//! Trace payloads to one layout, v0.4 msgpack. msgpack goes through Datadog's own decoder and
//! encoder (libdd-trace-utils); JSON (v0.3 and v0.4 only, as the Agent takes it) through serde.

use std::collections::BTreeMap;

use libdd_tinybytes::BytesString;
use libdd_trace_utils::msgpack_decoder::v05;
use libdd_trace_utils::msgpack_encoder::v04::to_vec_from_v04;
use libdd_trace_utils::span::v04::SpanBytes;
use serde::Deserialize;

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

/// The payload as v0.4 msgpack, the one layout the rest of the intake reads: v0.3 and v0.4
/// msgpack as they came (v0.3 has the v0.4 layout), v0.5 msgpack and JSON decoded (Datadog's
/// decoder, serde) and encoded again by Datadog's v0.4 encoder.
pub fn to_v04(
    version: Version,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Vec<u8>, DecodeError> {
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
        let chunks: Vec<Vec<SpanBytes>> = traces
            .into_iter()
            .map(|t| t.into_iter().map(SpanBytes::from).collect())
            .collect();
        return Ok(to_vec_from_v04(&chunks));
    }
    if version != Version::V05 {
        return Ok(body);
    }
    // Datadog's decoder reserves what the lengths announce before reading: they are bounded by
    // the body first, or a few bytes could abort the process (see msgpack_bounds).
    super::msgpack_bounds::check(&body).map_err(|reason| msgpack_error(version, reason))?;
    let (chunks, _) = v05::from_slice(&body).map_err(|e| msgpack_error(version, e))?;
    Ok(to_vec_from_v04(&chunks))
}

pub fn msgpack_error(version: Version, reason: impl ToString) -> DecodeError {
    DecodeError::Msgpack {
        version: version.as_str(),
        reason: reason.to_string(),
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

impl From<JsonSpan> for SpanBytes {
    fn from(j: JsonSpan) -> Self {
        SpanBytes {
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
            ..SpanBytes::default()
        }
    }
}
