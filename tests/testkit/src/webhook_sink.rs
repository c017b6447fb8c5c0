//! A webhook receiver: keeps every JSON body POSTed to it, and can be told to fail the first
//! deliveries, to see the sender retry.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use crate::background::BackgroundServer;

#[derive(Default)]
struct Inner {
    bodies: Mutex<Vec<Value>>,
    fail_next: AtomicU32,
}

pub struct WebhookSink {
    server: BackgroundServer,
    inner: Arc<Inner>,
}

async fn receive(State(inner): State<Arc<Inner>>, Json(body): Json<Value>) -> StatusCode {
    let failing = inner
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    inner
        .bodies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(body);
    StatusCode::OK
}

impl WebhookSink {
    pub fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(inner.clone());
        let server = BackgroundServer::start("webhook-sink", crate::ANY_LOOPBACK_PORT, app)
            .expect("starting the webhook sink");
        Self { server, inner }
    }

    pub fn url(&self) -> String {
        format!("{}/hook", self.server.url())
    }

    /// Answers 503 to the next `n` deliveries.
    pub fn fail_next(&self, n: u32) {
        self.inner.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.inner
            .bodies
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
