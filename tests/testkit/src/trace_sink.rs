//! A trace receiver that answers tracers as the Datadog Agent does (`/info`, `/v0.4/traces`
//! with `rate_by_service`, `/v0.7/config`, telemetry) and keeps every span, decoded with
//! Datadog's own msgpack decoder. It advertises no client-side stats, so a tracer sends every
//! trace and the counts here are exact.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{any, get, post, put};
use axum::{Json, Router};
use serde::Serialize;
use serde_json::json;

use crate::background::BackgroundServer;

/// A span as the tracer sent it (v0.4 field names).
#[derive(Debug, Clone, Serialize)]
pub struct Span {
    pub service: String,
    pub name: String,
    pub resource: String,
    pub r#type: String,
    pub trace_id: u64,
    pub span_id: u64,
    pub parent_id: u64,
    pub start: i64,
    pub duration: i64,
    pub error: i32,
    pub meta: BTreeMap<String, String>,
    pub metrics: BTreeMap<String, f64>,
}

/// One request the sink received, for assertions on paths and headers.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Counts {
    pub payloads: u64,
    pub traces: u64,
    pub spans: u64,
    pub rejected: u64,
}

#[derive(Default)]
struct Inner {
    spans: Vec<Span>,
    requests: Vec<Request>,
    counts: Counts,
    /// Keep spans (tests) or only count them (benches at full speed).
    keep_spans: bool,
}

#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct TraceSink {
    pub addr: SocketAddr,
    shared: Shared,
    _server: BackgroundServer,
}

impl TraceSink {
    /// Starts a sink on a free loopback port that keeps every span.
    pub fn start() -> Self {
        Self::start_on(crate::ANY_LOOPBACK_PORT, true).expect("starting the trace sink")
    }

    pub fn start_on(addr: SocketAddr, keep_spans: bool) -> anyhow::Result<Self> {
        let shared = Shared::default();
        shared.lock().keep_spans = keep_spans;
        let server = BackgroundServer::start("trace-sink", addr, router(shared.clone()))?;
        Ok(Self {
            addr: server.addr,
            shared,
            _server: server,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn spans(&self) -> Vec<Span> {
        self.shared.lock().spans.clone()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.shared.lock().requests.clone()
    }

    pub fn counts(&self) -> Counts {
        self.shared.lock().counts.clone()
    }

    /// Blocks (the calling thread) until the sink is told to stop over HTTP or the process ends.
    pub fn serve_forever(self) {
        loop {
            std::thread::park();
        }
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/info", get(info))
        .route("/v0.4/traces", put(traces_v04).post(traces_v04))
        .route("/v0.7/config", post(|| async { Json(json!({})) }))
        .route("/test/counts", get(counts))
        .route("/test/traces", get(all_spans))
        .fallback(any(other))
        // The Agent takes payloads up to 25 MB (apm_config.max_payload_size); so do we.
        .layer(axum::extract::DefaultBodyLimit::max(25 * 1024 * 1024))
        .with_state(shared)
}

fn record(shared: &Shared, method: &str, uri: &Uri, headers: &HeaderMap) {
    let headers = headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    shared.lock().requests.push(Request {
        method: method.to_owned(),
        path: uri.path().to_owned(),
        headers,
    });
}

async fn info(State(shared): State<Shared>, uri: Uri, headers: HeaderMap) -> impl IntoResponse {
    record(&shared, "GET", &uri, &headers);
    Json(json!({
        "version": "lab-testkit",
        "endpoints": ["/v0.4/traces", "/v0.7/config", "/telemetry/proxy/"],
        "client_drop_p0s": false,
        "span_meta_structs": true,
        "config": {"statsd_port": 8125}
    }))
}

async fn traces_v04(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    record(&shared, "PUT", &uri, &headers);
    let decoded = libdd_trace_utils::msgpack_decoder::v04::from_slice(&body);
    let mut inner = shared.lock();
    match decoded {
        Ok((traces, _)) => {
            inner.counts.payloads += 1;
            inner.counts.traces += traces.len() as u64;
            for trace in &traces {
                inner.counts.spans += trace.len() as u64;
                if inner.keep_spans {
                    for s in trace {
                        inner.spans.push(Span {
                            service: s.service.to_string(),
                            name: s.name.to_string(),
                            resource: s.resource.to_string(),
                            r#type: s.r#type.to_string(),
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
                        });
                    }
                }
            }
            (
                StatusCode::OK,
                Json(json!({"rate_by_service": {"service:,env:": 1.0}})),
            )
                .into_response()
        }
        Err(e) => {
            inner.counts.rejected += 1;
            (
                StatusCode::BAD_REQUEST,
                format!("undecodable v0.4 payload: {e}"),
            )
                .into_response()
        }
    }
}

async fn counts(State(shared): State<Shared>) -> impl IntoResponse {
    Json(shared.lock().counts.clone())
}

async fn all_spans(State(shared): State<Shared>) -> impl IntoResponse {
    Json(shared.lock().spans.clone())
}

async fn other(
    State(shared): State<Shared>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
) -> impl IntoResponse {
    record(&shared, method.as_str(), &uri, &headers);
    StatusCode::ACCEPTED
}
