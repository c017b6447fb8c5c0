//! The check's queries and what they become: the statistics views read as the PostgreSQL
//! documentation describes them, and the Agent integration's names, types and units
//! (`postgres/metadata.csv` in integrations-core): counters of `pg_stat_database` are sent as
//! per-second rates (gauges) between two collections, as the check's `rate` submissions are,
//! so the first collection sends none of them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::collectors::batch::Batch;

/// One collection's figures.
#[derive(Debug, Clone)]
pub struct Sample {
    pub at: Instant,
    pub took: Duration,
    pub version: String,
    pub max_connections: f64,
    pub databases: BTreeMap<String, Database>,
    pub db_count: f64,
    /// (db, lock_mode, lock_type, table) -> locks held or awaited.
    pub locks: Vec<(String, String, String, Option<String>, f64)>,
}

#[derive(Debug, Clone, Default)]
pub struct Database {
    pub connections: f64,
    pub size_bytes: f64,
    /// The cumulative counters, by the metric they make.
    pub counters: BTreeMap<&'static str, f64>,
}

/// `pg_stat_database`'s cumulative columns and the rate each makes.
const RATES: &[(&str, &str)] = &[
    ("xact_commit", "postgresql.commits"),
    ("xact_rollback", "postgresql.rollbacks"),
    ("blks_read", "postgresql.disk_read"),
    ("blks_hit", "postgresql.buffer_hit"),
    ("tup_returned", "postgresql.rows_returned"),
    ("tup_fetched", "postgresql.rows_fetched"),
    ("tup_inserted", "postgresql.rows_inserted"),
    ("tup_updated", "postgresql.rows_updated"),
    ("tup_deleted", "postgresql.rows_deleted"),
    ("deadlocks", "postgresql.deadlocks"),
    ("temp_files", "postgresql.temp_files"),
    ("temp_bytes", "postgresql.temp_bytes"),
];

/// What a rate is computed from: the previous collection's counters.
pub struct Previous {
    at: Instant,
    counters: BTreeMap<String, BTreeMap<&'static str, f64>>,
}

/// Reads one sample. Every column is cast in the query to the type read here, so that a
/// server version with other column types still reads.
pub async fn read(c: &Client) -> anyhow::Result<Sample> {
    use anyhow::Context as _;
    let settings = c
        .query_one(
            "SELECT current_setting('server_version'), current_setting('max_connections')::float8",
            &[],
        )
        .await
        .context("reading the server's settings")?;
    let columns: Vec<String> = RATES.iter().map(|(c, _)| format!("{c}::float8")).collect();
    // Databases the check may connect to: pg_database_size needs that privilege.
    let stat = format!(
        "SELECT datname::text, numbackends::float8, pg_database_size(datid)::float8, {} \
         FROM pg_stat_database WHERE datname IS NOT NULL \
         AND datname NOT IN ('template0', 'template1') \
         AND has_database_privilege(datname, 'CONNECT')",
        columns.join(", ")
    );
    let mut databases = BTreeMap::new();
    for row in c
        .query(&stat, &[])
        .await
        .context("reading pg_stat_database")?
    {
        let mut db = Database {
            connections: row.try_get(1)?,
            size_bytes: row.try_get(2)?,
            counters: BTreeMap::new(),
        };
        for (i, (_, metric)) in RATES.iter().enumerate() {
            db.counters.insert(*metric, row.try_get(3 + i)?);
        }
        databases.insert(row.try_get::<_, String>(0)?, db);
    }
    let db_count: f64 = c
        .query_one(
            "SELECT count(*)::float8 FROM pg_database WHERE NOT datistemplate",
            &[],
        )
        .await
        .context("counting the databases")?
        .try_get(0)?;
    // Tables are named from the connected database's catalog, where the lock's relation is.
    let locks = c
        .query(
            "SELECT d.datname::text, l.mode::text, l.locktype::text, c.relname::text, count(*)::float8 \
             FROM pg_locks l JOIN pg_database d ON l.database = d.oid \
             LEFT JOIN pg_class c ON l.relation = c.oid \
             WHERE l.pid <> pg_backend_pid() \
             GROUP BY 1, 2, 3, 4",
            &[],
        )
        .await
        .context("reading pg_locks")?
        .iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
            ))
        })
        .collect::<Result<_, tokio_postgres::Error>>()?;
    Ok(Sample {
        at: Instant::now(),
        took: Duration::ZERO,
        version: settings.try_get(0)?,
        max_connections: settings.try_get(1)?,
        databases,
        db_count,
        locks,
    })
}

/// Writes a sample's points into `batch`; returns what the next rates are computed from.
pub fn write(s: &Sample, previous: Option<&Previous>, batch: &mut Batch) -> Previous {
    // "15.8 (Debian 15.8-0+deb12u1)" -> "15.8".
    let version = s.version.split_whitespace().next().unwrap_or("");
    let server = vec![format!("postgresql_version:{version}")];
    batch.gauge("postgresql.max_connections", &server, s.max_connections);
    let used: f64 = s.databases.values().map(|d| d.connections).sum();
    if s.max_connections > 0.0 {
        batch.gauge(
            "postgresql.percent_usage_connections",
            &server,
            used / s.max_connections,
        );
    }
    batch.gauge("postgresql.db.count", &server, s.db_count);
    let secs = previous.map(|p| s.at.duration_since(p.at).as_secs_f64());
    for (name, db) in &s.databases {
        let tags = vec![server[0].clone(), format!("db:{name}")];
        batch.gauge("postgresql.connections", &tags, db.connections);
        batch.gauge("postgresql.database_size", &tags, db.size_bytes);
        let before = previous.and_then(|p| p.counters.get(name));
        for (metric, value) in &db.counters {
            let Some((was, secs)) = before.and_then(|b| b.get(metric)).zip(secs) else {
                continue;
            };
            // A reset of the statistics makes a counter go back: no rate this time.
            if value < was || secs <= 0.0 {
                continue;
            }
            batch.gauge(metric, &tags, (value - was) / secs);
            if *metric == "postgresql.deadlocks" {
                batch.count("postgresql.deadlocks.count", &tags, value - was);
            }
        }
    }
    for (db, mode, kind, table, n) in &s.locks {
        let mut tags = vec![
            server[0].clone(),
            format!("db:{db}"),
            format!("lock_mode:{mode}"),
            format!("lock_type:{kind}"),
        ];
        if let Some(t) = table {
            tags.push(format!("table:{t}"));
        }
        batch.gauge("postgresql.locks", &tags, *n);
    }
    Previous {
        at: s.at,
        counters: s
            .databases
            .iter()
            .map(|(n, d)| (n.clone(), d.counters.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: Instant, commits: f64) -> Sample {
        let mut db = Database {
            connections: 3.0,
            size_bytes: 8e6,
            ..Database::default()
        };
        db.counters.insert("postgresql.commits", commits);
        db.counters.insert("postgresql.deadlocks", 1.0);
        Sample {
            at,
            took: Duration::ZERO,
            version: "15.8 (Debian 15.8-0+deb12u1)".into(),
            max_connections: 100.0,
            databases: [("shop".to_owned(), db)].into(),
            db_count: 2.0,
            locks: vec![(
                "shop".into(),
                "RowExclusiveLock".into(),
                "relation".into(),
                Some("stock".into()),
                2.0,
            )],
        }
    }

    #[test]
    fn counters_become_rates_from_the_second_collection_on() {
        let t0 = Instant::now();
        let mut first = Batch::default();
        let prev = write(&sample(t0, 100.0), None, &mut first);
        assert_eq!(
            first.value("postgresql.commits", &[]),
            None,
            "no rate from one sample"
        );
        assert_eq!(
            first.value(
                "postgresql.connections",
                &["db:shop", "postgresql_version:15.8"]
            ),
            Some(3.0)
        );
        assert_eq!(
            first.value("postgresql.percent_usage_connections", &[]),
            Some(0.03)
        );
        assert_eq!(
            first.value(
                "postgresql.locks",
                &["lock_mode:RowExclusiveLock", "table:stock"]
            ),
            Some(2.0)
        );
        let mut second = Batch::default();
        write(
            &sample(t0 + Duration::from_secs(10), 150.0),
            Some(&prev),
            &mut second,
        );
        assert_eq!(
            second.value("postgresql.commits", &["db:shop"]),
            Some(5.0),
            "50 commits in 10 s"
        );
        assert_eq!(
            second.value("postgresql.deadlocks", &["db:shop"]),
            Some(0.0)
        );
        assert_eq!(
            second.value("postgresql.deadlocks.count", &["db:shop"]),
            Some(0.0)
        );
        let mut reset = Batch::default();
        write(
            &sample(t0 + Duration::from_secs(20), 1.0),
            Some(&prev),
            &mut reset,
        );
        assert_eq!(
            reset.value("postgresql.commits", &[]),
            None,
            "a reset makes no negative rate"
        );
    }
}
