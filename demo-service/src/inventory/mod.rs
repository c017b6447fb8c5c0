//! `demo-service inventory`: the service demo-service calls for stock. It keeps the stock in
//! PostgreSQL, through a bounded pool and a traced client (`db`), creates its schema and sample
//! data at start (`schema`), and serves `/items` and `/reservations` (`routes`) behind the same
//! server span, logs, tracer, runtime metrics and CPU profiler as demo-service, as service
//! `inventory`.

pub mod db;
pub mod routes;
pub mod schema;

use std::time::Duration;

use actix_web::web;

use crate::config::InventoryConfig;
use crate::telemetry::Telemetry;
use db::Database;

/// How often the schema is tried again while PostgreSQL is not there yet.
const SCHEMA_RETRY: Duration = Duration::from_secs(1);

pub async fn run(cfg: InventoryConfig) -> anyhow::Result<()> {
    let telemetry = Telemetry::init(&cfg.serve)?;
    // The same CPU profiler as demo-service's, its profiles tagged service:inventory.
    crate::telemetry::profiler::start_if_enabled(&cfg.serve)?;
    let db = Database::new(&cfg.db)?;
    // inventory starts whether or not PostgreSQL is up yet (compose starts both at once; an
    // outage test stops it): until the schema is in place requests answer 503, then it is.
    let setup = db.clone();
    let schema_task = tokio::spawn(async move {
        schema::ensure_until_done(&setup, SCHEMA_RETRY).await;
    });
    let limits = web::Data::new(routes::Limits {
        slow_max_ms: cfg.serve.slow_max_ms,
    });
    let data = web::Data::new(db);
    let served =
        crate::http::server::serve(&cfg.serve, telemetry, "inventory started", move |app| {
            app.app_data(data.clone()).app_data(limits.clone());
            routes::configure(app);
        })
        .await;
    schema_task.abort();
    served
}
