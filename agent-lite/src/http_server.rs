//! Serves an axum app on a TCP or Unix listener with the limits `axum::serve` leaves out: a
//! client that sends its headers or its body too slowly is cut off, so stuck tracers or
//! sockets left open cannot pile up, and each connection is its own task, so a slow one
//! never holds the others. Shutdown stops accepting, then lets open requests finish.
//!
//! Requests hyper refuses itself (not HTTP, or a head over its limits: 400, 431, 414) never
//! reach the app, so they are counted here, under `<family>.rejected.malformed_http` and
//! `<family>.rejected.head_too_large`, beside the app's own rejection counters.

use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tower::ServiceExt as _;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::counters::{Counters, Family};

/// How long a client may take to send a request's headers (hyper's default is 30 s; tracers
/// send theirs at once).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a body; 25 MB at laptop loopback speed is well under it.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for requests already in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A listener of either family.
pub trait Accept: Send + 'static {
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;
    fn accept_io(&self) -> impl Future<Output = std::io::Result<Self::Io>> + Send;
}

impl Accept for TcpListener {
    type Io = tokio::net::TcpStream;
    async fn accept_io(&self) -> std::io::Result<Self::Io> {
        let (io, _) = self.accept().await?;
        // Trace payloads are answered with small bodies; Nagle would delay them.
        let _ = io.set_nodelay(true);
        Ok(io)
    }
}

impl Accept for UnixListener {
    type Io = tokio::net::UnixStream;
    async fn accept_io(&self) -> std::io::Result<Self::Io> {
        Ok(self.accept().await?.0)
    }
}

/// Where the requests refused before the app are counted: `<family>.<reason>`.
#[derive(Clone)]
pub struct Refusals {
    pub counters: Counters,
    pub family: Family,
}

impl Refusals {
    /// Counts a connection that ended with `error`, when hyper refused a request on it. A
    /// client gone or a header timeout is not counted: an idle keep-alive connection ends the
    /// same way, and it refused nothing.
    fn count(&self, error: &(dyn std::error::Error + 'static)) {
        let Some(e) = error.downcast_ref::<hyper::Error>() else {
            return;
        };
        let reason = if e.is_parse_too_large() {
            "head_too_large"
        } else if e.is_parse() {
            "malformed_http"
        } else {
            return;
        };
        self.counters.incr_reason(self.family, reason);
    }
}

/// A request refused before its body was read whole (413: over the limit; 408: too slow)
/// leaves the connection with unread bytes, which hyper then closes. Saying so in the answer
/// keeps the client from reusing the connection for its next request, which would fail: a
/// tracer's next payload, or the next call of an API client, would be lost to the close.
async fn close_unread(mut response: axum::response::Response) -> axum::response::Response {
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE || status == StatusCode::REQUEST_TIMEOUT {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

pub async fn serve<L: Accept>(
    listener: L,
    app: Router,
    refusals: Refusals,
    stop: impl Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let app = app
        .layer(RequestBodyTimeoutLayer::new(BODY_TIMEOUT))
        .layer(axum::middleware::map_response(close_unread));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT);
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        let io = tokio::select! {
            io = listener.accept_io() => io,
            () = &mut stop => break,
        };
        let io = match io {
            Ok(io) => io,
            Err(e) => {
                // Out of file descriptors or a connection reset before accept: wait a little
                // rather than spin, and go on.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let service = app
            .clone()
            .map_request(|req: Request<Incoming>| req.map(Body::new));
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        // A connection that ends in error (a client gone, a timeout) concerns only itself.
        let refusals = refusals.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                refusals.count(&*e);
            }
        });
    }
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still open after {DRAIN_TIMEOUT:?} of shutdown; closing them");
    }
    Ok(())
}
