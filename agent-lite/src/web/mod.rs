//! The API on 5002, in the shapes of Datadog's public API where Datadog has one: metric
//! queries, metric and tag listings, events; trace search (our own shape, `/api/v0`);
//! Prometheus exposition; agent-lite's status.

mod api;
mod monitors;
mod prometheus;
mod ui;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;

use crate::state::Shared;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(ui::index))
        .route("/ui/app.js", get(ui::app_js))
        .route("/ui/style.css", get(ui::style))
        .route("/api", get(api::index))
        .route("/api/v1/query", get(api::query))
        .route("/api/v1/metrics", get(api::metrics))
        .route("/api/v2/metrics/{name}/all-tags", get(api::all_tags))
        .route("/api/v1/events", get(api::events))
        .route("/api/v0/traces", get(api::traces))
        .route("/api/v0/logs", get(api::logs))
        .route("/api/v0/traces/{trace_id}", get(api::trace))
        .route(
            "/api/v1/monitor",
            get(monitors::list).post(monitors::create),
        )
        .route("/api/v1/monitor/validate", post(monitors::validate))
        .route(
            "/api/v1/monitor/{id}",
            get(monitors::get)
                .put(monitors::update)
                .delete(monitors::delete),
        )
        .route("/api/v0/monitors/{id}/history", get(monitors::history))
        .route("/status", get(api::status))
        .route("/metrics", get(prometheus::exposition))
        .with_state(shared)
}
