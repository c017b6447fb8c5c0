//! `/api/v1/dashboard` in the shapes of Datadog's dashboard API: the summaries
//! (`{"dashboards": [...]}`), one dashboard whole, create, update, delete
//! (`{"deleted_dashboard_id": id}`); and `/dashboard/{id}/{slug}`, a dashboard's `url`,
//! which opens it on the page.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::api::{json_body, ApiError};
use crate::dashboards::registry::{ChangeError, SharedDashboards};

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        let status = match e {
            ChangeError::NotFound(_) => StatusCode::NOT_FOUND,
            ChangeError::FromFile { .. } => StatusCode::FORBIDDEN,
            ChangeError::Invalid(_) => StatusCode::BAD_REQUEST,
            ChangeError::Save(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError(status, e.to_string())
    }
}

pub async fn list(State(dashboards): State<SharedDashboards>) -> Json<Value> {
    let dashboards = dashboards.lock();
    let list: Vec<Value> = dashboards.entries().map(|e| e.summary()).collect();
    Json(json!({ "dashboards": list }))
}

pub async fn get(
    State(dashboards): State<SharedDashboards>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dashboards = dashboards.lock();
    let entry = dashboards.get(&id).ok_or(ChangeError::NotFound(id))?;
    Ok(Json(entry.full()))
}

fn answer(dashboards: &SharedDashboards, id: &str) -> Result<Json<Value>, ApiError> {
    let dashboards = dashboards.lock();
    let entry = dashboards
        .get(id)
        .ok_or_else(|| ChangeError::NotFound(id.to_owned()))?;
    Ok(Json(entry.full()))
}

pub async fn create(
    State(dashboards): State<SharedDashboards>,
    value: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let value = json_body(value)?;
    let id = dashboards.lock().create(value)?;
    answer(&dashboards, &id)
}

pub async fn update(
    State(dashboards): State<SharedDashboards>,
    Path(id): Path<String>,
    value: Result<Json<Value>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let value = json_body(value)?;
    dashboards.lock().update(&id, value)?;
    answer(&dashboards, &id)
}

pub async fn delete(
    State(dashboards): State<SharedDashboards>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    dashboards.lock().delete(&id)?;
    Ok(Json(json!({ "deleted_dashboard_id": id })))
}

/// A dashboard's `url` (`/dashboard/{id}/{slug}`, or without the slug) opens the page on it.
pub async fn open(Path(path): Path<String>) -> Response {
    let id = path.split('/').next().unwrap_or_default();
    let target = format!("/#/dashboard/{id}");
    (StatusCode::FOUND, [(header::LOCATION, target)]).into_response()
}
