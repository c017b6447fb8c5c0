//! The system behind demo-service's `/slow` and `/error`: a throwaway PostgreSQL cluster and
//! `demo-service inventory` running on it, on a free loopback port. Tests that start
//! demo-service and hit those endpoints start this too and give demo-service its `url()` as
//! INVENTORY_URL: without it demo-service answers 503 (inventory unreachable), which is the
//! behaviour of an outage, not of the endpoints.
//!
//! inventory traces to the agent the test names (its spans count in that agent's totals:
//! its server span and the `postgres.query` under it, for every call demo-service makes), or
//! not at all. Everything stops on drop: the process is killed, the cluster removed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::postgres::PgCluster;
use crate::process::ChildProcess;
use crate::{free_addr, wait_for};

/// The database inventory keeps its stock in.
pub const DATABASE: &str = "inventory";

/// inventory's own default pool size (INVENTORY_DB_POOL_SIZE). A test with more `/slow`
/// requests in flight than this needs a larger pool: the excess waits for a connection and
/// gets a 503 once the wait is over INVENTORY_DB_TIMEOUT_MS.
pub const DEFAULT_POOL_SIZE: u64 = 8;

/// The line inventory logs once its schema and sample stock are in place; until then its data
/// endpoints answer 503.
const READY_LINE: &str = "schema and sample stock in place";

/// How inventory is started: see [`InventoryBackend::builder`].
#[derive(Debug, Clone)]
pub struct InventoryBuilder {
    bin: PathBuf,
    agent_url: Option<String>,
    dogstatsd_port: Option<u16>,
    pool_size: u64,
    envs: Vec<(String, String)>,
}

impl InventoryBuilder {
    /// Sends inventory's spans to the trace intake at `url` (DD_TRACE_AGENT_URL); without
    /// it, inventory's tracer is off.
    pub fn traced_to(mut self, url: impl Into<String>) -> Self {
        self.agent_url = Some(url.into());
        self
    }

    /// DogStatsD on loopback at `port` (for runtime metrics when a test turns them on, and
    /// so that nothing goes to the machine's own 8125).
    pub fn dogstatsd_port(mut self, port: u16) -> Self {
        self.dogstatsd_port = Some(port);
        self
    }

    /// Most connections inventory opens to PostgreSQL (INVENTORY_DB_POOL_SIZE): at least the
    /// number of `/slow` requests the test has in flight at once.
    pub fn pool_size(mut self, size: u64) -> Self {
        self.pool_size = size;
        self
    }

    /// Any other variable (DD_ENV, DD_VERSION, INVENTORY_DB_TIMEOUT_MS...); set last, so it
    /// wins over the builder's own.
    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.envs.push((key.to_owned(), value.into()));
        self
    }

    /// A fresh cluster, its `inventory` database, and inventory on it, serving its stock.
    pub fn start(self) -> InventoryBackend {
        let pg = PgCluster::start();
        pg.create_database(DATABASE);
        let mut envs: Vec<(String, String)> = vec![
            ("DEMO_WORKERS".into(), "2".into()),
            ("DATABASE_URL".into(), pg.url(DATABASE)),
            ("INVENTORY_DB_POOL_SIZE".into(), self.pool_size.to_string()),
        ];
        match self.agent_url {
            Some(url) => envs.push(("DD_TRACE_AGENT_URL".into(), url)),
            None => envs.push(("DD_TRACE_ENABLED".into(), "false".into())),
        }
        if let Some(port) = self.dogstatsd_port {
            envs.push(("DD_AGENT_HOST".into(), "127.0.0.1".into()));
            envs.push(("DD_DOGSTATSD_PORT".into(), port.to_string()));
        }
        envs.extend(self.envs);
        // Readiness is read from an info line: a quieter level would hide it.
        envs.push(("DEMO_LOG_LEVEL".into(), "info".into()));
        let addr = free_addr();
        let proc = spawn(&self.bin, addr, &envs);
        InventoryBackend {
            proc: Some(proc),
            pg,
            addr,
            bin: self.bin,
            envs,
        }
    }
}

/// inventory and its PostgreSQL, running; see the module's comment.
pub struct InventoryBackend {
    // Before the cluster: dropped (killed) first.
    proc: Option<ChildProcess>,
    pg: PgCluster,
    addr: SocketAddr,
    bin: PathBuf,
    envs: Vec<(String, String)>,
}

impl InventoryBackend {
    /// `bin` is the demo-service binary (inventory is its `inventory` subcommand): a crate's
    /// own `CARGO_BIN_EXE_demo-service`, or [`crate::workspace_bin`] from another crate.
    pub fn builder(bin: impl Into<PathBuf>) -> InventoryBuilder {
        InventoryBuilder {
            bin: bin.into(),
            agent_url: None,
            dogstatsd_port: None,
            pool_size: DEFAULT_POOL_SIZE,
            envs: Vec::new(),
        }
    }

    /// inventory's base URL, for demo-service's INVENTORY_URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `("INVENTORY_URL", url)`, to add to demo-service's variables.
    pub fn url_env(&self) -> (&'static str, String) {
        ("INVENTORY_URL", self.url())
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// inventory's `postgres://` URL.
    pub fn database_url(&self) -> String {
        self.pg.url(DATABASE)
    }

    /// The cluster, for SQL behind inventory's back (a lock held, a row read).
    pub fn pg(&self) -> &PgCluster {
        &self.pg
    }

    /// The cluster, to stop and restart it (a database outage).
    pub fn pg_mut(&mut self) -> &mut PgCluster {
        &mut self.pg
    }

    /// The running process (its log lines); panics when it was stopped.
    pub fn proc(&self) -> &ChildProcess {
        self.proc.as_ref().expect("inventory is running")
    }

    /// SIGTERM: inventory answers what is in flight, flushes its spans and must exit cleanly.
    /// Returns the ended process, for its log lines. Stop demo-service first when counting
    /// spans: its calls in flight need inventory to answer.
    pub fn stop(&mut self) -> ChildProcess {
        let mut proc = self.proc.take().expect("inventory is running");
        let status = proc.terminate(Duration::from_secs(60));
        assert!(
            status.success(),
            "inventory's exit on SIGTERM: {status:?}; stderr: {:?}",
            proc.stderr_lines()
        );
        proc
    }

    /// Starts inventory again after [`Self::stop`], on the same address and database (a
    /// restart: the stock is as it was left).
    pub fn restart(&mut self) {
        assert!(self.proc.is_none(), "inventory is still running");
        self.proc = Some(spawn(&self.bin, self.addr, &self.envs));
    }
}

/// Starts `demo-service inventory` on `addr` and waits until it serves its stock.
fn spawn(bin: &std::path::Path, addr: SocketAddr, envs: &[(String, String)]) -> ChildProcess {
    let mut all: Vec<(&str, String)> = vec![("DEMO_LISTEN", addr.to_string())];
    all.extend(envs.iter().map(|(k, v)| (k.as_str(), v.clone())));
    let proc = ChildProcess::spawn(&bin.to_string_lossy(), &["inventory"], &all);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client");
    let probe = format!("http://{addr}/healthz");
    wait_for("inventory's /healthz", Duration::from_secs(30), || {
        http.get(&probe)
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });
    // The schema is made in the background at start; /healthz answers before it.
    wait_for("inventory's schema", Duration::from_secs(30), || {
        proc.json_lines()
            .iter()
            .any(|l| l["message"] == READY_LINE)
            .then_some(())
    });
    proc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_serves_its_stock_within_its_pool_and_restarts_on_the_same_address() {
        let bin = crate::workspace_bin("demo-service");
        let mut inventory = InventoryBackend::builder(bin)
            .pool_size(2)
            .env("INVENTORY_DB_TIMEOUT_MS", "30000")
            .start();
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        // Four slow reads at once on a pool of two: all answered, on two connections only
        // (the pool keeps them open afterwards, so PostgreSQL still lists them).
        let slow = format!("{}/items?ms=1000", inventory.url());
        std::thread::scope(|s| {
            let reads: Vec<_> = (0..4)
                .map(|_| s.spawn(|| http.get(&slow).send().map(|r| r.status().as_u16())))
                .collect();
            for read in reads {
                assert_eq!(read.join().expect("thread").ok(), Some(200));
            }
        });
        let sessions = inventory.pg().psql(
            DATABASE,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'inventory'",
        );
        assert_eq!(sessions, "2", "INVENTORY_DB_POOL_SIZE reached inventory");

        let stopped = inventory.stop();
        assert!(stopped
            .json_lines()
            .iter()
            .any(|l| l["message"] == READY_LINE));
        let items = format!("{}/items?ms=0", inventory.url());
        assert!(
            http.get(&items).send().is_err(),
            "nothing listens once stopped"
        );
        inventory.restart();
        let stock: serde_json::Value = http
            .get(&items)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json())
            .expect("the stock after the restart");
        assert_eq!(stock["items"].as_array().map(Vec::len), Some(5), "{stock}");
    }
}
