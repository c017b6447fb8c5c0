//! Starting the demo-service binary against test peers.
#![allow(dead_code)]

use std::time::Duration;

use lab_testkit::inventory::InventoryBackend;
use lab_testkit::process::ChildProcess;
use lab_testkit::{free_addr, free_port, wait_for};

pub const BIN: &str = env!("CARGO_BIN_EXE_demo-service");

pub struct Service {
    pub proc: ChildProcess,
    pub base: String,
    pub http: reqwest::blocking::Client,
}

impl Service {
    /// Starts the service on a free port with `envs`, and waits for /healthz. Without an
    /// INVENTORY_URL in `envs` it calls a port nobody listens on (never the machine's own
    /// 8081): a test that wants inventory's answers starts a [`Lab`].
    pub fn start(envs: &[(&str, String)]) -> Self {
        let addr = free_addr();
        let mut all: Vec<(&str, String)> = vec![
            ("DEMO_LISTEN", addr.to_string()),
            ("INVENTORY_URL", format!("http://127.0.0.1:{}", free_port())),
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

/// inventory and its PostgreSQL, as demo-service's tests start it: `DD_ENV` and
/// `DD_VERSION` as demo-service's, traced to `agent_url` when given.
pub fn inventory(agent_url: Option<String>) -> InventoryBackend {
    let builder = InventoryBackend::builder(BIN)
        .env("DD_ENV", "test")
        .env("DD_VERSION", "9.9");
    match agent_url {
        Some(url) => builder.traced_to(url),
        None => builder,
    }
    .start()
}

/// The system behind demo-service: a throwaway PostgreSQL cluster, inventory on it, and
/// demo-service calling inventory; every service sends its spans to `agent_url` when given.
pub struct Lab {
    pub inventory: InventoryBackend,
    pub service: Service,
}

impl Lab {
    pub fn start(agent_url: Option<String>, service_envs: &[(&str, String)]) -> Self {
        let inventory = inventory(agent_url.clone());
        let mut envs: Vec<(&str, String)> = vec![inventory.url_env()];
        envs.push(match agent_url {
            Some(url) => ("DD_TRACE_AGENT_URL", url),
            None => ("DD_TRACE_ENABLED", "false".into()),
        });
        envs.extend(service_envs.iter().cloned());
        let service = Service::start(&envs);
        Self { inventory, service }
    }

    pub fn get(&self, path: &str) -> reqwest::blocking::Response {
        self.service.get(path)
    }

    /// Stops demo-service, then inventory (each flushing its spans); returns both processes.
    pub fn stop(mut self) -> (ChildProcess, ChildProcess) {
        let service = self.service.stop();
        let inventory = self.inventory.stop();
        (service, inventory)
    }
}
