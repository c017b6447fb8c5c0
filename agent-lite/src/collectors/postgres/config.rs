//! The postgres check's configuration: a connection string, as the Agent's postgres
//! integration takes `host`, `port`, `username`, `password` and `dbname` in its conf.yaml.

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct PostgresConfig {
    /// Run the Agent's postgres check against this server: a libpq connection string
    /// (`postgres://datadog:secret@127.0.0.1:5432/postgres` or `host=... dbname=...`). Off
    /// when unset. In datadog.yaml: `postgres_url`.
    #[arg(long, env = "DD_POSTGRES_URL")]
    pub postgres_url: Option<String>,
}
