//! The endpoints students watch and break: `/` (nominal, no dependency), `/slow` (a waterfall
//! across inventory and PostgreSQL), `/error` (a 500 the database causes, with its stack), `/burn` (the CPU lever of the load generator), `/healthz`.

use std::time::{Duration, Instant};

use super::errors::DemoError;
use super::inventory_client::InventoryClient;
use crate::config::{MsRange, ServeConfig};
use actix_web::{web, HttpResponse};
use rand::Rng;
use serde::Deserialize;
use serde_json::json;

/// What the handlers need from the configuration.
#[derive(Debug, Clone)]
pub struct Limits {
    pub slow_range: MsRange,
    pub slow_max_ms: u64,
    pub chaos_enabled: bool,
    pub burn_max_ms: u64,
}

impl From<&ServeConfig> for Limits {
    fn from(c: &ServeConfig) -> Self {
        Self {
            slow_range: c.slow_range_ms,
            slow_max_ms: c.slow_max_ms,
            chaos_enabled: c.chaos_enabled,
            burn_max_ms: c.burn_max_ms,
        }
    }
}

/// The probe endpoint; it is served but not traced.
pub const HEALTHZ: &str = "/healthz";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index))
        .route("/slow", web::get().to(slow))
        .route("/error", web::get().to(error))
        .route("/burn", web::get().to(burn))
        .route(HEALTHZ, web::get().to(healthz));
}

async fn index() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok", "message": "hello from the observability lab"}))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[derive(Debug, Deserialize)]
struct MsQuery {
    ms: Option<u64>,
}

/// Checks an asked duration against its bound; the bound is part of the message.
fn bounded(asked: Option<u64>, max: u64, what: &str) -> Result<Option<u64>, DemoError> {
    match asked {
        Some(ms) if ms > max => Err(DemoError::BadRequest(format!(
            "{what}?ms={ms} is over the configured maximum of {max} ms"
        ))),
        other => Ok(other),
    }
}

/// Slow for a real reason: inventory's stock query sleeps the asked (or a random) duration in
/// PostgreSQL (`pg_sleep`), so the waterfall shows demo-service -> inventory -> postgres with
/// the time where it is spent.
async fn slow(
    limits: web::Data<Limits>,
    inventory: web::Data<InventoryClient>,
    query: web::Query<MsQuery>,
) -> Result<HttpResponse, DemoError> {
    let total_ms = match bounded(query.ms, limits.slow_max_ms, "/slow")? {
        Some(ms) => ms,
        None => rand::rng().random_range(limits.slow_range.min..=limits.slow_range.max),
    };
    tracing::info!(wait_ms = total_ms, "calling the inventory service");
    let stock = inventory.items(total_ms).await?;
    let items = stock["items"].as_array().map_or(0, Vec::len);
    tracing::info!(total_ms, items, "slow request done");
    Ok(HttpResponse::Ok().json(json!({"status": "ok", "slept_ms": total_ms, "items": items})))
}

/// Fails for a real reason: it orders more than inventory holds, the database's check on the
/// stock refuses the update, inventory answers 500 and so does this endpoint. The calls go a
/// few functions deep, so the stack Datadog shows has frames worth reading.
async fn error(inventory: web::Data<InventoryClient>) -> Result<HttpResponse, DemoError> {
    let err = match checkout::place_order(&inventory).await {
        Ok(reserved) => {
            // Only if someone restocked a million widgets by hand.
            return Ok(HttpResponse::Ok().json(json!({"status": "ok", "reserved": reserved})));
        }
        Err(e) => e,
    };
    tracing::error!(error.kind = err.kind(), error.message = %err, "order failed");
    Err(err)
}

mod checkout {
    use super::{DemoError, InventoryClient};

    /// More than the sample stock of any item holds.
    pub const ORDERED: i64 = 1_000_000;

    #[inline(never)]
    pub async fn place_order(inventory: &InventoryClient) -> Result<serde_json::Value, DemoError> {
        std::hint::black_box(reserve_stock(inventory).await)
    }

    #[inline(never)]
    async fn reserve_stock(inventory: &InventoryClient) -> Result<serde_json::Value, DemoError> {
        std::hint::black_box(inventory.reserve("widget", ORDERED).await)
    }
}

/// Burns CPU on the calling worker for the asked milliseconds: the chaos lever for CPU spikes.
/// It blocks the worker on purpose, as CPU-bound code in a handler does.
async fn burn(
    limits: web::Data<Limits>,
    query: web::Query<MsQuery>,
) -> Result<HttpResponse, DemoError> {
    if !limits.chaos_enabled {
        return Err(DemoError::ChaosDisabled);
    }
    let ms = bounded(query.ms, limits.burn_max_ms, "/burn")?.unwrap_or(100);
    let span = tracing::info_span!("cpu.burn", operation.name = "cpu.burn", burn.ms = ms as i64);
    let iterations = span.in_scope(|| spin(Duration::from_millis(ms)));
    Ok(HttpResponse::Ok().json(json!({"status": "ok", "burned_ms": ms, "iterations": iterations})))
}

/// Busy arithmetic until the deadline; the result is returned so it cannot be optimized away.
/// Never inlined: it is the frame the CPU profile shows on top during a spike, and the images'
/// binaries keep their symbols but not the line tables (compose/images/Dockerfile), without
/// which an inlined function's samples would go to its caller.
#[inline(never)]
fn spin(for_how_long: Duration) -> u64 {
    let deadline = Instant::now() + for_how_long;
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rounds = 0u64;
    while Instant::now() < deadline {
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        rounds += 1;
    }
    std::hint::black_box(x);
    rounds * 10_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_enforced_with_the_bound_in_the_message() {
        assert_eq!(bounded(Some(10), 100, "/burn").unwrap(), Some(10));
        assert_eq!(bounded(None, 100, "/burn").unwrap(), None);
        let err = bounded(Some(101), 100, "/burn").unwrap_err();
        assert!(err.to_string().contains("maximum of 100 ms"), "{err}");
    }

    #[test]
    fn spin_takes_about_the_time_asked() {
        let start = Instant::now();
        assert!(spin(Duration::from_millis(5)) > 0);
        assert!(start.elapsed() >= Duration::from_millis(5));
    }
}
