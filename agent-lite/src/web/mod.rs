//! The API on 5002, in the shapes of Datadog's public API where Datadog has one: metric
//! queries, metric and tag listings, events; trace search and profiles (our own shape,
//! `/api/v0`);
//! Prometheus exposition; agent-lite's status.
//!
//! Every request the API refuses (a 4xx: a query that does not parse, a monitor that is not
//! valid, a body over the limit, an unknown path) is counted as `api.rejected.<reason>`, as
//! the intakes count theirs, so a client sending garbage shows in `agent-lite status`.

mod api;
mod config;
mod dashboards;
mod monitors;
mod profiles;
mod prometheus;
mod service_map;
mod slos;
mod ui;

use axum::extract::{FromRef, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

pub use config::WebConfig;

use crate::apm::trace_store::SharedTraces;
use crate::counters::{Counters, Family};
use crate::dashboards::registry::SharedDashboards;
use crate::monitors::registry::SharedRegistry;
use crate::slos::registry::SharedSlos;
use crate::status::Everything;
use crate::store::events::SharedEvents;
use crate::store::logs::SharedLogs;
use crate::store::SharedStore;

/// The router's state: each handler extracts only the part it reads (axum's `FromRef`);
/// `/status` alone takes everything.
#[derive(Clone)]
pub struct ApiState(Everything);

/// `State<X>` for each part a handler may take.
macro_rules! parts {
    ($($ty:ty => $field:ident),* $(,)?) => {
        $(impl FromRef<ApiState> for $ty {
            fn from_ref(state: &ApiState) -> Self {
                state.0.$field.clone()
            }
        })*
    };
}

parts! {
    SharedStore => store,
    SharedEvents => events,
    SharedTraces => traces,
    crate::intake::profiles::SharedProfiles => profiles,
    SharedLogs => logs,
    SharedRegistry => monitors,
    SharedDashboards => dashboards,
    SharedSlos => slos,
    Counters => counters,
}

impl FromRef<ApiState> for Everything {
    fn from_ref(state: &ApiState) -> Self {
        state.0.clone()
    }
}

pub fn router(all: Everything) -> Router {
    let state = ApiState(all);
    Router::new()
        .route("/", get(ui::index))
        .route("/ui/{*path}", get(ui::file))
        .route("/api", get(api::index))
        .route("/api/v1/query", get(api::query))
        .route("/api/v1/metrics", get(api::metrics))
        .route("/api/v2/metrics/{name}/all-tags", get(api::all_tags))
        .route("/api/v1/events", get(api::events))
        .route("/api/v0/traces", get(api::traces))
        .route("/api/v0/logs", get(api::logs))
        .route("/api/v0/traces/{trace_id}", get(api::trace))
        .route("/api/v0/profiles", get(profiles::list))
        .route("/api/v0/profiles/aggregate", get(profiles::aggregate))
        .route("/api/v0/profiles/top", get(profiles::top))
        .route("/api/v0/profiles/{id}", get(profiles::get))
        .route("/api/v0/service_map", get(service_map::map))
        .route(
            "/api/v0/services/{service}/dependencies",
            get(service_map::dependencies),
        )
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
        .route(
            "/api/v1/dashboard",
            get(dashboards::list).post(dashboards::create),
        )
        .route(
            "/api/v1/dashboard/{id}",
            get(dashboards::get)
                .put(dashboards::update)
                .delete(dashboards::delete),
        )
        .route("/dashboard/{*path}", get(dashboards::open))
        .route("/api/v1/slo", get(slos::list).post(slos::create))
        .route(
            "/api/v1/slo/{id}",
            get(slos::get).put(slos::update).delete(slos::delete),
        )
        .route("/api/v1/slo/{id}/history", get(slos::history))
        .route("/status", get(api::status))
        .route("/metrics", get(prometheus::exposition))
        .layer(middleware::from_fn(refuse_announced_oversize))
        .layer(middleware::from_fn_with_state(
            state.0.counters.clone(),
            count_rejections,
        ))
        .with_state(state)
}

/// The largest body the API reads (axum's default limit, which the JSON extractors apply).
const MAX_BODY_BYTES: u64 = 2 << 20;

/// A body announced (Content-Length) over the limit is refused before any of it is read,
/// rather than read up to the limit first (or, for a client that sent `Expect:
/// 100-continue`, invited and then refused).
async fn refuse_announced_oversize(request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_BODY_BYTES) {
        return api::error(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body over {MAX_BODY_BYTES} bytes"),
        );
    }
    next.run(request).await
}

/// Counts the client errors the API answers, by their status' reason
/// (`api.rejected.bad_request`, `api.rejected.payload_too_large`, ...).
async fn count_rejections(
    State(counters): State<Counters>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if status.is_client_error() {
        let reason = status
            .canonical_reason()
            .map(|r| r.to_ascii_lowercase().replace([' ', '-'], "_"))
            .unwrap_or_else(|| status.as_u16().to_string());
        counters.incr_reason(Family::ApiRejected, &reason);
    }
    response
}
