//! demo-service's calls to inventory: one reqwest client (its connection pool shared by the
//! workers), a client span per call with the trace context in the headers, and a deadline on
//! every call. What went wrong becomes the status demo-service answers: 503 when inventory
//! cannot be reached or says it is unavailable, 504 when it is too slow, 502 when its answer
//! makes no sense, 500 when it refused (the database said no) - quickly, whatever the outage.

use std::time::Duration;

use actix_web::http::StatusCode;
use anyhow::Context as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use tracing::Instrument as _;

use super::client_span::{self, Peer};
use super::errors::DemoError;
use crate::config::ServeConfig;

/// A new connection to inventory: it is on the same network, so a connect that takes longer
/// than this is an outage, not latency.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);

/// The service name of inventory as a peer (`peer.service`).
pub const PEER_SERVICE: &str = "inventory";

pub struct InventoryClient {
    http: reqwest::Client,
    base: String,
    host: String,
    port: u16,
    timeout: Duration,
    tracing: bool,
}

/// inventory's error body (`{"error": kind, "message": ...}`, as [`DemoError`] writes it).
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: Option<String>,
    message: Option<String>,
}

impl InventoryClient {
    pub fn new(cfg: &ServeConfig) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(&cfg.inventory_url)
            .with_context(|| format!("INVENTORY_URL {:?}", cfg.inventory_url))?;
        let host = url
            .host_str()
            .with_context(|| format!("INVENTORY_URL {:?} has no host", cfg.inventory_url))?
            .to_owned();
        let port = url.port_or_known_default().unwrap_or(80);
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            // A pooled connection inventory closed while idle (a restart) would fail the next
            // call; idle ones are let go before inventory's own keep-alive (5 s) ends them.
            .pool_idle_timeout(Duration::from_secs(4))
            .build()
            .context("building the HTTP client for inventory")?;
        Ok(Self {
            http,
            base: cfg.inventory_url.clone(),
            host,
            port,
            timeout: Duration::from_millis(cfg.inventory_timeout_ms),
            tracing: cfg.trace_enabled,
        })
    }

    /// `GET /items?ms=`: the stock list, read by a query that sleeps `ms` in the database.
    pub async fn items(&self, ms: u64) -> Result<Value, DemoError> {
        let path = "/items";
        let url = format!("{}{path}?ms={ms}", self.base);
        let deadline = self.timeout + Duration::from_millis(ms);
        self.call(reqwest::Method::GET, path, url, None, deadline)
            .await
    }

    /// `POST /reservations`: takes `quantity` of `sku` out of the stock.
    pub async fn reserve(&self, sku: &str, quantity: i64) -> Result<Value, DemoError> {
        let path = "/reservations";
        let url = format!("{}{path}", self.base);
        let body = serde_json::json!({"sku": sku, "quantity": quantity});
        self.call(reqwest::Method::POST, path, url, Some(body), self.timeout)
            .await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        url: String,
        body: Option<Value>,
        deadline: Duration,
    ) -> Result<T, DemoError> {
        let peer = Peer {
            service: PEER_SERVICE,
            host: &self.host,
            port: self.port,
        };
        let span = client_span::span(&peer, method.as_str(), path, &url);
        let headers = client_span::propagation_headers(&span, self.tracing);
        let mut request = self
            .http
            .request(method, &url)
            .headers(headers)
            .timeout(deadline);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let result = send_and_read(request, deadline).await;
            if let Err(e) = &result {
                let span = tracing::Span::current();
                client_span::record_error(&span, e.kind(), &e.to_string(), e.stack());
                tracing::warn!(error.kind = e.kind(), error.message = %e, "inventory call failed");
            }
            result
        }
        .instrument(span)
        .await
    }
}

/// Sends the call and reads inventory's answer, inside the client span.
async fn send_and_read<T: DeserializeOwned>(
    request: reqwest::RequestBuilder,
    deadline: Duration,
) -> Result<T, DemoError> {
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(&e, deadline))?;
    let status = response.status().as_u16();
    client_span::record_status(&tracing::Span::current(), status);
    let bytes = response
        .bytes()
        .await
        .map_err(|e| transport_error(&e, deadline))?;
    if (200..300).contains(&status) {
        serde_json::from_slice(&bytes).map_err(|e| {
            DemoError::dependency(
                StatusCode::BAD_GATEWAY,
                "demo_service::InventoryBadAnswer",
                format!("inventory answered {status} with a body that is not its JSON: {e}"),
            )
        })
    } else {
        Err(answered_error(status, &bytes))
    }
}

/// No answer: refused or unreachable is 503, too slow is 504, anything else on the wire 502.
fn transport_error(e: &reqwest::Error, deadline: Duration) -> DemoError {
    if e.is_timeout() {
        DemoError::dependency(
            StatusCode::GATEWAY_TIMEOUT,
            "demo_service::InventoryTimeout",
            format!(
                "inventory did not answer within {} ms",
                deadline.as_millis()
            ),
        )
    } else if e.is_connect() {
        DemoError::dependency(
            StatusCode::SERVICE_UNAVAILABLE,
            "demo_service::InventoryUnreachable",
            format!("inventory is unreachable: {}", chain(e)),
        )
    } else {
        DemoError::dependency(
            StatusCode::BAD_GATEWAY,
            "demo_service::InventoryConnectionFailed",
            format!("the call to inventory failed: {}", chain(e)),
        )
    }
}

/// inventory answered, with an error: its 500 (the database refused) stays a 500, its 503 and
/// 504 (the database unavailable or slow) pass on as they are, anything else is a 502.
fn answered_error(status: u16, body: &[u8]) -> DemoError {
    let parsed: Option<ErrorBody> = serde_json::from_slice(body).ok();
    let detail = parsed
        .as_ref()
        .and_then(|b| b.message.clone())
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    let their_kind = parsed.and_then(|b| b.error).unwrap_or_default();
    let (ours, kind) = match status {
        500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "demo_service::InventoryRefused",
        ),
        503 => (
            StatusCode::SERVICE_UNAVAILABLE,
            "demo_service::InventoryUnavailable",
        ),
        504 => (
            StatusCode::GATEWAY_TIMEOUT,
            "demo_service::InventoryTimeout",
        ),
        _ => (StatusCode::BAD_GATEWAY, "demo_service::InventoryBadAnswer"),
    };
    let their_kind = if their_kind.is_empty() {
        String::new()
    } else {
        format!(" ({their_kind})")
    };
    DemoError::dependency(
        ours,
        kind,
        format!("inventory answered {status}{their_kind}: {detail}"),
    )
}

/// An error with its sources ("error sending request: connection refused"), as reqwest's own
/// Display shows only the outermost.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
