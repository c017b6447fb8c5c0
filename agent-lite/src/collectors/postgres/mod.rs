//! The Datadog Agent's postgres check: every collection interval, the server's activity read
//! from its statistics views (`pg_stat_database`, `pg_locks`, `pg_database`, the settings) and
//! written with the integration's metric names, types and tags (its `metadata.csv`): per
//! database `postgresql.connections`, `postgresql.database_size` and, as per-second rates
//! between two collections, `postgresql.commits`, `postgresql.rollbacks`,
//! `postgresql.rows_fetched|returned|inserted|updated|deleted`, `postgresql.deadlocks`, ...;
//! for the server `postgresql.max_connections`, `postgresql.percent_usage_connections`,
//! `postgresql.db.count`, `postgresql.locks`. The `postgres.can_connect` service check is an
//! event at each change of state, and the check's health shows in `agent-lite status`.

mod config;
mod metrics;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio_postgres::{Client, NoTls};

use super::batch::{Batch, Points};
use super::health::CollectorsHealth;
use crate::clock::now_secs;
use crate::counters::{Counter, Counters};
use crate::hostname::Hostname;
use crate::store::events::{AlertType, Event, Priority, SharedEvents};
pub use config::PostgresConfig;
use metrics::{Previous, Sample};

/// What the check writes: points, its service check's events, counters and health.
pub struct CheckOutput {
    pub points: Points,
    pub events: SharedEvents,
    pub counters: Counters,
    pub health: Arc<CollectorsHealth>,
    pub host: Hostname,
}

/// A connection or a query that takes longer is a failed check, not a stuck one.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Where the check connects, without the password: for tags, status and errors.
#[derive(Debug, Clone)]
struct Target {
    host: String,
    port: u16,
    db: String,
}

impl Target {
    fn of(cfg: &tokio_postgres::Config) -> Target {
        let host = match cfg.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".to_owned(),
        };
        Target {
            host,
            port: cfg.get_ports().first().copied().unwrap_or(5432),
            db: cfg
                .get_dbname()
                .or(cfg.get_user())
                .unwrap_or("postgres")
                .to_owned(),
        }
    }

    fn tags(&self) -> Vec<String> {
        vec![
            format!("host:{}", self.host),
            format!("port:{}", self.port),
            format!("db:{}", self.db),
        ]
    }

    fn describe(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.db)
    }
}

/// Runs the check until the runtime stops. A connection string that does not parse is said
/// once, in the log and the status; a server that does not answer is retried every interval.
pub async fn run(url: String, interval: Duration, out: CheckOutput) {
    let cfg: tokio_postgres::Config = match url.parse() {
        Ok(c) => c,
        Err(e) => {
            let reason = format!("DD_POSTGRES_URL is not a connection string: {e}");
            tracing::warn!(error = %reason, "postgres check off");
            out.health
                .postgres_state("invalid configuration", Some(&reason), "");
            return;
        }
    };
    let target = Target::of(&cfg);
    let mut client: Option<Client> = None;
    let mut previous: Option<Previous> = None;
    let mut last_ok: Option<bool> = None;
    let mut tick = tokio::time::interval(interval);
    loop {
        tick.tick().await;
        out.counters.incr(Counter::CollectorsPostgresRuns);
        let result = collect(&cfg, &mut client, &target).await;
        let ok = result.is_ok();
        match result {
            Ok(sample) => {
                let mut batch = Batch::default();
                previous = Some(metrics::write(&sample, previous.as_ref(), &mut batch));
                batch.write(&out.points, now_secs());
                out.health.postgres_state("ok", None, &target.describe());
            }
            Err(e) => {
                client = None;
                previous = None;
                out.counters.incr(Counter::CollectorsPostgresErrors);
                let reason = format!("{e:#}");
                if last_ok != Some(false) {
                    tracing::warn!(target = %target.describe(), error = %reason, "postgres check cannot collect");
                }
                out.health
                    .postgres_state("critical", Some(&reason), &target.describe());
            }
        }
        if last_ok != Some(ok) {
            out.events
                .lock()
                .push(can_connect_event(&target, ok, &out.host));
            last_ok = Some(ok);
        }
    }
}

/// `postgres.can_connect`, as a service check event (the shape DogStatsD's `_sc` takes).
fn can_connect_event(target: &Target, ok: bool, host: &Hostname) -> Event {
    let (alert, text) = if ok {
        (
            AlertType::Success,
            format!("connected to {}", target.describe()),
        )
    } else {
        (
            AlertType::Error,
            format!("cannot connect to {}", target.describe()),
        )
    };
    Event::new(
        "service_check",
        "Service check postgres.can_connect",
        text,
        now_secs(),
    )
    .with_priority(Priority::Normal)
    .with_alert_type(alert)
    .with_host(host.as_str())
    .with_tags(target.tags())
    .with_aggregation_key("postgres.can_connect")
}

/// One collection, connecting first when there is no live connection.
async fn collect(
    cfg: &tokio_postgres::Config,
    client: &mut Option<Client>,
    target: &Target,
) -> anyhow::Result<Sample> {
    if client.as_ref().is_none_or(Client::is_closed) {
        let (c, connection) = tokio::time::timeout(TIMEOUT, cfg.connect(NoTls))
            .await
            .map_err(|_| anyhow::anyhow!("no answer in {} s", TIMEOUT.as_secs()))?
            .with_context(|| format!("cannot connect to {}", target.describe()))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "postgres check connection ended");
            }
        });
        *client = Some(c);
    }
    let Some(c) = client.as_ref() else {
        anyhow::bail!("no connection");
    };
    let started = Instant::now();
    tokio::time::timeout(TIMEOUT, metrics::read(c))
        .await
        .map_err(|_| anyhow::anyhow!("the statistics queries took over {} s", TIMEOUT.as_secs()))?
        .map(|mut s| {
            s.took = started.elapsed();
            s
        })
}
