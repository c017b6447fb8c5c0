//! The lab's processes one by one, for the reliability tests: agent-lite on ports that stay
//! its own across a restart, the demo service (with inventory and its PostgreSQL behind it)
//! traced to it with the settings a test picks, loadgen run on a scenario text with its JSON
//! report read back.

use std::path::Path;
use std::time::Duration;

use blocking_http as reqwest;
use lab_testkit::inventory::InventoryBackend;
use lab_testkit::process::ChildProcess;
use lab_testkit::{free_port, wait_for, workspace_bin};
use serde_json::Value;

use super::{now, query_points, LOADGEN};

pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// agent-lite on its own loopback ports, which a restart keeps.
pub struct AgentLite {
    pub proc: ChildProcess,
    pub apm: u16,
    pub statsd: u16,
    pub api_port: u16,
    extra: Vec<(&'static str, String)>,
}

impl AgentLite {
    pub fn start(extra: &[(&'static str, String)]) -> Self {
        let (apm, statsd, api_port) = (free_port(), free_port(), free_port());
        let proc = Self::spawn(apm, statsd, api_port, extra);
        Self {
            proc,
            apm,
            statsd,
            api_port,
            extra: extra.to_vec(),
        }
    }

    fn spawn(apm: u16, statsd: u16, api: u16, extra: &[(&'static str, String)]) -> ChildProcess {
        let mut envs: Vec<(&str, String)> = vec![
            ("DD_BIND_HOST", "127.0.0.1".into()),
            ("DD_APM_RECEIVER_PORT", apm.to_string()),
            ("DD_DOGSTATSD_PORT", statsd.to_string()),
            ("AGENT_LITE_API_PORT", api.to_string()),
            ("AGENT_LITE_FLUSH_SECS", "1".into()),
            ("DD_HOSTNAME", "lab".into()),
            // Only what the tests send: no host, container or log collection beside it.
            ("AGENT_LITE_HOST_METRICS", "false".into()),
            ("AGENT_LITE_CONTAINER_METRICS", "false".into()),
            ("AGENT_LITE_CONTAINER_LOGS", "false".into()),
        ];
        envs.extend(extra.iter().cloned());
        let proc = ChildProcess::spawn(&workspace_bin("agent-lite").to_string_lossy(), &[], &envs);
        let http = client();
        let info = format!("http://127.0.0.1:{apm}/info");
        wait_for("agent-lite's /info", Duration::from_secs(30), || {
            http.get(&info)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        proc
    }

    /// Starts it again on the same ports (after `proc` was stopped).
    pub fn restart(&mut self) {
        self.proc = Self::spawn(self.apm, self.statsd, self.api_port, &self.extra);
    }

    pub fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }

    pub fn apm_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.apm)
    }

    pub fn status(&self) -> Value {
        client()
            .get(format!("{}/status", self.api()))
            .send()
            .and_then(|r| r.json())
            .unwrap_or(Value::Null)
    }

    pub fn counter(&self, name: &str) -> u64 {
        self.status()["counters"][name].as_u64().unwrap_or(0)
    }

    /// The sum of every point of `query` over the last hour.
    pub fn total(&self, query: &str) -> f64 {
        let now = now();
        query_points(&client(), &self.api(), query, now - 3600.0, now + 60.0)
            .iter()
            .map(|(_, v)| v)
            .sum()
    }
}

/// The demo service and the inventory service its `/slow` and `/error` call (on a throwaway
/// PostgreSQL), both traced to `agent`.
pub struct Demo {
    pub proc: ChildProcess,
    pub inventory: InventoryBackend,
    pub base: String,
}

impl Demo {
    /// `db_pool` is inventory's pool size: at least the `/slow` requests the test keeps in
    /// flight, or the excess waits for a connection and gets a 503. inventory gets the same
    /// DD_ENV and DD_VERSION when `extra` sets them: one deployment.
    pub fn start(agent: &AgentLite, db_pool: u64, extra: &[(&str, String)]) -> Self {
        let bin = workspace_bin("demo-service");
        let mut inventory = InventoryBackend::builder(&bin)
            .traced_to(agent.apm_url())
            .dogstatsd_port(agent.statsd)
            .pool_size(db_pool);
        for (k, v) in extra {
            if matches!(*k, "DD_ENV" | "DD_VERSION") {
                inventory = inventory.env(k, v.clone());
            }
        }
        let inventory = inventory.start();
        let port = free_port();
        let mut envs: Vec<(&str, String)> = vec![
            ("DEMO_LISTEN", format!("127.0.0.1:{port}")),
            inventory.url_env(),
            ("DD_TRACE_AGENT_URL", agent.apm_url()),
            ("DD_AGENT_HOST", "127.0.0.1".into()),
            ("DD_DOGSTATSD_PORT", agent.statsd.to_string()),
            ("DEMO_LOG_LEVEL", "warn".into()),
        ];
        envs.extend(extra.iter().cloned());
        let proc = ChildProcess::spawn(&bin.to_string_lossy(), &[], &envs);
        let base = format!("http://127.0.0.1:{port}");
        let http = client();
        wait_for("the demo service", Duration::from_secs(30), || {
            http.get(format!("{base}/healthz"))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Self {
            proc,
            inventory,
            base,
        }
    }

    /// SIGTERM to demo-service, then to inventory, and a clean exit of both: in-flight
    /// requests answered (inventory answers demo-service's last calls), spans flushed.
    pub fn stop(&mut self) {
        let status = self.proc.terminate(Duration::from_secs(60));
        assert!(
            status.success(),
            "demo-service exit {status:?}: {:?}",
            self.proc.stderr_lines()
        );
        self.inventory.stop();
    }
}

/// Writes `scenario` in `dir` and starts loadgen on it against `target`, its reports in
/// `dir/reports`.
pub fn spawn_loadgen(dir: &Path, scenario: &str, target: &str, extra: &[&str]) -> ChildProcess {
    let file = dir.join("scenario.toml");
    std::fs::write(&file, scenario).expect("write the scenario");
    let reports = dir.join("reports");
    let mut args = vec![
        "run".to_owned(),
        file.display().to_string(),
        "--target".into(),
        target.to_owned(),
        "--report-dir".into(),
        reports.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ChildProcess::spawn(LOADGEN, &args, &[])
}

/// loadgen's report.json in `dir/reports`.
pub fn report(dir: &Path) -> Value {
    let path = dir.join("reports/report.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("report.json is JSON")
}

/// Runs loadgen to its end on `scenario`; its report.
pub fn run_loadgen(dir: &Path, scenario: &str, target: &str) -> Value {
    let mut p = spawn_loadgen(dir, scenario, target, &["--quiet"]);
    let status = p.wait(Duration::from_secs(300));
    assert!(
        status.success(),
        "loadgen exit {status:?}\nstdout: {}\nstderr: {}",
        p.stdout_lines().join("\n"),
        p.stderr_lines().join("\n")
    );
    report(dir)
}

/// Requests of `phase` (every phase when None) that got an HTTP answer, by status code.
pub fn answered(report: &Value, phase: Option<&str>, status: Option<u16>) -> u64 {
    report["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| phase.is_none_or(|n| p["name"] == n))
        .flat_map(|p| p["endpoints"].as_object().cloned().unwrap_or_default())
        .flat_map(|(_, e)| e["statuses"].as_object().cloned().unwrap_or_default())
        .filter(|(code, _)| status.is_none_or(|s| code == &s.to_string()))
        .filter_map(|(_, n)| n.as_u64())
        .sum()
}

/// A phase of the report, by name.
pub fn phase<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["phases"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("phase {name} in the report: {report}"))
}
