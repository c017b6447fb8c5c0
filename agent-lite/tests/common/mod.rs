//! agent-lite started as a process on free loopback ports, and ways to read it back.
#![allow(dead_code)]

pub mod browser;
pub mod docker;

use std::net::UdpSocket;
use std::time::Duration;

use lab_testkit::inventory::InventoryBackend;
use lab_testkit::process::ChildProcess;
use lab_testkit::{free_port, wait_for};
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_agent-lite");

pub struct Agent {
    pub proc: ChildProcess,
    pub apm_port: u16,
    pub statsd_port: u16,
    pub api_port: u16,
    pub http: reqwest::blocking::Client,
}

impl Agent {
    pub fn start(extra: &[(&str, String)]) -> Self {
        let (apm_port, statsd_port, api_port) = (free_port(), free_port(), free_port());
        let mut envs: Vec<(&str, String)> = vec![
            ("DD_BIND_HOST", "127.0.0.1".into()),
            ("DD_APM_RECEIVER_PORT", apm_port.to_string()),
            ("DD_DOGSTATSD_PORT", statsd_port.to_string()),
            ("AGENT_LITE_API_PORT", api_port.to_string()),
            ("AGENT_LITE_FLUSH_SECS", "1".into()),
            ("DD_HOSTNAME", "lab".into()),
        ];
        envs.extend(extra.iter().cloned());
        Self::attach(&[], &envs, apm_port, statsd_port, api_port)
    }

    /// Starts agent-lite with exactly these arguments and variables, on ports they name.
    pub fn attach(
        args: &[&str],
        envs: &[(&str, String)],
        apm_port: u16,
        statsd_port: u16,
        api_port: u16,
    ) -> Self {
        let proc = ChildProcess::spawn(BIN, args, envs);
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("http client");
        let agent = Self {
            proc,
            apm_port,
            statsd_port,
            api_port,
            http,
        };
        let info = agent.apm_url("/info");
        wait_for("agent-lite's /info", Duration::from_secs(20), || {
            agent
                .http
                .get(&info)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        agent
    }

    pub fn apm_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.apm_port)
    }

    pub fn api_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.api_port)
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .http
            .get(self.api_url(path))
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = res.status().as_u16();
        (status, res.json().unwrap_or(Value::Null))
    }

    /// The query API over the last 10 minutes.
    pub fn query(&self, query: &str) -> Value {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let res = self
            .http
            .get(self.api_url("/api/v1/query"))
            .query(&[
                ("from", (now - 600).to_string()),
                ("to", (now + 60).to_string()),
                ("query", query.to_owned()),
            ])
            .send()
            .unwrap_or_else(|e| panic!("query {query}: {e}"));
        assert_eq!(res.status(), 200, "query {query}");
        res.json().expect("query JSON")
    }

    /// Sum of every point of every series of a query, grouped by tag set.
    pub fn totals(&self, query: &str) -> Vec<(String, f64)> {
        let v = self.query(query);
        v["series"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let tags = s["tag_set"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",");
                let sum = s["pointlist"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p[1].as_f64())
                    .sum();
                (tags, sum)
            })
            .collect()
    }

    /// Waits until `query`'s total over all series equals `want`.
    pub fn wait_total(&self, query: &str, want: f64) {
        wait_for(
            &format!("{query} = {want}"),
            Duration::from_secs(30),
            || {
                let got: f64 = self.totals(query).iter().map(|(_, v)| v).sum();
                ((got - want).abs() < 1e-9).then_some(())
            },
        );
    }

    pub fn counter(&self, name: &str) -> u64 {
        let (_, status) = self.get("/status");
        status["counters"][name].as_u64().unwrap_or(0)
    }

    pub fn send_statsd(&self, datagram: &str) {
        let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
        sock.send_to(datagram.as_bytes(), ("127.0.0.1", self.statsd_port))
            .expect("send");
    }
}

/// The demo-service as a process, tracing to `agent`, up and answering, with the inventory
/// service (and its PostgreSQL) that its `/slow` and `/error` call, traced to the same agent.
pub struct DemoService {
    pub proc: lab_testkit::process::ChildProcess,
    pub inventory: InventoryBackend,
    pub base: String,
    pub http: reqwest::blocking::Client,
}

/// Enough connections for the requests these tests have in flight at once (they send one
/// at a time).
const INVENTORY_POOL: u64 = 4;

impl DemoService {
    /// Started with `extra` variables; `wrap_stdout_to` sends its stdout to a file (as a
    /// container's output reaches the Agent) instead of the test's pipe. inventory gets the
    /// same DD_ENV and DD_VERSION when `extra` sets them: one deployment.
    pub fn start(
        agent: &Agent,
        extra: &[(&str, String)],
        wrap_stdout_to: Option<&std::path::Path>,
    ) -> Self {
        let bin = lab_testkit::workspace_bin("demo-service");
        let mut inventory = InventoryBackend::builder(&bin)
            .traced_to(agent.apm_url(""))
            .dogstatsd_port(agent.statsd_port)
            .pool_size(INVENTORY_POOL);
        for (k, v) in extra {
            if matches!(*k, "DD_ENV" | "DD_VERSION") {
                inventory = inventory.env(k, v.clone());
            }
        }
        let inventory = inventory.start();
        let port = free_port();
        let mut envs: Vec<(&str, String)> = vec![
            ("DEMO_LISTEN", format!("127.0.0.1:{port}")),
            ("DD_TRACE_AGENT_URL", agent.apm_url("")),
            inventory.url_env(),
        ];
        envs.extend(extra.iter().cloned());
        let proc = match wrap_stdout_to {
            None => ChildProcess::spawn(&bin.to_string_lossy(), &[], &envs),
            Some(file) => ChildProcess::spawn(
                "sh",
                &[
                    "-c",
                    "exec \"$0\" >> \"$1\" 2>&1",
                    &bin.to_string_lossy(),
                    &file.to_string_lossy(),
                ],
                &envs,
            ),
        };
        let http = reqwest::blocking::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        wait_for("the demo-service", Duration::from_secs(30), || {
            http.get(format!("{base}/healthz"))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Self {
            proc,
            inventory,
            base,
            http,
        }
    }

    /// GETs `path`; the status code.
    pub fn get(&self, path: &str) -> u16 {
        let url = format!("{}{path}", self.base);
        self.http
            .get(&url)
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }

    /// SIGTERM to demo-service, then to inventory: both answer what is in flight, flush their
    /// spans and exit cleanly, so the agent has every span of every request once this returns.
    pub fn stop(&mut self) {
        let status = self.proc.terminate(Duration::from_secs(30));
        assert!(
            status.success(),
            "demo-service's exit on SIGTERM: {status:?}; stderr: {:?}",
            self.proc.stderr_lines()
        );
        self.inventory.stop();
    }
}
