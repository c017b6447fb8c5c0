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
