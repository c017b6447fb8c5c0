//! Datadog's own test agent (`ddapm-test-agent`, from PyPI) as a child process: the real peer
//! that validates what a tracer sends, with its trace checks turned on.

use std::path::PathBuf;
use std::time::Duration;

use crate::process::ChildProcess;
use crate::{free_port, wait_for};

/// Every check the test agent knows (none are on by default).
pub const ALL_CHECKS: &str = "trace_count_header,meta_tracer_version_header,trace_content_length,trace_stall,trace_peer_service,meta_events_is_valid_json,trace_dd_service";

pub struct TestAgent {
    pub port: u16,
    pub proc: ChildProcess,
    http: reqwest::blocking::Client,
}

/// The Python of the venv `tests/setup` makes, or `LAB_PYTHON`.
pub fn lab_python() -> PathBuf {
    if let Some(p) = std::env::var_os("LAB_PYTHON") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python")
}

impl TestAgent {
    pub fn start() -> Self {
        let python = lab_python();
        let bin = python.with_file_name("ddapm-test-agent");
        assert!(
            bin.exists(),
            "{} is missing: run tests/setup (it installs Datadog's test agent into .venv), or set LAB_PYTHON",
            bin.display()
        );
        let port = free_port();
        let args = [
            "--host".to_owned(),
            "127.0.0.1".to_owned(),
            "--port".to_owned(),
            port.to_string(),
            // Its OTLP listeners default to fixed ports; move them so tests can run side by side.
            "--otlp-http-port".to_owned(),
            free_port().to_string(),
            "--otlp-grpc-port".to_owned(),
            free_port().to_string(),
            "--log-level".to_owned(),
            "WARNING".to_owned(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // ENABLED_CHECKS, not --enabled-checks: the flag's parser is broken in 1.69
        // (`invalid List value`).
        let mut proc = ChildProcess::spawn(
            &bin.to_string_lossy(),
            &args,
            &[("ENABLED_CHECKS", ALL_CHECKS.to_owned())],
        );
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let info = format!("http://127.0.0.1:{port}/info");
        wait_for("the test agent's /info", Duration::from_secs(60), || {
            if let Some(status) = proc.exited() {
                panic!(
                    "the test agent exited ({status}): {}",
                    proc.stderr_lines().join("\n")
                );
            }
            http.get(&info)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Self { port, proc, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn get_json(&self, path: &str) -> serde_json::Value {
        self.http
            .get(self.url(path))
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET {path} from the test agent: {e}"))
    }

    /// The test agent's verdict: Ok, or its failure text.
    pub fn check_failures(&self) -> Result<(), String> {
        let res = self
            .http
            .get(self.url("/test/trace_check/failures?return_all=true"))
            .send()
            .map_err(|e| e.to_string())?;
        if res.status().is_success() {
            Ok(())
        } else {
            Err(res.text().unwrap_or_default())
        }
    }
}
