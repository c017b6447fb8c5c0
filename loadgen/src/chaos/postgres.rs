//! The database slowdown: a transaction that takes a lock on one of the lab's tables and
//! holds it, from its own connection, as a migration or a forgotten `BEGIN` would. Ending
//! the transaction (or losing the connection, if loadgen stops) releases it.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context};

use crate::scenario::LockMode;

/// Longest wait for the connection and for the lock itself: a lock loadgen cannot get in
/// this long is reported as failed rather than taken late.
const WAIT: Duration = Duration::from_secs(5);

pub struct PgChaos {
    config: tokio_postgres::Config,
    /// The URL without its password, for messages.
    shown: String,
}

impl PgChaos {
    /// `url`: a libpq connection string or URL (`postgres://user:pass@host:5432/db`).
    pub fn new(url: &str) -> anyhow::Result<Self> {
        let config = tokio_postgres::Config::from_str(url)
            .with_context(|| "the --postgres connection string is not one libpq reads")?;
        let hosts: Vec<String> = config
            .get_hosts()
            .iter()
            .map(|h| match h {
                tokio_postgres::config::Host::Tcp(h) => h.clone(),
                tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
            })
            .collect();
        let shown = format!(
            "{}@{}/{}",
            config.get_user().unwrap_or("postgres"),
            hosts.join(","),
            config.get_dbname().unwrap_or("")
        );
        Ok(Self { config, shown })
    }

    /// Takes the lock and holds it for `hold`. Returns once the lock is taken, with a future
    /// that releases it at the end (or when dropped, with its connection).
    pub async fn lock(
        &self,
        table: &str,
        mode: LockMode,
        hold: Duration,
    ) -> anyhow::Result<impl std::future::Future<Output = anyhow::Result<String>>> {
        let (client, connection) =
            tokio::time::timeout(WAIT, self.config.connect(tokio_postgres::NoTls))
                .await
                .map_err(|_| {
                    anyhow::anyhow!("no answer from PostgreSQL at {} in {WAIT:?}", self.shown)
                })?
                .with_context(|| format!("cannot connect to PostgreSQL at {}", self.shown))?;
        let connection = tokio::spawn(connection);
        let statement = format!(
            "BEGIN; SET LOCAL lock_timeout = '{}ms'; LOCK TABLE {} IN {} MODE",
            WAIT.as_millis(),
            quote(table),
            mode.sql()
        );
        if let Err(e) = client.batch_execute(&statement).await {
            connection.abort();
            bail!("cannot lock {table}: {}", db_message(&e));
        }
        let shown = self.shown.clone();
        let table = table.to_owned();
        Ok(async move {
            tokio::time::sleep(hold).await;
            let result = client
                .batch_execute("ROLLBACK")
                .await
                .map(|()| format!("{table} released after {hold:?} ({shown})"))
                .map_err(|e| anyhow::anyhow!("releasing {table}: {}", db_message(&e)));
            drop(client);
            let _ = connection.await;
            result
        })
    }
}

/// Each part of `schema.name` as a quoted identifier (the scenario's check allows only
/// letters, digits and `_`, so there is nothing to escape; quoting keeps the case).
fn quote(table: &str) -> String {
    table
        .split('.')
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

/// PostgreSQL's own message when there is one (tokio-postgres's Display says only "db error").
fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => format!("{e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_quoted_part_by_part() {
        assert_eq!(quote("items"), "\"items\"");
        assert_eq!(quote("inventory.Items"), "\"inventory\".\"Items\"");
    }

    #[test]
    fn a_bad_connection_string_is_refused_with_a_reason() {
        let e = PgChaos::new("postgres://host:notaport/db")
            .err()
            .map(|e| format!("{e:#}"));
        assert!(e.is_some_and(|e| e.contains("--postgres")));
        let ok = PgChaos::new("postgres://lab:secret@db:5432/inventory").map(|p| p.shown);
        assert_eq!(ok.ok().as_deref(), Some("lab@db/inventory"));
    }
}
