//! Profiles, taken where the Agent takes them: `POST /profiling/v1/input` on the trace port
//! (8126). The Agent only forwards them to Datadog's intake; agent-lite reads them and keeps
//! them, so that the page can draw flame graphs without an account.
//!
//! An upload is multipart/form-data as libdatadog's exporter (behind Python's, Ruby's, PHP's,
//! .NET's and the Rust profilers) sends it: a part `event` (`event.json`: attachment names,
//! `tags_profiler`, `start`, `end`, `family`) and one part per attachment, the pprof
//! compressed (zstd; gzip from older exporters). Refusals are 400s with the reason (413 over
//! the size limit), counted as `profiles.rejected.<reason>`; nothing of a refused upload is
//! kept.

mod config;
mod error;
mod event;
pub mod flame;
pub mod pprof;
pub mod store;
#[cfg(test)]
mod tests;
mod upload;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde_json::json;

use crate::counters::{Counter, Counters, Family};
use crate::hostname::Hostname;
pub use config::ProfilesConfig;
pub use error::ProfileError;
use event::Event;
use store::{Attachment, Meta};
pub use store::{ProfileStore, SharedProfiles};

/// What the intake writes: the profiles kept and its counters; the host names profiles whose
/// profiler sent no `host` tag (the Agent's proxy adds its own host name too).
#[derive(Clone)]
pub struct Output {
    pub profiles: SharedProfiles,
    pub counters: Counters,
    pub host: Hostname,
}

impl Default for Output {
    fn default() -> Self {
        Self {
            profiles: SharedProfiles::default(),
            counters: Counters::default(),
            host: Hostname::new("localhost"),
        }
    }
}

#[derive(Clone)]
struct Intake {
    out: Output,
    max_upload_bytes: usize,
}

/// The intake's routes, merged into the trace intake's router (same port as the Agent's).
pub fn router(out: Output, cfg: &ProfilesConfig) -> Router {
    Router::new()
        .route("/profiling/v1/input", post(input))
        .with_state(Intake {
            out,
            max_upload_bytes: cfg.max_upload_bytes,
        })
}

async fn input(State(intake): State<Intake>, headers: HeaderMap, body: Body) -> Response {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match read_body(&headers, body, intake.max_upload_bytes).await {
        Ok(b) => b,
        Err(e) => return refuse(&intake.out.counters, e),
    };
    // Decompressing and decoding a profile is a few milliseconds of CPU: off the runtime's
    // workers, which serve the traces.
    let out = intake.out.clone();
    let max = intake.max_upload_bytes;
    let done =
        tokio::task::spawn_blocking(move || receive(&out, content_type.as_deref(), body, max))
            .await;
    match done {
        Ok(Ok(id)) => (StatusCode::OK, Json(json!({"id": id.to_string()}))).into_response(),
        // Counted by receive; answered here with its reason.
        Ok(Err(e)) => (e.status(), e.to_string()).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the upload could not be read: {e}"),
        )
            .into_response(),
    }
}

fn refuse(counters: &Counters, e: ProfileError) -> Response {
    counters.incr_reason(Family::ProfilesRejected, e.reason());
    (e.status(), e.to_string()).into_response()
}

/// The body, up to `limit` bytes (413 past it, announced or not).
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ProfileError> {
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(ProfileError::TooLarge(limit));
    }
    let mut buf = Vec::with_capacity(announced.unwrap_or(0).min(limit as u64) as usize);
    let mut frames = body.into_data_stream();
    while let Some(frame) = frames.next().await {
        let data = frame.map_err(|e| ProfileError::Unreadable(e.to_string()))?;
        if buf.len() + data.len() > limit {
            return Err(ProfileError::TooLarge(limit));
        }
        buf.extend_from_slice(&data);
    }
    Ok(Bytes::from(buf))
}

/// An upload's body, once read: split, its event read, each pprof attachment decoded, then
/// kept (oldest out); its id. A refusal is counted under `profiles.rejected.<reason>` and
/// keeps nothing. Apart from the HTTP handler, for the fuzz target.
pub fn receive(
    out: &Output,
    content_type: Option<&str>,
    body: Bytes,
    max_upload_bytes: usize,
) -> Result<u64, ProfileError> {
    let result = decode_upload(out, content_type, body, max_upload_bytes);
    match result {
        Ok((meta, attachments)) => {
            out.counters.incr(Counter::ProfilesReceived);
            Ok(out.profiles.lock().insert(meta, attachments))
        }
        Err(e) => {
            out.counters
                .incr_reason(Family::ProfilesRejected, e.reason());
            Err(e)
        }
    }
}

fn decode_upload(
    out: &Output,
    content_type: Option<&str>,
    body: Bytes,
    max_upload_bytes: usize,
) -> Result<(Meta, Vec<Attachment>), ProfileError> {
    if body.len() > max_upload_bytes {
        return Err(ProfileError::TooLarge(max_upload_bytes));
    }
    let parts = upload::parts(content_type, body)?;
    let event = parts
        .iter()
        .find(|p| p.name == "event")
        .ok_or(ProfileError::NoEvent)?;
    let event = Event::parse(&event.bytes)?;
    let mut attachments = Vec::new();
    for name in &event.attachments {
        let part = parts
            .iter()
            .find(|p| p.name != "event" && (p.attachment_name() == name || p.name == *name))
            .ok_or_else(|| ProfileError::MissingAttachment(name.clone()))?;
        // Other attachments (code-provenance.json, ...) are not profiles: not kept.
        if !name.ends_with(".pprof") {
            continue;
        }
        let profile = pprof::decode(&part.bytes).map_err(|e| match e {
            pprof::PprofError::Compression(reason) => ProfileError::Compression {
                name: name.clone(),
                reason,
            },
            pprof::PprofError::Protobuf(reason) => ProfileError::Pprof {
                name: name.clone(),
                reason,
            },
        })?;
        attachments.push(Attachment {
            name: name.clone(),
            uploaded: part.bytes.clone(),
            sample_types: pprof::sample_types(&profile),
            measured: pprof::measured(&profile),
        });
    }
    if attachments.is_empty() {
        return Err(ProfileError::NoPprof);
    }
    Ok((meta_of(&event, &out.host), attachments))
}

fn meta_of(event: &Event, host: &Hostname) -> Meta {
    let tag = |k: &str| event.tag(k).map(str::to_owned);
    let family = event.family.clone();
    Meta {
        // Datadog's default service for a profiler that names none.
        service: tag("service").unwrap_or_else(|| format!("unnamed-{family}-service")),
        env: tag("env").unwrap_or_else(|| "none".to_owned()),
        version: tag("version").unwrap_or_default(),
        host: tag("host").unwrap_or_else(|| host.as_str().to_owned()),
        runtime: tag("runtime").unwrap_or_else(|| family.clone()),
        family,
        start: event.start,
        end: event.end,
        tags: event.tags.clone(),
    }
}
