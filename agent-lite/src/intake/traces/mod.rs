//! The trace intake on 8126, as tracers expect the Agent: `/v0.3|4|5/traces`, `/info`,
//! `/v0.7/config`, and the side channels (telemetry, client stats, ...) accepted and counted;
//! other intakes on the same port (profiles) come in as `extra` routes.
//!
//! By default `/info` does not advertise `/v0.6/stats` nor `client_drop_p0s`: tracers then send
//! every trace and compute no stats of their own, so the hits and errors agent-lite computes
//! equal what the tracer served, to the unit, and every trace is searchable. With
//! `--client-stats` it advertises both, as the Agent does: tracers then send their own stats
//! (merged into the same trace metrics) and mark their traces `Datadog-Client-Computed-Stats`,
//! which are then kept for search but not counted twice. Client stats are taken in both modes.

mod config;
pub mod decode;
mod msgpack_bounds;
mod payload;
#[cfg(test)]
mod tests;
pub mod truncate;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};
use axum::{Json, Router};
use futures_util::StreamExt as _;
use serde_json::json;

use crate::apm::trace_store::{Incoming, SharedTraces};
use crate::apm::trace_summary::Summary;
use crate::apm::{client_stats, stats};
use crate::counters::{Counter, Counters, Family};
use crate::http_server::{self, Refusals};
use crate::shutdown::Stop;
use crate::store::SharedStore;
pub use config::{Listeners, TraceIntakeConfig};
use decode::Version;
use payload::Payload;

/// What the intake writes: trace metrics into the metric store, the recent traces, and its
/// counters. The default writes to fresh stores of its own, with their default bounds
/// (tests, fuzzing).
#[derive(Clone, Default)]
pub struct Output {
    pub store: SharedStore,
    pub traces: SharedTraces,
    pub counters: Counters,
}

#[derive(Clone)]
struct Intake {
    out: Output,
    max_payload_bytes: usize,
    client_stats: bool,
}

/// Serves the intake on its listeners until `stop`.
pub async fn serve(
    listeners: Listeners,
    cfg: TraceIntakeConfig,
    out: Output,
    extra: Router,
    stop: Stop,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let refusals = Refusals {
        counters: out.counters.clone(),
        family: Family::TracesRejected,
    };
    let app = extra.merge(router(out, cfg.max_payload_bytes, cfg.client_stats));
    let tcp = http_server::serve(
        listeners.tcp,
        app.clone(),
        refusals.clone(),
        stop.clone().wait(),
    );
    let unix = async {
        match listeners.unix {
            Some(unix) => http_server::serve(unix, app, refusals, stop.wait())
                .await
                .context("trace intake (unix socket)"),
            None => Ok(()),
        }
    };
    tokio::try_join!(async { tcp.await.context("trace intake") }, unix)?;
    Ok(())
}

pub fn router(out: Output, max_payload_bytes: usize, client_stats: bool) -> Router {
    let intake = Intake {
        out,
        max_payload_bytes,
        client_stats,
    };
    Router::new()
        .route("/info", get(info))
        .route("/v0.3/traces", put(v03).post(v03))
        .route("/v0.4/traces", put(v04).post(v04))
        .route("/v0.5/traces", put(v05).post(v05))
        .route("/v0.6/stats", put(stats_payload).post(stats_payload))
        .route("/v0.7/config", any(remote_config))
        .fallback(side_channel)
        .layer(axum::middleware::from_fn_with_state(
            intake.clone(),
            refuse_announced_oversize,
        ))
        .with_state(intake)
}

/// A body announced (Content-Length) over the limit is refused before any of it is read: a
/// client that sent `Expect: 100-continue` (curl does, for big bodies) gets its 413 at once,
/// instead of an invitation to send megabytes that would be refused after, or a wait for
/// the body timeout when it waits for that invitation.
async fn refuse_announced_oversize(
    State(intake): State<Intake>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if announced_length(request.headers()).is_some_and(|n| n > intake.max_payload_bytes as u64) {
        let family = if request.uri().path().starts_with("/v0.6/stats") {
            Family::StatsRejected
        } else {
            Family::TracesRejected
        };
        return intake.too_large(family).into_response();
    }
    next.run(request).await
}

/// The body's length as its Content-Length announces it.
fn announced_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

async fn info(State(intake): State<Intake>) -> Json<serde_json::Value> {
    intake.out.counters.incr(Counter::TracesInfoRequests);
    let mut endpoints = vec![
        "/v0.3/traces",
        "/v0.4/traces",
        "/v0.5/traces",
        "/v0.7/config",
        "/telemetry/proxy/",
    ];
    if intake.client_stats {
        endpoints.push("/v0.6/stats");
    }
    Json(json!({
        "version": concat!("agent-lite-", env!("CARGO_PKG_VERSION")),
        "git_commit": "",
        "endpoints": endpoints,
        "client_drop_p0s": intake.client_stats,
        "span_meta_structs": false,
        "long_running_spans": false,
        "config": {
            "default_env": "none",
            "target_tps": 10,
            "max_eps": 200,
            "receiver_port": 8126,
            "max_request_bytes": intake.max_payload_bytes,
            "statsd_port": 8125,
            "analyzed_spans_by_service": {},
        },
        "peer_tags": []
    }))
}

async fn v03(s: State<Intake>, h: HeaderMap, b: Body) -> Response {
    traces(s, Version::V03, h, b).await
}
async fn v04(s: State<Intake>, h: HeaderMap, b: Body) -> Response {
    traces(s, Version::V04, h, b).await
}
async fn v05(s: State<Intake>, h: HeaderMap, b: Body) -> Response {
    traces(s, Version::V05, h, b).await
}

async fn traces(
    State(intake): State<Intake>,
    version: Version,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let body = match intake
        .read_body(&headers, body, Family::TracesRejected)
        .await
    {
        Ok(b) => b,
        Err(refused) => return refused.into_response(),
    };
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    // The tracer counted these itself and sends its stats to /v0.6/stats.
    let computed_by_client = headers
        .get("datadog-client-computed-stats")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.is_empty() && v != "false");
    if let Err(e) = receive(&intake.out, version, content_type, computed_by_client, body) {
        return (StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    // Tracers read sampling rates from the answer; Datadog's Rust tracer fails on an empty one.
    Json(json!({"rate_by_service": {"service:,env:": 1.0}})).into_response()
}

/// A trace payload's body, once read: decoded, counted, its stats recorded (unless the tracer
/// computed them) and its newest traces kept. A refusal is counted under
/// `traces.rejected.<reason>`, and leaves nothing else behind: stats and traces are written
/// only once the whole payload has decoded. Apart from the HTTP handler, for the fuzz
/// targets, which give it arbitrary bytes.
pub fn receive(
    out: &Output,
    version: Version,
    content_type: Option<&str>,
    computed_by_client: bool,
    body: Vec<u8>,
) -> Result<(), decode::DecodeError> {
    let counters = &out.counters;
    let refuse = |e: decode::DecodeError| {
        counters.incr_reason(Family::TracesRejected, e.reason());
        e
    };
    let body = decode::to_v04(version, content_type, body).map_err(refuse)?;
    let payload = Payload::new(version, body).map_err(refuse)?;

    // The newest traces that fit in the store are kept, and room is made for them before they
    // are decoded. (A payload refused after this has cost the oldest traces their place.)
    let kept_traces = out
        .traces
        .lock()
        .make_room_for_newest(payload.trace_bytes());
    let first_kept = payload.traces() - kept_traces;

    let mut aggs = stats::Aggregates::default();
    let mut kept = Vec::with_capacity(kept_traces);
    let mut spans = 0usize;
    let cut = payload
        .for_each_batch(|batch| {
            spans += batch.chunks.iter().map(Vec::len).sum::<usize>();
            if !computed_by_client {
                aggs.add(batch.chunks);
            }
            let skip = first_kept.saturating_sub(batch.first);
            for (range, chunk) in batch.ranges.iter().zip(batch.chunks).skip(skip) {
                let msgpack = batch.msgpack.slice(range.clone());
                if let Some(summary) = Summary::of(chunk, &msgpack) {
                    kept.push(Incoming { msgpack, summary });
                }
            }
        })
        .map_err(refuse)?;
    let traces = payload.traces();
    drop(payload);

    counters.add(Counter::TracesSpansTruncated, cut as u64);
    counters.incr_reason(Family::TracesPayloads, version.as_str());
    counters.add(Counter::TracesReceived, traces as u64);
    counters.add(Counter::TracesSpans, spans as u64);
    if computed_by_client {
        counters.add(Counter::TracesSpansWithClientStats, spans as u64);
    } else {
        let refused = aggs.write(&mut out.store.lock());
        counters.add(Counter::TracesStatsPointsRefused, refused);
    }
    let mut store = out.traces.lock();
    for trace in kept {
        store.insert(trace);
    }
    Ok(())
}

impl Intake {
    /// The answer refusing a body over the limit, counted under `<family>.rejected.too_large`.
    fn too_large(&self, family: Family) -> (StatusCode, String) {
        self.out.counters.incr_reason(family, "too_large");
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "payload over {} bytes (DD_APM_MAX_PAYLOAD_SIZE)",
                self.max_payload_bytes
            ),
        )
    }

    /// The body, read into one buffer sized by its Content-Length, or the answer refusing it
    /// (counted under `<family>.rejected.*`): 413 over the limit, 408 when it is cut off or
    /// sent slower than the body timeout allows. One buffer, because a busy tracer's payloads
    /// are megabytes, and buffering frames then joining them held each twice.
    async fn read_body(
        &self,
        headers: &HeaderMap,
        body: Body,
        family: Family,
    ) -> Result<Vec<u8>, (StatusCode, String)> {
        let limit = self.max_payload_bytes;
        let announced = announced_length(headers).unwrap_or(0);
        let mut buf = Vec::with_capacity(usize::try_from(announced).unwrap_or(limit).min(limit));
        let mut frames = body.into_data_stream();
        while let Some(frame) = frames.next().await {
            match frame {
                Ok(data) if buf.len() + data.len() <= limit => buf.extend_from_slice(&data),
                Ok(_) => return Err(self.too_large(family)),
                Err(e) => {
                    self.out.counters.incr_reason(family, "unreadable_body");
                    return Err((
                        StatusCode::REQUEST_TIMEOUT,
                        format!("the body could not be read: {e}"),
                    ));
                }
            }
        }
        Ok(buf)
    }
}

/// `/v0.6/stats`: a tracer's own stats, merged into the trace metrics.
async fn stats_payload(State(intake): State<Intake>, headers: HeaderMap, body: Body) -> Response {
    let body = match intake
        .read_body(&headers, body, Family::StatsRejected)
        .await
    {
        Ok(b) => b,
        Err(refused) => return refused.into_response(),
    };
    match receive_stats(&intake.out, &body) {
        Ok(()) => StatusCode::ACCEPTED.into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

/// A client stats payload's body, once read: decoded and merged into the trace metrics, or
/// refused whole and counted under `stats.rejected.<reason>`. Apart from the HTTP handler, for
/// the fuzz targets.
pub fn receive_stats(out: &Output, body: &[u8]) -> Result<(), client_stats::ClientStatsError> {
    let counters = &out.counters;
    let aggs = match client_stats::decode(body) {
        Ok(a) => a,
        Err(e) => {
            counters.incr_reason(Family::StatsRejected, e.reason());
            return Err(e);
        }
    };
    counters.incr(Counter::StatsPayloads);
    counters.add(Counter::StatsGroups, aggs.len() as u64);
    let refused = stats::write(&mut out.store.lock(), aggs);
    counters.add(Counter::TracesStatsPointsRefused, refused);
    Ok(())
}

/// Remote configuration: "nothing for you", in the form tracers take without logging errors.
async fn remote_config(State(intake): State<Intake>) -> Json<serde_json::Value> {
    intake
        .out
        .counters
        .incr_reason(Family::TracesSide, "remote_config");
    Json(json!({}))
}

/// The tracers' other channels: accepted and counted by family, so that a tracer logs no
/// error for them; unknown paths are 404 and counted too.
async fn side_channel(State(intake): State<Intake>, uri: Uri) -> StatusCode {
    let path = uri.path();
    let family = [
        ("/telemetry/proxy/", "telemetry"),
        ("/evp_proxy/", "evp_proxy"),
        ("/debugger/", "debugger"),
        ("/tracer_flare/", "tracer_flare"),
        ("/v0.1/pipeline_stats", "pipeline_stats"),
    ]
    .iter()
    .find(|(prefix, _)| path.starts_with(prefix))
    .map(|(_, family)| *family);
    match family {
        Some(f) => {
            intake.out.counters.incr_reason(Family::TracesSide, f);
            StatusCode::ACCEPTED
        }
        None => {
            intake
                .out
                .counters
                .incr_reason(Family::TracesSide, "unknown_path");
            StatusCode::NOT_FOUND
        }
    }
}
