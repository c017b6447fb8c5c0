//! inventory's endpoints: `GET /items?ms=` (the stock, read by a query that sleeps `ms` in
//! PostgreSQL: demo-service's `/slow`), `POST /reservations` (takes stock; the database refuses
//! more than there is: demo-service's `/error`), `/healthz` (the process, not the database: a
//! database outage shows as 503s on the data endpoints, not as a dead container).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use serde_json::json;

use super::db::{Database, DbFailure};
use crate::http::errors::DemoError;
use crate::http::routes::HEALTHZ;

/// A reservation's body is a few dozen bytes.
const BODY_LIMIT: usize = 4 * 1024;

pub struct Limits {
    pub slow_max_ms: u64,
}

pub const ITEMS: &str =
    "SELECT s.sku, s.name, s.quantity FROM pg_sleep($1) AS wait, stock AS s ORDER BY s.sku";
pub const RESERVE: &str = "UPDATE stock SET quantity = quantity - $2, updated_at = now() WHERE sku = $1 RETURNING quantity";

pub fn configure(cfg: &mut web::ServiceConfig) {
    let json = web::JsonConfig::default()
        .limit(BODY_LIMIT)
        .error_handler(|err, req| {
            let status = match &err {
                actix_web::error::JsonPayloadError::Overflow { .. }
                | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => {
                    StatusCode::PAYLOAD_TOO_LARGE
                }
                _ => StatusCode::BAD_REQUEST,
            };
            let message = format!("{} {}: {err}", req.method(), req.path());
            actix_web::error::InternalError::from_response(
                err,
                HttpResponse::build(status)
                    .json(json!({"error": "inventory::BadRequest", "message": message})),
            )
            .into()
        });
    cfg.app_data(json)
        .route("/items", web::get().to(items))
        .route("/reservations", web::post().to(reserve))
        .route(HEALTHZ, web::get().to(healthz));
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[derive(Debug, Deserialize)]
struct ItemsQuery {
    ms: Option<u64>,
}

async fn items(
    db: web::Data<Database>,
    limits: web::Data<Limits>,
    query: web::Query<ItemsQuery>,
) -> Result<HttpResponse, DemoError> {
    let ms = query.ms.unwrap_or(0);
    if ms > limits.slow_max_ms {
        return Err(DemoError::BadRequest(format!(
            "/items?ms={ms} is over the configured maximum of {} ms",
            limits.slow_max_ms
        )));
    }
    let seconds = ms as f64 / 1000.0;
    let rows = db
        .query(ITEMS, &[&seconds], Duration::from_millis(ms))
        .await
        .map_err(|e| answer(e, "reading the stock failed"))?;
    let items: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "sku": r.get::<_, String>(0),
                "name": r.get::<_, String>(1),
                "quantity": r.get::<_, i32>(2),
            })
        })
        .collect();
    tracing::info!(items = items.len(), waited_ms = ms, "stock read");
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

#[derive(Debug, Deserialize)]
struct Reservation {
    sku: String,
    quantity: i32,
}

async fn reserve(
    db: web::Data<Database>,
    body: web::Json<Reservation>,
) -> Result<HttpResponse, DemoError> {
    if body.quantity <= 0 {
        return Err(DemoError::BadRequest(format!(
            "quantity {} is not a positive number",
            body.quantity
        )));
    }
    let rows = stock::take(&db, &body.sku, body.quantity).await?;
    let Some(row) = rows.first() else {
        return Ok(HttpResponse::NotFound().json(
            json!({"error": "inventory::UnknownSku", "message": format!("no sku {:?}", body.sku)}),
        ));
    };
    let left: i32 = row.get(0);
    tracing::info!(sku = %body.sku, quantity = body.quantity, left, "stock reserved");
    Ok(HttpResponse::Ok().json(json!({"sku": body.sku, "reserved": body.quantity, "left": left})))
}

mod stock {
    use super::*;

    /// A function of its own so that the stack of a refusal names what was being done.
    #[inline(never)]
    pub async fn take(
        db: &Database,
        sku: &str,
        quantity: i32,
    ) -> Result<Vec<tokio_postgres::Row>, DemoError> {
        let result = db.query(RESERVE, &[&sku, &quantity], Duration::ZERO).await;
        std::hint::black_box(result.map_err(|e| {
            tracing::error!(error.kind = e.kind(), error.message = %e, sku, quantity, "reservation refused");
            answer(e, "stock reservation failed")
        }))
    }
}

/// The answer to a database failure: the database refused (500), is down or not ready (503),
/// too slow (504). The stack is taken here, in the handler that met the failure.
fn answer(e: DbFailure, what: &str) -> DemoError {
    let status = match &e {
        DbFailure::Refused { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        DbFailure::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        DbFailure::Unavailable(_) | DbFailure::NotReady | DbFailure::Broken(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    DemoError::dependency(status, e.kind(), format!("{what}: {e}"))
}
