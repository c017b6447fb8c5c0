//! inventory's PostgreSQL: a bounded deadpool of tokio-postgres connections, every query in a
//! client span with Datadog's database conventions, as its tracers' PostgreSQL integrations
//! write them (ddtrace's asyncpg and psycopg: operation `postgres.query`, type `sql`, resource
//! the statement, `db.system` postgresql, `db.name`, `db.user`, `out.host`,
//! `network.destination.port`, `span.kind` client, `component`), plus `peer.service`
//! `postgres`: the span stays inventory's (Datadog's v1 naming, where the caller owns its
//! client spans) and the Agent's stats and the service map draw the database from its peer
//! tags. Statements use bind parameters, so their text is already the normalised statement
//! Datadog shows (no literal to obfuscate).
//!
//! Every wait has a bound: a pooled connection, a new connection, each query; a query past its
//! bound is cancelled on the server and its connection left out of the pool.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::config::Host;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};
use tracing::field::Empty;
use tracing::Instrument as _;

use crate::config::DbConfig;
use crate::http::stack;

/// Datadog's operation name for a PostgreSQL query span.
pub const OPERATION: &str = "postgres.query";
/// The database as a peer (`peer.service`), the name it gets on the service map.
pub const PEER_SERVICE: &str = "postgres";

/// Shared by every worker; cloning shares the pool.
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    host: String,
    port: u16,
    name: String,
    user: String,
    timeout: Duration,
    ready: Arc<AtomicBool>,
}

/// What went wrong with the database, in the terms the answer needs.
#[derive(Debug, thiserror::Error)]
pub enum DbFailure {
    /// No connection: PostgreSQL down, unreachable, refusing logins, or the pool exhausted
    /// for longer than the timeout.
    #[error("PostgreSQL unavailable: {0}")]
    Unavailable(String),
    /// The schema is not in place yet (PostgreSQL has not been reachable since start).
    #[error("the stock table is not ready yet (PostgreSQL not reachable since inventory started)")]
    NotReady,
    /// The query did not finish within its bound.
    #[error("the query did not finish within {0} ms; it was cancelled")]
    Timeout(u128),
    /// PostgreSQL ran the statement and refused it (a constraint, a bad value...).
    #[error("PostgreSQL refused the statement: {message} (SQLSTATE {code})")]
    Refused { code: String, message: String },
    /// The connection broke during the query.
    #[error("the connection to PostgreSQL failed during the query: {0}")]
    Broken(String),
}

impl DbFailure {
    /// The value of `error.type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Unavailable(_) | Self::NotReady => "inventory::DatabaseUnavailable",
            Self::Timeout(_) => "inventory::DatabaseTimeout",
            Self::Refused { .. } => "tokio_postgres::error::DbError",
            Self::Broken(_) => "tokio_postgres::Error",
        }
    }
}

impl Database {
    pub fn new(cfg: &DbConfig) -> anyhow::Result<Self> {
        let mut pg = cfg.database_url.clone();
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(cfg.timeout());
        }
        if pg.get_application_name().is_none() {
            // What pg_stat_activity (and the Agent's postgres check) shows for our sessions.
            pg.application_name("inventory");
        }
        let host = match pg.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            Some(Host::Unix(path)) => path.display().to_string(),
            None => "localhost".to_owned(),
        };
        let port = pg.get_ports().first().copied().unwrap_or(5432);
        let user = pg.get_user().unwrap_or("postgres").to_owned();
        let name = pg.get_dbname().unwrap_or(&user).to_owned();
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                // A connection PostgreSQL closed (a restart) is seen as closed and replaced.
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(usize::try_from(cfg.db_pool_size).unwrap_or(8))
            .wait_timeout(Some(cfg.timeout()))
            .create_timeout(Some(cfg.timeout()))
            .recycle_timeout(Some(cfg.timeout()))
            .runtime(Runtime::Tokio1)
            .build()
            .context("building the PostgreSQL pool")?;
        Ok(Self {
            pool,
            host,
            port,
            name,
            user,
            timeout: cfg.timeout(),
            ready: Arc::new(AtomicBool::new(false)),
        })
    }

    /// `host:port/dbname`, for log lines.
    pub fn target(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.name)
    }

    pub fn mark_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// Runs the schema script (several statements, untraced: it runs once at start, outside
    /// any request).
    pub async fn setup(&self, script: &str) -> anyhow::Result<()> {
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| anyhow::anyhow!(pool_error(e)))?;
        tokio::time::timeout(self.timeout, client.batch_execute(script))
            .await
            .context("the schema took too long")?
            .context("running the schema")?;
        Ok(())
    }

    /// Runs `statement` in a `postgres.query` span. `slack` is added to the timeout for a query
    /// that is slow on purpose (`pg_sleep`).
    pub async fn query(
        &self,
        statement: &'static str,
        params: &[&(dyn ToSql + Sync)],
        slack: Duration,
    ) -> Result<Vec<Row>, DbFailure> {
        if !self.ready.load(Ordering::Acquire) {
            return Err(DbFailure::NotReady);
        }
        let client = self.pool.get().await.map_err(pool_error)?;
        let span = tracing::info_span!(
            "postgres.query",
            otel.kind = "client",
            otel.status_code = Empty,
            operation.name = OPERATION,
            resource.name = statement,
            span.type = "sql",
            component = "tokio-postgres",
            db.system = "postgresql",
            db.name = self.name.as_str(),
            db.user = self.user.as_str(),
            db.statement = statement,
            db.row_count = Empty,
            out.host = self.host.as_str(),
            network.destination.port = i64::from(self.port),
            peer.service = PEER_SERVICE,
            error.type = Empty,
            error.message = Empty,
            error.stack = Empty,
        );
        let bound = self.timeout + slack;
        async move {
            let run = async {
                // Prepared once per connection, then only bound and executed: one round trip.
                let prepared = client.prepare_cached(statement).await?;
                client.query(&prepared, params).await
            };
            let outcome = tokio::time::timeout(bound, run).await;
            let span = tracing::Span::current();
            let failure = match outcome {
                Ok(Ok(rows)) => {
                    span.record("db.row_count", rows.len() as i64);
                    return Ok(rows);
                }
                Ok(Err(e)) => query_error(&e),
                Err(_) => {
                    // The server would go on sleeping or waiting on a lock: cancel it there,
                    // and keep the connection (busy until then) out of the pool.
                    let cancel = client.cancel_token();
                    drop(deadpool_postgres::Object::take(client));
                    tokio::spawn(async move {
                        let _ = cancel.cancel_query(NoTls).await;
                    });
                    DbFailure::Timeout(bound.as_millis())
                }
            };
            span.record("otel.status_code", "error");
            span.record("error.type", failure.kind());
            span.record("error.message", failure.to_string().as_str());
            span.record("error.stack", stack::capture().as_str());
            Err(failure)
        }
        .instrument(span)
        .await
    }
}

fn pool_error(e: PoolError) -> DbFailure {
    match e {
        PoolError::Timeout(kind) => DbFailure::Unavailable(format!(
            "no connection within the timeout ({kind:?}: pool exhausted or PostgreSQL not answering)"
        )),
        PoolError::Backend(e) => DbFailure::Unavailable(error_chain(&e)),
        other => DbFailure::Unavailable(other.to_string()),
    }
}

fn query_error(e: &tokio_postgres::Error) -> DbFailure {
    match e.as_db_error() {
        Some(db) => DbFailure::Refused {
            code: db.code().code().to_owned(),
            message: db.message().to_owned(),
        },
        None => DbFailure::Broken(error_chain(e)),
    }
}

/// tokio-postgres's Display leaves out the cause ("error connecting to server" without the
/// "connection refused" underneath).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !out.contains(&next) {
            out.push_str(": ");
            out.push_str(&next);
        }
        source = s.source();
    }
    out
}
