//! The service map and a service's dependencies (our own shape, `/api/v0`): computed from the
//! recent traces, decoded outside the trace store's lock.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::api::error;
use crate::apm::service_map::{self, MapQuery};
use crate::apm::trace_store::SharedTraces;
use crate::clock::now_secs;

/// `GET /api/v0/service_map?from=&to=&env=`: nodes and edges with requests, errors and p95.
pub async fn map(State(traces): State<SharedTraces>, Query(q): Query<MapQuery>) -> Response {
    let (from, to) = match q.window(now_secs()) {
        Ok(w) => w,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let chunks = service_map::snapshot(&traces.lock(), from, to);
    let env = q.env.as_deref().filter(|e| !e.is_empty());
    Json(service_map::service_map(&chunks, from, to, env)).into_response()
}

/// `GET /api/v0/services/{service}/dependencies?from=&to=&env=`: the service's downstream and
/// upstream calls and its database queries (normalised statement, calls, errors, p95).
pub async fn dependencies(
    State(traces): State<SharedTraces>,
    Path(service): Path<String>,
    Query(q): Query<MapQuery>,
) -> Response {
    let (from, to) = match q.window(now_secs()) {
        Ok(w) => w,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let chunks = service_map::snapshot(&traces.lock(), from, to);
    let env = q.env.as_deref().filter(|e| !e.is_empty());
    Json(service_map::dependencies(&chunks, &service, from, to, env)).into_response()
}
