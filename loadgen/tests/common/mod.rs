//! The lab on loopback for loadgen's tests: agent-lite (monitors from a folder, evaluated
//! every second, DogStatsD flushed every second), the demo service and the inventory service
//! (with its PostgreSQL) behind its `/slow` and `/error`, both sending agent-lite their
//! traces, each a process on free ports; loadgen itself run as a process, as users run it.
#![allow(dead_code)]

pub mod procs;

use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use blocking_http as reqwest;
use lab_testkit::inventory::InventoryBackend;
use lab_testkit::process::ChildProcess;
use lab_testkit::{free_port, wait_for, workspace_bin};
use serde_json::Value;

pub const LOADGEN: &str = env!("CARGO_BIN_EXE_loadgen");

/// inventory's pool in the [`Lab`]: above the `/slow` requests a scenario's latency burst keeps
/// in flight (40% of 25 req/s, each 1.5 s long: 15), which would otherwise wait for a
/// connection and get a 503.
const LAB_INVENTORY_POOL: u64 = 24;

pub struct Lab {
    pub agent: ChildProcess,
    pub service: ChildProcess,
    pub inventory: InventoryBackend,
    pub api: String,
    pub target: String,
    pub http: reqwest::blocking::Client,
}

impl Lab {
    /// agent-lite with the monitors of `monitors_dir`, and the demo service and inventory
    /// traced to it.
    pub fn start(monitors_dir: &Path) -> Self {
        let (apm, statsd, api_port, svc_port) =
            (free_port(), free_port(), free_port(), free_port());
        let agent = ChildProcess::spawn(
            &workspace_bin("agent-lite").to_string_lossy(),
            &[],
            &[
                ("DD_BIND_HOST", "127.0.0.1".into()),
                ("DD_APM_RECEIVER_PORT", apm.to_string()),
                ("DD_DOGSTATSD_PORT", statsd.to_string()),
                ("AGENT_LITE_API_PORT", api_port.to_string()),
                ("AGENT_LITE_FLUSH_SECS", "1".into()),
                ("AGENT_LITE_MONITOR_INTERVAL_SECS", "1".into()),
                (
                    "AGENT_LITE_MONITORS_DIR",
                    monitors_dir.display().to_string(),
                ),
                ("DD_HOSTNAME", "lab".into()),
            ],
        );
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let api = format!("http://127.0.0.1:{api_port}");
        wait_for("agent-lite's API", Duration::from_secs(30), || {
            http.get(format!("{api}/api/v1/monitor"))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        let demo_service = workspace_bin("demo-service");
        let inventory = InventoryBackend::builder(&demo_service)
            .traced_to(format!("http://127.0.0.1:{apm}"))
            .dogstatsd_port(statsd)
            .pool_size(LAB_INVENTORY_POOL)
            .start();
        let service = ChildProcess::spawn(
            &demo_service.to_string_lossy(),
            &[],
            &[
                ("DEMO_LISTEN", format!("127.0.0.1:{svc_port}")),
                inventory.url_env(),
                ("DD_TRACE_AGENT_URL", format!("http://127.0.0.1:{apm}")),
                ("DD_AGENT_HOST", "127.0.0.1".into()),
                ("DD_DOGSTATSD_PORT", statsd.to_string()),
                ("DEMO_LOG_LEVEL", "warn".into()),
            ],
        );
        let target = format!("http://127.0.0.1:{svc_port}");
        wait_for("the demo service", Duration::from_secs(30), || {
            http.get(format!("{target}/healthz"))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Self {
            agent,
            service,
            inventory,
            api,
            target,
            http,
        }
    }

    pub fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.api))
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// Points `(seconds since the epoch, value)` of every series of `query` between `from`
    /// and `to` (seconds since the epoch).
    pub fn points(&self, query: &str, from: f64, to: f64) -> Vec<(f64, f64)> {
        query_points(&self.http, &self.api, query, from, to)
    }

    /// The sum of every point of `query` over the last hour.
    pub fn total(&self, query: &str) -> f64 {
        let now = now();
        self.points(query, now - 3600.0, now + 60.0)
            .iter()
            .map(|(_, v)| v)
            .sum()
    }
}

pub use lab_testkit::query_points;

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// loadgen run to its end: exit status, stdout, stderr.
pub fn loadgen(args: &[&str], deadline: Duration) -> (ExitStatus, String, String) {
    let mut p = ChildProcess::spawn(LOADGEN, args, &[]);
    let status = p.wait(deadline);
    (
        status,
        p.stdout_lines().join("\n"),
        p.stderr_lines().join("\n"),
    )
}

/// A monitor file in Datadog's JSON.
pub fn write_monitor(dir: &Path, id: u64, name: &str, query: &str, critical: f64) {
    let m = serde_json::json!({
        "id": id,
        "name": name,
        "type": "query alert",
        "query": query,
        "message": "{{#is_alert}}fired{{/is_alert}}",
        "options": {"thresholds": {"critical": critical}, "notify_no_data": false}
    });
    std::fs::write(dir.join(format!("{id}.json")), m.to_string()).expect("write a monitor");
}
