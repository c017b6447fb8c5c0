//! inventory's table and sample rows, made at start and made again harmlessly at every start
//! (`IF NOT EXISTS`, `ON CONFLICT DO NOTHING`): a restart keeps the stock as it was. Two
//! replicas starting together take an advisory lock, as concurrent `CREATE TABLE IF NOT
//! EXISTS` can still fail on PostgreSQL's catalog.

use std::time::Duration;

use super::db::Database;

/// The stock: a quantity that PostgreSQL itself keeps from going below zero. That check is what
/// refuses an order larger than the stock (demo-service's `/error`).
pub const SCHEMA: &str = "
BEGIN;
SELECT pg_advisory_xact_lock(19);
CREATE TABLE IF NOT EXISTS stock (
    sku text PRIMARY KEY,
    name text NOT NULL,
    quantity integer NOT NULL CONSTRAINT stock_quantity_not_negative CHECK (quantity >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO stock (sku, name, quantity) VALUES
    ('widget', 'Widget', 120),
    ('gadget', 'Gadget', 80),
    ('sprocket', 'Sprocket', 300),
    ('gizmo', 'Gizmo', 45),
    ('doohickey', 'Doohickey', 12)
ON CONFLICT (sku) DO NOTHING;
COMMIT;
";

/// Tries the schema every `retry` until PostgreSQL takes it; logs the first failure and the
/// success, not every try.
pub async fn ensure_until_done(db: &Database, retry: Duration) {
    let mut failures = 0u64;
    loop {
        match db.setup(SCHEMA).await {
            Ok(()) => {
                db.mark_ready();
                tracing::info!(
                    tries = failures + 1,
                    database = %db.target(),
                    "schema and sample stock in place"
                );
                return;
            }
            Err(e) => {
                if failures == 0 {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        database = %db.target(),
                        "PostgreSQL not ready for the schema yet; trying again every second"
                    );
                }
                failures += 1;
            }
        }
        tokio::time::sleep(retry).await;
    }
}
