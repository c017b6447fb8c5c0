//! Starting the demo-service binary against test peers.
#![allow(dead_code)]

use std::time::Duration;

use lab_testkit::process::ChildProcess;
use lab_testkit::{free_addr, wait_for};

pub const BIN: &str = env!("CARGO_BIN_EXE_demo-service");

pub struct Service {
    pub proc: ChildProcess,
    pub base: String,
    pub http: reqwest::blocking::Client,
}

impl Service {
    /// Starts the service on a free port with `envs`, and waits for /healthz.
    pub fn start(envs: &[(&str, String)]) -> Self {
        let addr = free_addr();
        let mut all: Vec<(&str, String)> = vec![
            ("DEMO_LISTEN", addr.to_string()),
            ("DEMO_WORKERS", "2".into()),
            ("DD_SERVICE", "demo-service".into()),
            ("DD_ENV", "test".into()),
            ("DD_VERSION", "9.9".into()),
        ];
        all.extend(envs.iter().cloned());
        let proc = ChildProcess::spawn(BIN, &[], &all);
        let base = format!("http://{addr}");
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let probe = format!("{base}/healthz");
        wait_for("the service's /healthz", Duration::from_secs(20), || {
            http.get(&probe)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Self { proc, base, http }
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// SIGTERM, and the exit must be clean.
    pub fn stop(mut self) -> ChildProcess {
        let status = self.proc.terminate(Duration::from_secs(30));
        assert!(
            status.success(),
            "exit {status:?}: {:?}",
            self.proc.stderr_lines()
        );
        self.proc
    }
}

/// inventory (`demo-service inventory`) on a free port against `database_url`.
pub struct Inventory {
    pub proc: ChildProcess,
    pub base: String,
    pub addr: std::net::SocketAddr,
}

impl Inventory {
    /// Starts inventory and waits until it serves its stock (schema in place).
    pub fn start(database_url: &str, envs: &[(&str, String)]) -> Self {
        Self::start_on(free_addr(), database_url, envs)
    }

    /// Starts it on `addr` (again on the same address after a stop, as a restart does).
    pub fn start_on(
        addr: std::net::SocketAddr,
        database_url: &str,
        envs: &[(&str, String)],
    ) -> Self {
        let mut all: Vec<(&str, String)> = vec![
            ("DEMO_LISTEN", addr.to_string()),
            ("DEMO_WORKERS", "2".into()),
            ("DATABASE_URL", database_url.to_owned()),
            ("DD_ENV", "test".into()),
            ("DD_VERSION", "9.9".into()),
        ];
        all.extend(envs.iter().cloned());
        let proc = ChildProcess::spawn(BIN, &["inventory"], &all);
        let base = format!("http://{addr}");
        let http = reqwest::blocking::Client::new();
        let probe = format!("{base}/healthz");
        wait_for("inventory's /healthz", Duration::from_secs(20), || {
            http.get(&probe)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        let inventory = Self { proc, base, addr };
        inventory.wait_for_stock();
        inventory
    }

    /// Waits until the stock can be read (the schema is made in the background at start).
    pub fn wait_for_stock(&self) {
        wait_for("inventory's schema", Duration::from_secs(20), || {
            self.proc
                .json_lines()
                .iter()
                .any(|l| l["message"] == "schema and sample stock in place")
                .then_some(())
        });
    }

    pub fn stop(mut self) -> ChildProcess {
        let status = self.proc.terminate(Duration::from_secs(30));
        assert!(
            status.success(),
            "inventory exit {status:?}: {:?}",
            self.proc.stderr_lines()
        );
        self.proc
    }
}

/// The system behind demo-service: a throwaway PostgreSQL cluster, inventory on it, and
/// demo-service calling inventory; every service sends its spans to `agent_url` when given.
pub struct Lab {
    pub pg: lab_testkit::postgres::PgCluster,
    pub inventory: Option<Inventory>,
    pub service: Service,
    pub database_url: String,
    pub agent_envs: Vec<(&'static str, String)>,
}

impl Lab {
    pub fn start(agent_url: Option<String>, service_envs: &[(&str, String)]) -> Self {
        let pg = lab_testkit::postgres::PgCluster::start();
        pg.create_database("inventory");
        let database_url = pg.url("inventory");
        let agent_envs: Vec<(&'static str, String)> = match agent_url {
            Some(url) => vec![("DD_TRACE_AGENT_URL", url)],
            None => vec![("DD_TRACE_ENABLED", "false".into())],
        };
        let inventory = Inventory::start(&database_url, &agent_envs);
        let mut envs: Vec<(&str, String)> = agent_envs.clone();
        envs.push(("INVENTORY_URL", inventory.base.clone()));
        envs.extend(service_envs.iter().cloned());
        let service = Service::start(&envs);
        Self {
            pg,
            inventory: Some(inventory),
            service,
            database_url,
            agent_envs,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.service.get(path)
    }

    /// Stops demo-service, then inventory (each flushing its spans); returns both processes.
    pub fn stop(mut self) -> (ChildProcess, ChildProcess) {
        let service = self.service.stop();
        let inventory = self.inventory.take().expect("inventory running").stop();
        (service, inventory)
    }
}
