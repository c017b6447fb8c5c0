//! The client span of an outgoing HTTP call, with Datadog's conventions for it: operation
//! `http.client.request`, span kind client, type `http`, `out.host`,
//! `network.destination.port` and `peer.service` (what the Agent's stats and Datadog's service
//! map take a call's destination from), and the trace context injected as Datadog
//! (`x-datadog-*`) and W3C (`traceparent`, `tracestate`) headers by the propagator the tracer
//! installs (DD_TRACE_PROPAGATION_STYLE, both by default), so the callee's spans join the trace.

use reqwest::header::HeaderMap;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::header_injector::HeaderInjector;

/// Datadog's operation name for an HTTP client span.
pub const OPERATION: &str = "http.client.request";

/// Where a call goes, for the span's peer tags.
pub struct Peer<'a> {
    /// The service called (`peer.service`).
    pub service: &'a str,
    pub host: &'a str,
    pub port: u16,
}

/// A client span for `method path` on `url`; the response's status and any error are recorded
/// by [`record_status`] and [`record_error`].
pub fn span(peer: &Peer<'_>, method: &str, path: &str, url: &str) -> tracing::Span {
    let resource = format!("{method} {path}");
    tracing::info_span!(
        "http.client",
        otel.kind = "client",
        otel.status_code = Empty,
        operation.name = OPERATION,
        resource.name = resource.as_str(),
        span.type = "http",
        component = "reqwest",
        http.request.method = method,
        url.full = url,
        out.host = peer.host,
        network.destination.port = i64::from(peer.port),
        peer.service = peer.service,
        http.response.status_code = Empty,
        error.type = Empty,
        error.message = Empty,
        error.stack = Empty,
    )
}

/// The propagation headers of `span`'s context (none when the tracer is off: there is no
/// context to carry).
pub fn propagation_headers(span: &tracing::Span, tracing_on: bool) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if tracing_on {
        let cx = span.context();
        opentelemetry::global::get_text_map_propagator(|p| {
            p.inject_context(&cx, &mut HeaderInjector(&mut headers))
        });
    }
    headers
}

pub fn record_status(span: &tracing::Span, status: u16) {
    span.record("http.response.status_code", i64::from(status));
}

/// Marks the call failed. For a call that got an answer the tracer has the last word, as
/// Datadog's SDKs do: the span is an error only if its status is in
/// DD_TRACE_HTTP_CLIENT_ERROR_STATUSES (400-499 by default: a callee's 5xx is the callee's
/// error, on the callee's span), and the tracer then clears these tags. A call without an
/// answer (refused, timed out) stays an error.
pub fn record_error(span: &tracing::Span, kind: &str, message: &str, stack: &str) {
    span.record("otel.status_code", "error");
    span.record("error.type", kind);
    span.record("error.message", message);
    if !stack.is_empty() {
        span.record("error.stack", stack);
    }
}
