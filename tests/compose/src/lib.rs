//! Helpers for the end-to-end test of the lab's compose stack (`tests/stack.rs`): commands
//! run with a deadline each (a stuck engine fails the test, it never hangs CI), the Compose
//! found on this machine, and agent-lite's API.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository's root (this crate is tests/compose).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// What a command did.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// The end of both streams, for a failure message.
    pub fn tail(&self) -> String {
        let tail = |s: &str| {
            let lines: Vec<&str> = s.lines().collect();
            lines[lines.len().saturating_sub(25)..].join("\n")
        };
        format!(
            "exit {:?}\n--- stdout (end)\n{}\n--- stderr (end)\n{}",
            self.code,
            tail(&self.stdout),
            tail(&self.stderr)
        )
    }
}

/// Runs `program args` in `dir` with `envs` added, killed after `timeout`. With `echo`, its
/// output goes to ours as it comes (long builds show progress) and is not kept.
pub fn run(
    program: &str,
    args: &[&str],
    envs: &[(String, String)],
    dir: &Path,
    timeout: Duration,
    echo: bool,
) -> Result<Output, String> {
    let mut cmd = Command::new(program);
    // compose/build-offline.sh runs cargo: without the test's own cargo variables, or it
    // rebuilds what the plain build made (lab_testkit::without_test_env says why).
    lab_testkit::without_test_env(&mut cmd);
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    if echo {
        cmd.stdout(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let shown = format!("{program} {}", args.join(" "));
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    // Pipes are drained on threads, so a chatty command never blocks on a full pipe.
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let mut buf = Vec::new();
                let _ = r.read_to_end(&mut buf);
                s = String::from_utf8_lossy(&buf).into_owned();
            }
            s
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{shown}` did not finish within {timeout:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for `{shown}`: {e}")),
        }
    };
    Ok(Output {
        success: status.success(),
        code: status.code(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// Runs a command that must succeed; the panic says what it printed.
pub fn must(
    program: &str,
    args: &[&str],
    envs: &[(String, String)],
    dir: &Path,
    timeout: Duration,
) -> Output {
    let out = run(program, args, envs, dir, timeout, false).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.success,
        "`{program} {}` failed:\n{}",
        args.join(" "),
        out.tail()
    );
    out
}

/// Docker must be here: the test fails, and says so, when it is not.
pub fn require_docker(root: &Path) {
    let found = run(
        "docker",
        &["version", "--format", "{{.Server.Version}}"],
        &[],
        root,
        Duration::from_secs(30),
        false,
    );
    match found {
        Err(e) => panic!(
            "this test needs Docker (the compose stack runs on it) and `docker` cannot be run: {e}. \
             Install Docker, or run the other tests alone with `cargo test --workspace` (this one is \
             #[ignore]d there and run by tests/run)."
        ),
        Ok(o) if !o.success => panic!(
            "this test needs a running Docker engine, and `docker version` could not reach one \
             (is the daemon running, may this user use /var/run/docker.sock?):\n{}",
            o.tail()
        ),
        Ok(o) => println!("docker engine {}", o.stdout.trim()),
    }
}

/// The Compose found here: `docker compose` (v2) when it answers, else `docker-compose`.
#[derive(Debug, Clone)]
pub struct ComposeTool {
    pub program: String,
    pub prefix: Vec<String>,
    pub version: String,
}

impl ComposeTool {
    pub fn detect(root: &Path) -> Self {
        let t = Duration::from_secs(30);
        if let Ok(o) = run(
            "docker",
            &["compose", "version", "--short"],
            &[],
            root,
            t,
            false,
        ) {
            if o.success {
                return Self {
                    program: "docker".into(),
                    prefix: vec!["compose".into()],
                    version: format!("docker compose {}", o.stdout.trim()),
                };
            }
        }
        match run("docker-compose", &["version", "--short"], &[], root, t, false) {
            Ok(o) if o.success => Self {
                program: "docker-compose".into(),
                prefix: vec![],
                version: format!("docker-compose {}", o.stdout.trim()),
            },
            other => panic!(
                "this test needs Compose: neither `docker compose` (v2) nor `docker-compose` runs here ({other:?})"
            ),
        }
    }

    /// The command line as a user types it, for COMPOSE in compose/build-offline.sh.
    pub fn command_line(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.prefix.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One compose project: its tool, name, files and the environment every call gets.
#[derive(Clone)]
pub struct Project {
    pub tool: ComposeTool,
    pub root: PathBuf,
    pub name: String,
    pub files: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Read instead of the repository's .env, so that a developer's own settings (an API
    /// key, other ports) do not leak into a test.
    pub env_file: Option<String>,
}

impl Project {
    fn args<'a>(&'a self, extra: &'a [&'a str]) -> Vec<&'a str> {
        let mut a: Vec<&str> = self.tool.prefix.iter().map(String::as_str).collect();
        if let Some(f) = &self.env_file {
            a.extend(["--env-file", f.as_str()]);
        }
        a.extend(["-p", self.name.as_str()]);
        for f in &self.files {
            a.extend(["-f", f.as_str()]);
        }
        a.extend_from_slice(extra);
        a
    }

    pub fn run(&self, extra: &[&str], timeout: Duration) -> Result<Output, String> {
        run(
            &self.tool.program,
            &self.args(extra),
            &self.env,
            &self.root,
            timeout,
            false,
        )
    }

    pub fn must(&self, extra: &[&str], timeout: Duration) -> Output {
        must(
            &self.tool.program,
            &self.args(extra),
            &self.env,
            &self.root,
            timeout,
        )
    }

    /// The id of `service`'s container.
    pub fn container_id(&self, service: &str) -> Option<String> {
        let out = self
            .run(&["ps", "-q", service], Duration::from_secs(60))
            .ok()?;
        out.stdout
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_owned)
    }
}

/// `docker inspect` of one object, as JSON.
pub fn inspect(root: &Path, id: &str) -> Value {
    let out = must(
        "docker",
        &["inspect", id],
        &[],
        root,
        Duration::from_secs(30),
    );
    let v: Value = serde_json::from_str(&out.stdout).expect("docker inspect prints JSON");
    v.get(0).cloned().unwrap_or(Value::Null)
}

/// A free port on 127.0.0.1 (TCP, or UDP), for the stack's published ports: the test must not
/// collide with a lab already running on 8080/5002/8126/8125.
pub fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free UDP port")
            .port()
    } else {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .expect("a free TCP port")
            .port()
    }
}

/// agent-lite's API on the published port.
pub struct AgentApi {
    pub base: String,
    client: reqwest::blocking::Client,
}

impl AgentApi {
    pub fn new(base: String) -> Self {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("an HTTP client");
        Self { base, client }
    }

    /// GET a JSON document; None when agent-lite does not answer (yet).
    pub fn get(&self, path_and_query: &str) -> Option<Value> {
        let url = format!("{}{}", self.base, path_and_query);
        let resp = self.client.get(&url).send().ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().ok()
    }

    /// The series of a Datadog metric query over the last `window`.
    pub fn query(&self, query: &str, window: Duration) -> Vec<Value> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let from = now.saturating_sub(window.as_secs());
        let q = encode(query);
        self.get(&format!("/api/v1/query?from={from}&to={now}&query={q}"))
            .and_then(|v| v.get("series").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    }
}

/// Percent-encoding for a query string value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `f` every `every` until it gives Some, or panics with `what` after `timeout`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}

/// Last value of each series (the point list's last non-null value).
pub fn last_value(series: &Value) -> Option<f64> {
    series
        .get("pointlist")?
        .as_array()?
        .iter()
        .rev()
        .find_map(|p| p.get(1).and_then(Value::as_f64))
}

/// Highest value of a series over its points.
pub fn max_value(series: &Value) -> Option<f64> {
    series
        .get("pointlist")?
        .as_array()?
        .iter()
        .filter_map(|p| p.get(1).and_then(Value::as_f64))
        .reduce(f64::max)
}

/// A tag's value in a series' scope (`container_name:x,env:y` -> x).
pub fn scope_tag(series: &Value, key: &str) -> Option<String> {
    let scope = series.get("scope")?.as_str()?;
    scope
        .split(',')
        .find_map(|t| t.strip_prefix(&format!("{key}:")))
        .map(str::to_owned)
}

/// Memory use of containers as `docker stats` shows it, in MiB, by name.
pub fn docker_stats_mib(root: &Path, ids: &[String]) -> Vec<(String, f64)> {
    let mut args = vec![
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}}\t{{.MemUsage}}",
    ];
    args.extend(ids.iter().map(String::as_str));
    let Ok(out) = run("docker", &args, &[], root, Duration::from_secs(60), false) else {
        return vec![];
    };
    out.stdout
        .lines()
        .filter_map(|l| {
            let (name, usage) = l.split_once('\t')?;
            let used = usage.split('/').next()?.trim();
            Some((name.to_owned(), parse_size_mib(used)?))
        })
        .collect()
}

/// `12.5MiB`, `1.2GiB`, `900KiB`, `10MB` into MiB.
pub fn parse_size_mib(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.trim().parse().ok()?;
    let factor = match unit {
        "B" => 1.0 / 1024.0 / 1024.0,
        "KiB" => 1.0 / 1024.0,
        "kB" | "KB" => 1000.0 / 1024.0 / 1024.0,
        "MiB" => 1.0,
        "MB" => 1_000_000.0 / 1024.0 / 1024.0,
        "GiB" => 1024.0,
        "GB" => 1_000_000_000.0 / 1024.0 / 1024.0,
        _ => return None,
    };
    Some(n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_of_docker_stats() {
        assert_eq!(parse_size_mib("12.5MiB"), Some(12.5));
        assert_eq!(parse_size_mib("1GiB"), Some(1024.0));
        assert_eq!(parse_size_mib("512KiB"), Some(0.5));
        assert_eq!(parse_size_mib("n/a"), None);
    }

    #[test]
    fn scope_tags() {
        let s = serde_json::json!({"scope": "container_name:lab_demo_1,env:dev"});
        assert_eq!(
            scope_tag(&s, "container_name").as_deref(),
            Some("lab_demo_1")
        );
        assert_eq!(scope_tag(&s, "env").as_deref(), Some("dev"));
        assert_eq!(scope_tag(&s, "host"), None);
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            encode("avg:x{a:b} by {c}"),
            "avg%3Ax%7Ba%3Ab%7D%20by%20%7Bc%7D"
        );
    }
}
