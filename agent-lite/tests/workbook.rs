//! The bootcamp workbook (docs/bootcamp/) kept true: a lab on loopback (agent-lite,
//! demo-service with its logs followed, inventory on a throwaway PostgreSQL, a container on the
//! real Docker Engine for the crash), then, exercise by exercise and in the workbook's order,
//! `agent-lite lab-check N` must fail saying what is missing, the solution of
//! docs/bootcamp/solutions/NN is applied as a student would apply it (its JSON through the
//! API, its scenario through loadgen, its commands), and the check must pass.
//!
//! The lab runs with short intervals (collections, flushes and evaluations every second) and
//! the solutions' scenarios are stopped as soon as the check passes: the whole story takes a
//! few minutes, not the half hour a student spends.

#[allow(dead_code)]
#[path = "common/docker.rs"]
mod docker;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lab_testkit::inventory::InventoryBackend;
use lab_testkit::process::ChildProcess;
use lab_testkit::{free_addr, free_port, wait_for, workspace_bin};
use serde_json::Value;

const AGENT_LITE: &str = env!("CARGO_BIN_EXE_agent-lite");
const SOLUTIONS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/bootcamp/solutions");

/// `agent-lite lab-check`, as the student runs it.
fn lab_check_command() -> Command {
    let mut cmd = Command::new(AGENT_LITE);
    cmd.arg("lab-check");
    cmd
}

/// A binary of another crate of the workspace, built once for the whole run (each
/// `workspace_bin` is a `cargo build`, which waits for any other build on the machine).
fn bin(name: &'static str) -> PathBuf {
    static BINS: std::sync::Mutex<Vec<(&str, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let mut bins = BINS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = bins.iter().find(|(n, _)| *n == name) {
        return path.clone();
    }
    let path = workspace_bin(name);
    bins.push((name, path.clone()));
    path
}

fn solution(path: &str) -> PathBuf {
    Path::new(SOLUTIONS).join(path)
}

fn solution_json(path: &str) -> Value {
    let file = solution(path);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()))
}

/// demo-service as the compose lab runs it, its JSON lines written to the file agent-lite
/// follows (as the Agent follows a container's output).
struct DemoService {
    child: Child,
}

impl DemoService {
    fn start(lab: &LabPorts, inventory: &InventoryBackend, extra: &[(&str, &str)]) -> Self {
        let log = File::options()
            .create(true)
            .append(true)
            .open(&lab.demo_log)
            .expect("demo-service's log file");
        let mut cmd = Command::new(bin("demo-service"));
        for (k, _) in std::env::vars() {
            if k.starts_with("DD_") || k.starts_with("DEMO_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs([
            ("DEMO_LISTEN", lab.demo.to_string()),
            ("DEMO_WORKERS", "2".into()),
            ("INVENTORY_URL", inventory.url()),
            ("DD_SERVICE", "demo-service".into()),
            ("DD_ENV", "dev".into()),
            ("DD_VERSION", "1.0".into()),
            (
                "DD_TRACE_AGENT_URL",
                format!("http://127.0.0.1:{}", lab.apm),
            ),
            ("DD_AGENT_HOST", "127.0.0.1".into()),
            ("DD_DOGSTATSD_PORT", lab.statsd.to_string()),
            ("DD_RUNTIME_METRICS_ENABLED", "true".into()),
            ("DEMO_RUNTIME_METRICS_INTERVAL_SECS", "1".into()),
        ])
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::inherit());
        let child = cmd.spawn().expect("starting demo-service");
        let http = client();
        let probe = format!("http://{}/healthz", lab.demo);
        wait_for("demo-service's /healthz", Duration::from_secs(30), || {
            http.get(&probe)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Self { child }
    }

    /// SIGTERM, as `docker compose up -d` does to a container it recreates.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(30);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("demo-service did not stop on SIGTERM within 30 s");
    }
}

impl Drop for DemoService {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct LabPorts {
    apm: u16,
    statsd: u16,
    demo: std::net::SocketAddr,
    demo_log: PathBuf,
}

struct Lab {
    ports: LabPorts,
    api: String,
    target: String,
    http: reqwest::blocking::Client,
    // Dropped in this order: demo-service before inventory, agent-lite last.
    demo: Option<DemoService>,
    inventory: InventoryBackend,
    _agent: ChildProcess,
    dir: tempfile::TempDir,
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client")
}

impl Lab {
    fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("workbook-")
            .tempdir()
            .expect("a temporary folder");
        let ports = LabPorts {
            apm: free_port(),
            statsd: free_port(),
            demo: free_addr(),
            demo_log: dir.path().join("demo-service.log"),
        };
        // The file exists before agent-lite follows it from its end.
        File::create(&ports.demo_log).expect("demo-service's log file");
        let api_port = free_port();
        let agent = ChildProcess::spawn(
            AGENT_LITE,
            &[],
            &[
                ("DD_BIND_HOST", "127.0.0.1".into()),
                ("DD_HOSTNAME", "lab".into()),
                ("DD_APM_RECEIVER_PORT", ports.apm.to_string()),
                ("DD_DOGSTATSD_PORT", ports.statsd.to_string()),
                ("AGENT_LITE_API_PORT", api_port.to_string()),
                ("AGENT_LITE_FLUSH_SECS", "1".into()),
                ("AGENT_LITE_CHECK_INTERVAL_SECS", "1".into()),
                ("AGENT_LITE_MONITOR_INTERVAL_SECS", "1".into()),
                (
                    "AGENT_LITE_LOGS_FILES",
                    format!("demo-service={}", ports.demo_log.display()),
                ),
                ("AGENT_LITE_LOG", "warn".into()),
            ],
        );
        let api = format!("http://127.0.0.1:{api_port}");
        let http = client();
        wait_for("agent-lite's API", Duration::from_secs(30), || {
            http.get(format!("{api}/status"))
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        let inventory = InventoryBackend::builder(bin("demo-service"))
            .traced_to(format!("http://127.0.0.1:{}", ports.apm))
            .dogstatsd_port(ports.statsd)
            .env("DD_ENV", "dev")
            .env("DD_VERSION", "1.0")
            .start();
        let demo = DemoService::start(&ports, &inventory, &[]);
        let target = format!("http://{}", ports.demo);
        Self {
            ports,
            api,
            target,
            http,
            demo: Some(demo),
            inventory,
            _agent: agent,
            dir,
        }
    }

    /// `agent-lite lab-check N ...` against this lab: exit code, stdout and stderr.
    fn lab_check(&self, exercise: u8, extra: &[&str]) -> (i32, String) {
        let out = lab_check_command()
            .args([&exercise.to_string(), "--url", &self.api])
            .args(extra)
            .env_remove("AGENT_LITE_URL")
            .env_remove("LAB_CHECK_LANG")
            .output()
            .expect("running agent-lite lab-check");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), text)
    }

    /// The check fails (exit 1) and its report says `says`.
    fn check_misses(&self, exercise: u8, extra: &[&str], says: &str) {
        let (code, text) = self.lab_check(exercise, extra);
        assert_eq!(code, 1, "lab-check {exercise} {extra:?} must fail:\n{text}");
        assert!(
            text.contains(says),
            "lab-check {exercise} {extra:?} must say {says:?}:\n{text}"
        );
    }

    /// The check comes to fail saying `says` within `deadline` (what was just done takes a
    /// flush to reach the lab).
    fn check_comes_to_miss(&self, exercise: u8, extra: &[&str], says: &str, deadline: Duration) {
        let end = Instant::now() + deadline;
        loop {
            let (code, text) = self.lab_check(exercise, extra);
            if code == 1 && text.contains(says) {
                return;
            }
            assert!(
                Instant::now() < end,
                "lab-check {exercise} {extra:?} does not say {says:?} after {deadline:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The check passes (exit 0) within `deadline` (the lab takes a few seconds to show what
    /// was just done: a flush, an evaluation, a collection).
    fn check_passes(&self, exercise: u8, extra: &[&str], deadline: Duration) -> String {
        let end = Instant::now() + deadline;
        loop {
            let (code, text) = self.lab_check(exercise, extra);
            if code == 0 {
                assert!(text.contains("PASS"), "{text}");
                return text;
            }
            assert_eq!(code, 1, "lab-check {exercise} could not check:\n{text}");
            assert!(
                Instant::now() < end,
                "lab-check {exercise} {extra:?} still fails after {deadline:?}:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn post(&self, path: &str, body: &Value) -> Value {
        let answer = self
            .http
            .post(format!("{}{path}", self.api))
            .json(body)
            .send()
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = answer.status();
        let body: Value = answer
            .json()
            .unwrap_or_else(|e| panic!("POST {path}: not JSON: {e}"));
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    fn put(&self, path: &str, body: &Value) {
        let answer = self
            .http
            .put(format!("{}{path}", self.api))
            .json(body)
            .send()
            .unwrap_or_else(|e| panic!("PUT {path}: {e}"));
        assert!(
            answer.status().is_success(),
            "PUT {path}: {}",
            answer.status()
        );
    }

    fn delete(&self, path: &str) {
        let answer = self
            .http
            .delete(format!("{}{path}", self.api))
            .send()
            .unwrap_or_else(|e| panic!("DELETE {path}: {e}"));
        assert!(
            answer.status().is_success(),
            "DELETE {path}: {}",
            answer.status()
        );
    }

    fn get_api(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.api))
            .send()
            .and_then(|r| r.json())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// The highest value of `query` over the last ten minutes; `settled`: in 10-second points
    /// that can no longer change (a gauge's point is the last value of its 10 s, so the point
    /// of the running 10 s may still be written over).
    fn highest(&self, query: &str, settled: bool) -> Option<f64> {
        let now = now_secs();
        lab_testkit::query_points(&self.http, &self.api, query, (now - 600) as f64, now as f64)
            .into_iter()
            .filter(|(at, _)| !settled || at + 20.0 < now as f64)
            .map(|(_, value)| value)
            .reduce(f64::max)
    }

    /// A request to demo-service, as `curl` in the solutions' commands; its status.
    fn call(&self, path: &str) -> u16 {
        self.http
            .get(format!("{}{path}", self.target))
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or_else(|e| panic!("GET {path} on demo-service: {e}"))
    }

    /// loadgen playing a solution's scenario against this lab, until stopped.
    fn play(&self, scenario: &str) -> ChildProcess {
        let file = solution(scenario);
        ChildProcess::spawn(
            &bin("loadgen").to_string_lossy(),
            &[
                "run",
                &file.to_string_lossy(),
                "--target",
                &self.target,
                "--agent",
                &self.api,
                "--quiet",
            ],
            &[],
        )
    }
}

/// Stops a scenario that has done its part (SIGTERM: loadgen ends its run cleanly).
fn stop(mut loadgen: ChildProcess) {
    loadgen.terminate(Duration::from_secs(60));
}

/// Prints how long an exercise took, for the report of the whole run.
fn timed(exercise: u8, started: Instant) {
    eprintln!(
        "workbook: exercise {exercise} checked in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// `lab-check` run to its end, however long it takes, but never past `deadline`: a check that
/// hangs is a failure of its own, not a test run that never ends.
fn lab_check_within(args: &[&str], deadline: Duration) -> (Option<i32>, String, String) {
    let mut child = lab_check_command()
        .args(args)
        .env_remove("AGENT_LITE_URL")
        .env_remove("LAB_CHECK_LANG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running agent-lite lab-check");
    let end = Instant::now() + deadline;
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            let out = child.wait_with_output().expect("lab-check's output");
            return (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("lab-check {args:?} still runs after {deadline:?}: it hangs");
}

/// Bad input: no lab at the URL, a peer that takes the connection and never answers, a peer
/// that is not agent-lite, a URL that is no URL. Each ends with exit 2 and a sentence on
/// stderr that says the lab could not be asked (never a panic, never a verdict).
#[test]
fn lab_check_exits_2_when_it_cannot_ask_the_lab() {
    // Nobody listens.
    let nobody = format!("http://127.0.0.1:{}", free_port());
    for (lang, says) in [
        ("en", "cannot reach the lab: agent-lite does not answer at"),
        ("fr", "le lab ne répond pas"),
    ] {
        let (code, out, err) = lab_check_within(
            &["1", "--url", &nobody, "--lang", lang],
            Duration::from_secs(60),
        );
        assert_eq!(code, Some(2), "{out}{err}");
        assert!(err.contains(says), "--lang {lang}: {err}");
        assert!(err.contains("docker compose up"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.is_empty(), "no verdict when nothing was judged: {out}");
    }

    // A peer that accepts and then says nothing: the check gives up (its client's timeout).
    let silent = std::net::TcpListener::bind(lab_testkit::ANY_LOOPBACK_PORT).expect("a listener");
    let silent_url = format!("http://{}", silent.local_addr().expect("its address"));
    let held = std::thread::spawn(move || {
        // Holds the connections open until the test ends (the thread is not joined).
        let mut open = Vec::new();
        for stream in silent.incoming().flatten() {
            open.push(stream);
        }
    });
    let (code, out, err) = lab_check_within(&["3", "--url", &silent_url], Duration::from_secs(90));
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("cannot reach the lab"), "{err}");
    drop(held);

    // Something else than agent-lite: an HTTP server that answers every request with a page.
    let other = std::net::TcpListener::bind(lab_testkit::ANY_LOOPBACK_PORT).expect("a listener");
    let other_url = format!("http://{}", other.local_addr().expect("its address"));
    std::thread::spawn(move || {
        use std::io::{Read as _, Write as _};
        for mut stream in other.incoming().flatten() {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let page = "<html>not agent-lite</html>";
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
        }
    });
    let (code, out, err) = lab_check_within(&["2", "--url", &other_url], Duration::from_secs(60));
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("lab-check: cannot check:"), "{err}");
    assert!(err.contains("not the JSON expected"), "{err}");

    // No URL at all.
    let (code, out, err) = lab_check_within(&["1", "--url", "not a url"], Duration::from_secs(60));
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(err.contains("\"not a url\" is not a URL"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn every_exercise_fails_before_its_solution_and_passes_after() {
    let built = Instant::now();
    bin("demo-service");
    bin("loadgen");
    docker::image();
    eprintln!(
        "workbook: binaries and test image ready in {:.1} s",
        built.elapsed().as_secs_f64()
    );
    let whole = Instant::now();
    let mut lab = Lab::start();
    eprintln!("workbook: lab up in {:.1} s", whole.elapsed().as_secs_f64());

    exercise_1(&lab);
    exercise_2(&lab);
    exercise_3(&lab);
    exercise_4(&lab);
    exercise_5(&lab);
    exercise_6(&lab);
    exercise_7(&lab);
    exercise_8(&mut lab);
    exercise_9(&mut lab);
    exercise_10(&lab);
    exercise_11(&lab);
    eprintln!(
        "workbook: 11 exercises in {:.1} s",
        whole.elapsed().as_secs_f64()
    );
}

/// 1: the lab is up but nothing was asked of demo-service yet; `curl` it, as the solution does.
fn exercise_1(lab: &Lab) {
    let t = Instant::now();
    lab.check_misses(1, &[], "no trace of demo-service yet");
    for _ in 0..3 {
        assert_eq!(lab.call("/"), 200);
    }
    let report = lab.check_passes(1, &[], Duration::from_secs(30));
    assert!(report.contains("env dev, version 1.0"), "{report}");
    timed(1, t);
}

/// 2: the host dashboard. A copy without the disk marker is refused for that marker alone.
fn exercise_2(lab: &Lab) {
    let t = Instant::now();
    lab.check_misses(2, &[], "no dashboard titled \"Bootcamp: host\"");
    let mut dashboard = solution_json("02/dashboard.json");
    let mut without_marker = dashboard.clone();
    let disk = without_marker["widgets"]
        .as_array_mut()
        .and_then(|w| w.last_mut())
        .expect("the disk widget");
    disk["definition"]
        .as_object_mut()
        .expect("a definition")
        .remove("markers");
    let draft = lab.post("/api/v1/dashboard", &without_marker);
    lab.check_misses(2, &[], "has no marker at y = 95");
    lab.delete(&format!(
        "/api/v1/dashboard/{}",
        draft["id"].as_str().expect("an id")
    ));
    dashboard["description"] = "the solution, as posted".into();
    lab.post("/api/v1/dashboard", &dashboard);
    lab.check_passes(2, &[], Duration::from_secs(30));
    timed(2, t);
}

/// 3: the seed's monitor (first without require_full_window: the check names it), then the
/// spike of the solution's scenario.
fn exercise_3(lab: &Lab) {
    let t = Instant::now();
    lab.check_misses(
        3,
        &[],
        "no monitor whose name starts with \"Bootcamp: high CPU\"",
    );
    let monitor = solution_json("03/monitor.json");
    let mut draft = monitor.clone();
    draft["options"]
        .as_object_mut()
        .expect("options")
        .remove("require_full_window");
    let created = lab.post("/api/v1/monitor", &draft);
    let id = created["id"].as_u64().expect("a monitor id");
    lab.check_misses(3, &[], "your monitor has no require_full_window");
    lab.put(&format!("/api/v1/monitor/{id}"), &monitor);
    let spike = lab.play("03/cpu-spike.toml");
    let report = lab.check_passes(3, &[], Duration::from_secs(120));
    // The demo service's own CPU during the spike is exercise 7's: the spike lasts until it is
    // in the lab for good.
    wait_for(
        "demo-service's CPU to show the spike",
        Duration::from_secs(90),
        || {
            lab.highest("max:runtime.rust.cpu.percent{service:demo-service}", true)
                .filter(|v| *v > 50.0)
        },
    );
    stop(spike);
    assert!(report.contains("a CPU spike"), "{report}");
    timed(3, t);
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// 4: the containers dashboard, and a crash of a container labelled as the lab's
/// demo-service (a small static program: no registry here), killed from outside as the
/// exercise's `kill -9` line does, brought back by its restart policy.
fn exercise_4(lab: &Lab) {
    let t = Instant::now();
    lab.check_misses(4, &[], "no dashboard titled \"Bootcamp: containers\"");
    lab.post("/api/v1/dashboard", &solution_json("04/dashboard.json"));
    let name = docker::unique_name("workbook-demo");
    let _container = docker::Container::run(
        &name,
        &[
            "--restart",
            "unless-stopped",
            "--cpus",
            "0.5",
            "--memory",
            "64m",
            "--env",
            "BURN_PCT=10",
            "--label",
            "com.datadoghq.tags.service=demo-service",
            "--label",
            "com.docker.compose.service=demo-service",
        ],
    );
    let scope = format!("container_name:{name}");
    wait_for("the container's metrics", Duration::from_secs(60), || {
        lab.highest(&format!("avg:container.cpu.limit{{{scope}}}"), false)
    });
    lab.check_misses(4, &[], "no crash of demo-service");
    let pid = docker::docker_ok(&["inspect", "--format", "{{.State.Pid}}", &name]);
    let killed = Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill");
    assert!(killed.success(), "kill -KILL {pid} (CI runs as root)");
    let report = lab.check_passes(4, &[], Duration::from_secs(60));
    assert!(report.contains(&name), "{report}");
    timed(4, t);
}

/// 5: the APM dashboard, a slow request and an error, as the solution's commands send them.
fn exercise_5(lab: &Lab) {
    let t = Instant::now();
    lab.check_misses(5, &[], "no dashboard titled \"Bootcamp: APM\"");
    lab.post("/api/v1/dashboard", &solution_json("05/dashboard.json"));
    assert_eq!(lab.call("/slow?ms=1500"), 200);
    assert_eq!(lab.call("/error"), 500);
    lab.check_passes(5, &[], Duration::from_secs(30));
    timed(5, t);
}

/// 6: the trace of an error log line. Without an id, and with the id of a trace that is no
/// error, the check says what is wrong; with the id the solution finds, it passes.
fn exercise_6(lab: &Lab) {
    let t = Instant::now();
    lab.check_misses(6, &[], "tell the check which trace you followed");
    let fine = lab.get_api("/api/v0/traces?service=demo-service&resource=GET%20/&limit=1");
    let fine_id = fine["traces"][0]["trace_id"]
        .as_str()
        .expect("a trace of GET /")
        .to_owned();
    lab.check_misses(6, &["--trace-id", &fine_id], "has no error on demo-service");
    // The solution's commands: the newest error line of demo-service, and its dd.trace_id.
    let line = wait_for("an error log line", Duration::from_secs(30), || {
        let v = lab.get_api("/api/v0/logs?service=demo-service&status=error&limit=1");
        v["logs"][0]["trace_id"].as_str().map(str::to_owned)
    });
    lab.check_passes(6, &["--trace-id", &line], Duration::from_secs(30));
    timed(6, t);
}

/// 7: the runtime dashboard; the spike of exercise 3 is already in the lab.
fn exercise_7(lab: &Lab) {
    let t = Instant::now();
    lab.check_misses(7, &[], "no dashboard titled \"Bootcamp: runtime\"");
    lab.post("/api/v1/dashboard", &solution_json("07/dashboard.json"));
    lab.check_passes(7, &[], Duration::from_secs(30));
    timed(7, t);
}

/// 8: PostgreSQL stopped (the solution's `docker compose stop postgres`), /slow failing on
/// it, PostgreSQL back and /slow answering again.
fn exercise_8(lab: &mut Lab) {
    let t = Instant::now();
    lab.check_misses(
        8,
        &[],
        "no request of demo-service failed on its dependency",
    );
    lab.inventory.pg_mut().stop();
    let failed = lab.call("/slow?ms=100");
    assert!(
        failed == 503 || failed == 504,
        "/slow with PostgreSQL down answered {failed}"
    );
    lab.check_comes_to_miss(
        8,
        &[],
        "no GET /slow answered 200 since the outage",
        Duration::from_secs(30),
    );
    lab.inventory.pg_mut().restart();
    wait_for("/slow to answer again", Duration::from_secs(60), || {
        (lab.call("/slow?ms=100") == 200).then_some(())
    });
    lab.check_passes(8, &[], Duration::from_secs(30));
    timed(8, t);
}

/// 9: demo-service restarted with its profiler on (the solution's compose.override.yaml, with
/// an upload every 2 s instead of 15), the spike played again, the hot function named.
fn exercise_9(lab: &mut Lab) {
    let t = Instant::now();
    lab.check_misses(9, &["--function", "spin"], "no profile from demo-service");
    let override_file =
        std::fs::read_to_string(solution("09/compose.override.yaml")).expect("the override");
    assert!(
        override_file.contains("DD_PROFILING_ENABLED: \"true\""),
        "{override_file}"
    );
    if let Some(demo) = lab.demo.take() {
        demo.stop();
    }
    lab.demo = Some(DemoService::start(
        &lab.ports,
        &lab.inventory,
        &[
            ("DD_PROFILING_ENABLED", "true"),
            ("DD_PROFILING_UPLOAD_PERIOD", "2"),
        ],
    ));
    let spike = lab.play("03/cpu-spike.toml");
    lab.check_passes(9, &["--function", "spin"], Duration::from_secs(120));
    stop(spike);
    lab.check_misses(
        9,
        &["--function", "no_such_function"],
        "no function no_such_function in demo-service's CPU profiles",
    );
    timed(9, t);
}

/// 10: the SLO, its burn-rate alert with the SLO's id, the error burst.
fn exercise_10(lab: &Lab) {
    let t = Instant::now();
    lab.check_misses(
        10,
        &[],
        "no SLO named \"Bootcamp: demo-service availability\"",
    );
    let slo = lab.post("/api/v1/slo", &solution_json("10/slo.json"));
    let slo_id = slo["data"][0]["id"]
        .as_str()
        .expect("the SLO's id")
        .to_owned();
    lab.check_misses(10, &[], "no burn-rate alert on your SLO");
    let alert = std::fs::read_to_string(solution("10/burn-rate-alert.json"))
        .expect("the alert")
        .replace("<SLO_ID>", &slo_id);
    let alert: Value = serde_json::from_str(&alert).expect("the alert is JSON");
    lab.post("/api/v1/monitor", &alert);
    let burst = lab.play("10/error-burst.toml");
    lab.check_passes(10, &[], Duration::from_secs(120));
    stop(burst);
    timed(10, t);
}

/// 11: the solution's CI job, run as a CI runner runs it: the definition checked, the
/// monitor created, the scenario played with `--check` and `--junit`; exit 0 and a report.
fn exercise_11(lab: &Lab) {
    let t = Instant::now();
    lab.check_misses(
        11,
        &[],
        "no monitor whose name starts with \"Bootcamp: error rate (test)\"",
    );
    let junit = lab.dir.path().join("junit.xml");
    let out = Command::new("sh")
        .arg(solution("11/ci.sh"))
        .env("LAB_AGENT", &lab.api)
        .env("LAB_SERVICE", &lab.target)
        .env("AGENT_LITE", AGENT_LITE)
        .env("LOADGEN", bin("loadgen"))
        .env("JUNIT", &junit)
        .output()
        .expect("running solutions/11/ci.sh");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "ci.sh failed:\n{said}");
    let report = std::fs::read_to_string(&junit).expect("ci.sh wrote its JUnit report");
    assert!(
        report.contains("<testcase") && !report.contains("<failure"),
        "{report}"
    );
    lab.check_passes(11, &[], Duration::from_secs(30));
    timed(11, t);
}
