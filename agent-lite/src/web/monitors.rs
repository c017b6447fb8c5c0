//! `/api/v1/monitor` in the shape of Datadog's monitor API (list, get, create, update, delete,
//! validate), and each monitor's transition history (`/api/v0/monitors/{id}/history`).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{json_body, ApiError};
use crate::clock::now_secs;
use crate::monitors::definition::Monitor;
use crate::monitors::registry::{api_view, ChangeError, SharedRegistry};

#[derive(Deserialize)]
pub struct ListParams {
    /// Substring of the name, as Datadog's `name` filter.
    name: Option<String>,
    /// Comma-separated tags every listed monitor carries (`monitor_tags`).
    monitor_tags: Option<String>,
}

pub async fn list(
    State(registry): State<SharedRegistry>,
    Query(p): Query<ListParams>,
) -> Json<Vec<Value>> {
    let wanted: Vec<&str> = p
        .monitor_tags
        .as_deref()
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let registry = registry.lock();
    let list: Vec<_> = registry
        .entries()
        .filter(|e| {
            let m = &e.checked.monitor;
            p.name.as_ref().is_none_or(|n| m.name.contains(n.as_str()))
                && wanted.iter().all(|w| m.tags.iter().any(|t| t == w))
        })
        .map(api_view)
        .collect();
    Json(list)
}

fn parse_id(id: &str) -> Result<u64, ApiError> {
    id.parse().map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not a monitor id"),
        )
    })
}

fn not_found(id: u64) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, format!("Monitor not found: {id}"))
}

pub async fn get(
    State(registry): State<SharedRegistry>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let registry = registry.lock();
    let entry = registry.get(id).ok_or_else(|| not_found(id))?;
    Ok(Json(api_view(entry)))
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        let status = match e {
            ChangeError::NotFound(_) => StatusCode::NOT_FOUND,
            ChangeError::FromFile { .. } => StatusCode::FORBIDDEN,
            ChangeError::Invalid(_) => StatusCode::BAD_REQUEST,
        };
        ApiError(status, e.to_string())
    }
}

pub async fn create(
    State(registry): State<SharedRegistry>,
    monitor: Result<Json<Monitor>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let monitor = json_body(monitor)?;
    let mut registry = registry.lock();
    let id = registry.create(monitor, now_secs())?;
    let entry = registry.get(id).ok_or_else(|| not_found(id))?;
    Ok(Json(api_view(entry)))
}

pub async fn update(
    State(registry): State<SharedRegistry>,
    Path(id): Path<String>,
    monitor: Result<Json<Monitor>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let monitor = json_body(monitor)?;
    let mut registry = registry.lock();
    registry.update(id, monitor, now_secs())?;
    let entry = registry.get(id).ok_or_else(|| not_found(id))?;
    Ok(Json(api_view(entry)))
}

pub async fn delete(
    State(registry): State<SharedRegistry>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    registry.lock().delete(id)?;
    Ok(Json(json!({ "deleted_monitor_id": id })))
}

/// Datadog's `POST /api/v1/monitor/validate`: `{}` when the definition would be accepted.
pub async fn validate(
    monitor: Result<Json<Monitor>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    json_body(monitor)?
        .check()
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
    Ok(Json(json!({})))
}

pub async fn history(
    State(registry): State<SharedRegistry>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let registry = registry.lock();
    let entry = registry.get(id).ok_or_else(|| not_found(id))?;
    let transitions: Vec<_> = registry
        .history
        .of(id)
        .into_iter()
        .map(|t| {
            json!({
                "group": t.group,
                "from": t.from.name(),
                "to": t.to.name(),
                "transition": t.name(),
                "ts": t.ts,
                "value": t.value,
            })
        })
        .collect();
    Ok(Json(json!({
        "monitor_id": id,
        "name": entry.checked.monitor.name,
        "transitions": transitions,
    })))
}
