//! The lab as local processes on 127.0.0.1, set up as compose sets it up: agent-lite with the
//! lab's monitors, dashboards and SLOs (compose/), inventory on a throwaway PostgreSQL, and
//! demo-service traced, profiled, sending runtime metrics and writing its log lines to a file
//! agent-lite follows (as a container's output reaches the Agent).

use std::path::{Path, PathBuf};
use std::time::Duration;

use lab_testkit::inventory::InventoryBackend;
use lab_testkit::process::ChildProcess;
use lab_testkit::{free_port, wait_for};

use crate::common::Agent;

/// Seconds between two profiles of each service: several during the CPU spike's 75 s (the
/// lab's default, 60, would give one or two).
const PROFILING_UPLOAD_PERIOD: &str = "10";

/// compose.yaml's own values where they differ from the binaries' defaults.
const ENV: &str = "dev";
const VERSION: &str = "1.0";
const INVENTORY_POOL: u64 = 16;

pub struct Lab {
    // Dropped in this order: demo-service, then inventory and its database, then agent-lite.
    _demo: ChildProcess,
    pub inventory: InventoryBackend,
    pub agent: Agent,
    pub demo_url: String,
    _logs: tempfile::TempDir,
}

/// A folder of the compose stack (`compose/<name>`).
fn compose_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../compose")
        .join(name)
}

/// The workspace's binaries the lab runs besides agent-lite (the test's own), built before
/// anything starts: a build under way would load the host during the scenario.
pub struct Binaries {
    pub demo_service: PathBuf,
    pub loadgen: PathBuf,
}

impl Binaries {
    pub fn build() -> Self {
        Self {
            demo_service: lab_testkit::workspace_bin("demo-service"),
            loadgen: lab_testkit::workspace_bin("loadgen"),
        }
    }
}

impl Lab {
    pub fn start(bins: &Binaries) -> Self {
        let logs = tempfile::tempdir().expect("a folder for demo-service's log");
        let log = logs.path().join("demo-service.log");
        std::fs::write(&log, "").expect("demo-service's log file");
        let folder = |name: &str| compose_dir(name).display().to_string();
        let agent = Agent::start(&[
            ("AGENT_LITE_MONITORS_DIR", folder("monitors")),
            ("AGENT_LITE_DASHBOARDS_DIR", folder("dashboards")),
            ("AGENT_LITE_SLOS_DIR", folder("slos")),
            // The lab's flush and evaluation intervals, which the quick scenario's monitors
            // and expectations are written for.
            ("AGENT_LITE_FLUSH_SECS", "10".into()),
            ("AGENT_LITE_MONITOR_INTERVAL_SECS", "15".into()),
            (
                "AGENT_LITE_LOGS_FILES",
                format!("demo-service={}", log.display()),
            ),
        ]);
        let bin = &bins.demo_service;
        let inventory = InventoryBackend::builder(bin)
            .traced_to(agent.apm_url(""))
            .dogstatsd_port(agent.statsd_port)
            .pool_size(INVENTORY_POOL)
            .env("DD_ENV", ENV)
            .env("DD_VERSION", VERSION)
            .env("DD_RUNTIME_METRICS_ENABLED", "true")
            .env("DD_PROFILING_ENABLED", "true")
            .env("DD_PROFILING_UPLOAD_PERIOD", PROFILING_UPLOAD_PERIOD)
            .start();
        let port = free_port();
        let envs: Vec<(&str, String)> = vec![
            ("DEMO_LISTEN", format!("127.0.0.1:{port}")),
            ("DD_ENV", ENV.into()),
            ("DD_VERSION", VERSION.into()),
            ("DD_TRACE_AGENT_URL", agent.apm_url("")),
            ("DD_AGENT_HOST", "127.0.0.1".into()),
            ("DD_DOGSTATSD_PORT", agent.statsd_port.to_string()),
            ("DD_RUNTIME_METRICS_ENABLED", "true".into()),
            ("DD_PROFILING_ENABLED", "true".into()),
            ("DD_PROFILING_UPLOAD_PERIOD", PROFILING_UPLOAD_PERIOD.into()),
            ("DEMO_LOG_LEVEL", "info".into()),
            inventory.url_env(),
        ];
        let demo = ChildProcess::spawn(
            "sh",
            &[
                "-c",
                "exec \"$0\" >> \"$1\" 2>&1",
                &bin.to_string_lossy(),
                &log.to_string_lossy(),
            ],
            &envs,
        );
        let demo_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::blocking::Client::new();
        wait_for("demo-service's /healthz", Duration::from_secs(30), || {
            http.get(format!("{demo_url}/healthz"))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Self {
            _demo: demo,
            inventory,
            agent,
            demo_url,
            _logs: logs,
        }
    }

    /// The id of the monitor named `name` (one of compose/monitors/).
    pub fn monitor_id(&self, name: &str) -> u64 {
        let (_, list) = self.agent.get("/api/v1/monitor");
        list.as_array()
            .into_iter()
            .flatten()
            .find(|m| m["name"] == name)
            .and_then(|m| m["id"].as_u64())
            .unwrap_or_else(|| panic!("no monitor named {name:?} (compose/monitors/)"))
    }

    /// Waits until the monitor `id` has been in Alert (its history has a transition to it).
    pub fn wait_alert_seen(&self, id: u64, deadline: Duration) {
        wait_for(&format!("monitor {id} in Alert"), deadline, || {
            let (_, history) = self.agent.get(&format!("/api/v0/monitors/{id}/history"));
            history["transitions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["to"] == "Alert")
                .then_some(())
        });
    }

    /// A trace of demo-service's `resource` that failed in inventory too (more than
    /// demo-service's own spans), newest first.
    pub fn failed_trace(&self, resource: &str) -> String {
        wait_for(
            &format!("a failed {resource} trace"),
            Duration::from_secs(30),
            || {
                let (_, found) = self.agent.get(&format!(
                    "/api/v0/traces?service=demo-service&resource={}&error=true&limit=200",
                    resource.replace(' ', "%20")
                ));
                found["traces"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|t| t["span_count"].as_u64() >= Some(4))
                    .find_map(|t| t["trace_id"].as_str().map(str::to_owned))
            },
        )
    }

    /// The mean of every point of `query` from `from` to `to` (epoch seconds).
    pub fn mean(&self, query: &str, from: i64, to: i64) -> f64 {
        let res = self
            .agent
            .http
            .get(self.agent.api_url("/api/v1/query"))
            .query(&[
                ("from", from.to_string()),
                ("to", to.to_string()),
                ("query", query.to_owned()),
            ])
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.json::<serde_json::Value>())
            .unwrap_or_else(|e| panic!("query {query}: {e}"));
        let points: Vec<f64> = res["series"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["pointlist"].as_array().into_iter().flatten())
            .filter_map(|p| p[1].as_f64())
            .collect();
        assert!(
            !points.is_empty(),
            "no point of {query} from {from} to {to}"
        );
        points.iter().sum::<f64>() / points.len() as f64
    }

    /// Waits until demo-service has sent a CPU profile that ends after `secs` (epoch).
    pub fn wait_profile_after(&self, secs: i64) {
        wait_for(
            "a CPU profile of demo-service",
            Duration::from_secs(60),
            || {
                let (_, list) = self.agent.get(&format!(
                    "/api/v0/profiles?service=demo-service&from={secs}"
                ));
                list["profiles"]
                    .as_array()
                    .is_some_and(|p| !p.is_empty())
                    .then_some(())
            },
        );
    }
}
