//! `/api/v1/slo` in the shape of Datadog's SLO API: list (`ids`, `query`, `tags_query`),
//! create, get, update, delete, and each SLO's history over a range (`from_ts`, `to_ts`).
//! A definition that is refused is a 400 naming the field and the reason.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{json_body, ApiError};
use crate::clock::now_secs;
use crate::monitors::registry::{Registry, SharedRegistry};
use crate::slos::definition::{Indicator, Invalid};
use crate::slos::registry::{with_store_monitors_and_slos, ChangeError, SharedSlos};
use crate::slos::sli;
use crate::slos::view::{api_view, check_range, history_interval, history_view};
use crate::store::SharedStore;

fn bad(message: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, message.into())
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        let status = match e {
            ChangeError::NotFound(_) => StatusCode::NOT_FOUND,
            ChangeError::FromFile(_) => StatusCode::FORBIDDEN,
            ChangeError::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        ApiError(status, e.to_string())
    }
}

/// A monitor SLO must name monitors that exist, as Datadog checks.
fn check_monitors(body: &Value, monitors: &Registry) -> Result<(), ApiError> {
    if body.get("type").and_then(Value::as_str) != Some("monitor") {
        return Ok(());
    }
    let ids = body.get("monitor_ids").and_then(Value::as_array);
    for (i, id) in ids.into_iter().flatten().enumerate() {
        if let Some(id) = id.as_u64() {
            if monitors.get(id).is_none() {
                return Err(ChangeError::Invalid(Invalid {
                    field: format!("monitor_ids[{i}]"),
                    reason: format!("monitor {id} does not exist"),
                })
                .into());
            }
        }
    }
    Ok(())
}

/// The `slo alert` monitors on `id`, Datadog's `configured_alert_ids`.
pub fn alert_ids(monitors: &Registry, id: &str) -> Vec<u64> {
    let quoted = format!("(\"{id}\")");
    monitors
        .entries()
        .filter(|e| {
            e.checked.monitor.kind == "slo alert" && e.checked.monitor.query.contains(&quoted)
        })
        .map(|e| e.checked.id())
        .collect()
}

#[derive(Deserialize)]
pub struct ListParams {
    ids: Option<String>,
    /// Words of the name (Datadog's `query` searches names).
    query: Option<String>,
    /// Tags every listed SLO carries, comma-separated (`env:dev,team:lab`).
    tags_query: Option<String>,
    limit: Option<usize>,
    offset: Option<usize>,
}

fn list_of(text: Option<&str>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

pub async fn list(State(slos): State<SharedSlos>, Query(p): Query<ListParams>) -> Json<Value> {
    let ids = list_of(p.ids.as_deref());
    let tags = list_of(p.tags_query.as_deref());
    let words: Vec<String> = p
        .query
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let slos = slos.lock();
    let all: Vec<Value> = slos
        .entries()
        .filter(|e| {
            let s = &e.checked.slo;
            let name = s.name.to_lowercase();
            (ids.is_empty() || ids.contains(&s.id))
                && tags.iter().all(|t| s.tags.contains(t))
                && words.iter().all(|w| name.contains(w.as_str()))
        })
        .map(api_view)
        .collect();
    let total = slos.len();
    let filtered = all.len();
    let data: Vec<Value> = all
        .into_iter()
        .skip(p.offset.unwrap_or(0))
        .take(p.limit.unwrap_or(usize::MAX))
        .collect();
    Json(json!({
        "data": data,
        "errors": [],
        "metadata": {"page": {"total_count": total, "total_filtered_count": filtered}},
    }))
}

pub async fn create(
    State(monitors): State<SharedRegistry>,
    State(slos): State<SharedSlos>,
    slo: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let slo = json_body(slo)?;
    check_monitors(&slo, &monitors.lock())?;
    let mut slos = slos.lock();
    let id = slos.create(slo, now_secs())?;
    let entry = slos.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(json!({"data": [api_view(entry)], "errors": []})))
}

fn not_found(id: &str) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("slo {id} not found"))
}

pub async fn get(
    State(monitors): State<SharedRegistry>,
    State(slos): State<SharedSlos>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let alerts = alert_ids(&monitors.lock(), &id);
    let slos = slos.lock();
    let entry = slos.get(&id).ok_or_else(|| not_found(&id))?;
    let mut data = api_view(entry);
    data["configured_alert_ids"] = json!(alerts);
    Ok(Json(json!({"data": data, "errors": []})))
}

pub async fn update(
    State(monitors): State<SharedRegistry>,
    State(slos): State<SharedSlos>,
    Path(id): Path<String>,
    slo: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let slo = json_body(slo)?;
    check_monitors(&slo, &monitors.lock())?;
    let mut slos = slos.lock();
    slos.update(&id, slo, now_secs())?;
    let entry = slos.get(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(json!({"data": [api_view(entry)], "errors": []})))
}

pub async fn delete(
    State(slos): State<SharedSlos>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    slos.lock().delete(&id)?;
    Ok(Json(json!({"data": [id], "errors": {}})))
}

#[derive(Deserialize)]
pub struct HistoryParams {
    from_ts: Option<String>,
    to_ts: Option<String>,
}

fn epoch(name: &str, v: Option<&str>) -> Result<i64, ApiError> {
    let v = v.ok_or_else(|| bad(format!("{name}: is required (epoch seconds)")))?;
    v.trim()
        .parse::<i64>()
        .map_err(|_| bad(format!("{name}: {v:?} is not a number of epoch seconds")))
}

pub async fn history(
    State(store): State<SharedStore>,
    State(monitors): State<SharedRegistry>,
    State(slos): State<SharedSlos>,
    Path(id): Path<String>,
    Query(p): Query<HistoryParams>,
) -> Result<Json<Value>, ApiError> {
    let from = epoch("from_ts", p.from_ts.as_deref())?;
    let to = epoch("to_ts", p.to_ts.as_deref())?;
    check_range(from, to).map_err(bad)?;
    let interval = history_interval(to - from);
    let data = with_store_monitors_and_slos(&store, &monitors, &slos, |store, monitors, slos| {
        let entry = slos.get(&id).ok_or_else(|| not_found(&id))?;
        let c = sli::compute(&entry.checked, store, monitors, from, to, Some(interval))
            .map_err(|e| bad(format!("the SLO's query cannot be evaluated: {e}")))?;
        let per_monitor: Vec<_> = match &entry.checked.indicator {
            Indicator::Monitor { ids, groups } => ids
                .iter()
                .map(|mid| {
                    let name = monitors
                        .get(*mid)
                        .map_or_else(String::new, |m| m.checked.monitor.name.clone());
                    let one = sli::monitor_uptime(&[*mid], groups, monitors, from, to, None);
                    (*mid, name, one)
                })
                .collect(),
            _ => Vec::new(),
        };
        Ok::<_, ApiError>(history_view(entry, &c, from, to, interval, &per_monitor))
    })?;
    Ok(Json(json!({"data": data, "errors": null})))
}
