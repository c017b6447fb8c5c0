//! Handlers of the JSON API.

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::apm::trace_store::{SharedTraces, TraceQuery};
use crate::clock::now_secs;
use crate::query;
use crate::status::Everything;
use crate::store::events::SharedEvents;
use crate::store::logs::SharedLogs;
use crate::store::SharedStore;

/// Datadog's error shape.
pub fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"errors": [message.into()]}))).into_response()
}

/// An answer in Datadog's error shape, for handlers that use `?`.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

/// A JSON body as the API's handlers take it: one that does not parse is a 400 with serde's
/// reason, one over the API's body limit keeps its 413.
pub fn json_body<T>(
    body: Result<axum::Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, ApiError> {
    body.map(|axum::Json(v)| v).map_err(|e| {
        let status = match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError(status, e.body_text())
    })
}

pub async fn index() -> &'static str {
    "agent-lite: the API is under /api (query: /api/v1/query?from=&to=&query=), status at /status, Prometheus at /metrics\n"
}

#[derive(Deserialize)]
pub struct QueryParams {
    from: Option<i64>,
    to: Option<i64>,
    query: Option<String>,
}

pub async fn query(State(store): State<SharedStore>, Query(p): Query<QueryParams>) -> Response {
    let (Some(from), Some(to), Some(text)) = (p.from, p.to, p.query) else {
        return error(
            StatusCode::BAD_REQUEST,
            "from, to (unix seconds) and query are required",
        );
    };
    if from > to {
        return error(StatusCode::BAD_REQUEST, "from is after to");
    }
    let store = store.lock();
    match query::v1_query(&store, &text, from, to) {
        Ok(body) => Json(body).into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

#[derive(Deserialize)]
pub struct FromParam {
    from: Option<i64>,
}

/// Metrics with a point since `from` (default: the last hour), as Datadog's active metrics list.
pub async fn metrics(
    State(store): State<SharedStore>,
    Query(p): Query<FromParam>,
) -> Json<serde_json::Value> {
    let from = p.from.unwrap_or_else(|| now_secs() - 3600);
    let store = store.lock();
    let names: BTreeSet<&str> = store
        .all()
        .filter(|(_, s)| s.points.range(from - 10..).next().is_some())
        .map(|(k, _)| &*k.name)
        .collect();
    Json(json!({"metrics": names, "from": from.to_string()}))
}

pub async fn all_tags(State(store): State<SharedStore>, Path(name): Path<String>) -> Response {
    let store = store.lock();
    let tags: BTreeSet<&str> = store
        .series_named(&name)
        .flat_map(|(k, _)| k.tags.iter().map(String::as_str))
        .collect();
    if tags.is_empty() && store.series_named(&name).next().is_none() {
        return error(StatusCode::NOT_FOUND, format!("no metric named {name}"));
    }
    Json(json!({"data": {"type": "metrics", "id": name, "attributes": {"tags": tags}}}))
        .into_response()
}

#[derive(Deserialize)]
pub struct EventParams {
    start: Option<i64>,
    end: Option<i64>,
}

pub async fn events(
    State(events): State<SharedEvents>,
    Query(p): Query<EventParams>,
) -> Json<serde_json::Value> {
    let end = p.end.unwrap_or_else(now_secs);
    let start = p.start.unwrap_or(end - 3600);
    Json(json!({"events": events.lock().between(start, end)}))
}

pub async fn traces(
    State(traces): State<SharedTraces>,
    Query(q): Query<TraceQuery>,
) -> Json<serde_json::Value> {
    Json(json!({"traces": traces.lock().search(&q)}))
}

pub async fn trace(State(traces): State<SharedTraces>, Path(trace_id): Path<String>) -> Response {
    let Ok(id) = trace_id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{trace_id:?} is not a decimal trace id"),
        );
    };
    let found = traces.lock().get(id);
    match found {
        Some(spans) => Json(json!({"trace_id": trace_id, "spans": spans})).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format!("no trace {trace_id} in the recent traces"),
        ),
    }
}

pub async fn status(State(all): State<Everything>) -> Json<serde_json::Value> {
    Json(crate::status::snapshot(&all))
}

/// Log search, newest first, with facets (our own shape, `/api/v0`).
pub async fn logs(
    State(logs): State<SharedLogs>,
    Query(q): Query<crate::store::logs::LogQuery>,
) -> Json<serde_json::Value> {
    let logs = logs.lock();
    Json(json!(logs.search(&q)))
}
