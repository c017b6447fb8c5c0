//! demo-service's continuous profiler (`DD_PROFILING_ENABLED=true`) against a real agent-lite:
//! under `/burn` load, the busy loop is on the hottest path of demo-service's CPU profile, and
//! its samples carry the ids of the spans they ran under, the ones agent-lite keeps in its
//! traces (a trace's code hotspots). inventory (`demo-service inventory`) sends the same
//! profiles under its own service tags.
//!
//! The service runs as the lab's images ship it: a copy of the binary stripped of its line
//! tables (`strip --strip-debug`, compose/images/Dockerfile), where frames are named from the
//! symbol table alone, so an inlined busy loop would not show.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lab_testkit::postgres::PgCluster;
use lab_testkit::process::ChildProcess;
use lab_testkit::{free_addr, free_port, wait_for, workspace_bin};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_demo-service");

/// The busy loop of `/burn` (demo-service/src/http/routes.rs), as the profile names it.
const BUSY_LOOP: &str = "demo_service::http::routes::spin";

/// agent-lite on free loopback ports.
struct Agent {
    _proc: ChildProcess,
    apm_port: u16,
    api_port: u16,
    http: reqwest::blocking::Client,
}

impl Agent {
    fn start() -> Self {
        let (apm_port, statsd_port, api_port) = (free_port(), free_port(), free_port());
        let proc = ChildProcess::spawn(
            &workspace_bin("agent-lite").to_string_lossy(),
            &[],
            &[
                ("DD_BIND_HOST", "127.0.0.1".into()),
                ("DD_APM_RECEIVER_PORT", apm_port.to_string()),
                ("DD_DOGSTATSD_PORT", statsd_port.to_string()),
                ("AGENT_LITE_API_PORT", api_port.to_string()),
                ("DD_HOSTNAME", "lab".into()),
            ],
        );
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let info = format!("http://127.0.0.1:{apm_port}/info");
        wait_for("agent-lite's /info", Duration::from_secs(30), || {
            http.get(&info)
                .send()
                .ok()
                .filter(|r| r.status().is_success())
        });
        Self {
            _proc: proc,
            apm_port,
            api_port,
            http,
        }
    }

    fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("http://127.0.0.1:{}{path}", self.api_port))
            .send()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = res.status();
        let body: Value = res.json().unwrap_or(Value::Null);
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }
}

/// A copy of the service's binary stripped as the images strip theirs.
fn stripped_binary() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("demo-service-profiler-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let out = dir.join("demo-service");
    let status = std::process::Command::new("strip")
        .args(["--strip-debug", "-o"])
        .arg(&out)
        .arg(BIN)
        .status()
        .expect("running strip (binutils), as the image build does");
    assert!(status.success(), "strip --strip-debug {BIN}");
    let size = |p: &std::path::Path| std::fs::metadata(p).expect("a binary").len();
    assert!(
        size(&out) < size(BIN.as_ref()),
        "the test build has line tables to strip (profile quick-release or release)"
    );
    out
}

/// The tree of an aggregate answer: the answer itself when it is the root `{name, value,
/// children}`, or under `tree` in the older shape.
fn tree(aggregate: &Value) -> &Value {
    match aggregate.get("tree") {
        Some(t) if t.is_object() => t,
        _ => aggregate,
    }
}

/// The frames of the hottest path: from the root, the child of largest value each time.
fn hottest_path(node: &Value) -> Vec<String> {
    let mut path = vec![];
    let mut at = node;
    loop {
        let next = at["children"]
            .as_array()
            .into_iter()
            .flatten()
            .max_by_key(|c| c["value"].as_i64().unwrap_or(0));
        let Some(next) = next else { return path };
        path.push(next["name"].as_str().unwrap_or("?").to_owned());
        at = next;
    }
}

/// Every span object in a trace's answer (`spans` holds its chunks, each a list of spans).
fn spans(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| spans(i, out)),
        Value::Object(o) if o.contains_key("span_id") => out.push(v.clone()),
        _ => {}
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn the_busy_loop_of_burn_is_the_hottest_path_and_its_samples_carry_the_traces_span_ids() {
    let agent = Agent::start();
    let bin = stripped_binary();
    let addr = free_addr();
    let mut service = ChildProcess::spawn(
        &bin.to_string_lossy(),
        &[],
        &[
            ("DEMO_LISTEN", addr.to_string()),
            ("DEMO_WORKERS", "2".into()),
            ("DD_SERVICE", "demo-service".into()),
            ("DD_ENV", "test".into()),
            ("DD_VERSION", "9.9".into()),
            (
                "DD_TRACE_AGENT_URL",
                format!("http://127.0.0.1:{}", agent.apm_port),
            ),
            ("DD_PROFILING_ENABLED", "true".into()),
            ("DD_PROFILING_UPLOAD_PERIOD", "2".into()),
            ("DEMO_LOG_LEVEL", "warn".into()),
        ],
    );
    let base = format!("http://{addr}");
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    wait_for("demo-service's /healthz", Duration::from_secs(30), || {
        http.get(format!("{base}/healthz"))
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });

    // The CPU spike: two clients calling /burn back to back, one per worker.
    let load_from = unix_now();
    let stop = Arc::new(AtomicBool::new(false));
    let burned = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, burned, http) = (stop.clone(), burned.clone(), http.clone());
            let url = format!("{base}/burn?ms=50");
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if http.get(&url).send().is_ok_and(|r| r.status().is_success()) {
                        burned.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();

    // Three uploads made during the load (every 2 s), each with CPU samples.
    let started = Instant::now();
    let during = loop {
        std::thread::sleep(Duration::from_millis(500));
        let list = agent.get(&format!(
            "/api/v0/profiles?service=demo-service&env=test&from={load_from}"
        ));
        let with_cpu = list["profiles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| {
                p["types"]
                    .as_array()
                    .is_some_and(|t| t.contains(&"cpu".into()))
            })
            .count();
        if with_cpu >= 3 {
            break list;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "fewer than 3 CPU profiles after 120 s of /burn load: {list}; agent status {}",
            agent.get("/status")["counters"]
        );
    };
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("a load client");
    }
    assert!(burned.load(Ordering::Relaxed) > 0, "no /burn answered");
    let first = &during["profiles"][0];
    assert_eq!(first["service"], "demo-service", "{first}");
    assert_eq!(first["version"], "9.9", "{first}");
    assert_eq!(first["runtime"], "rust", "{first}");

    // demo-service's merged CPU profile: the busy loop on the hottest path.
    let aggregate = |extra: &str| {
        agent.get(&format!(
            "/api/v0/profiles/aggregate?service=demo-service&env=test&type=cpu&from={load_from}&max_depth=60{extra}"
        ))
    };
    let all = aggregate("");
    assert_eq!(all["unit"], "nanoseconds", "{all}");
    let hottest = hottest_path(tree(&all));
    assert!(
        hottest.iter().any(|f| f == BUSY_LOOP),
        "{BUSY_LOOP} on the hottest path of the CPU profile: {hottest:#?}"
    );

    // The spans agent-lite kept for /burn: the server span (the trace's root, the samples'
    // local root span) and the cpu.burn span under it (the busy loop's own span).
    let traces = agent.get("/api/v0/traces?service=demo-service&resource=GET%20/burn&limit=100");
    let mut roots = vec![];
    let mut burns = vec![];
    for t in traces["traces"].as_array().into_iter().flatten() {
        let id = t["trace_id"].as_str().expect("a trace id");
        let mut found = vec![];
        spans(
            &agent.get(&format!("/api/v0/traces/{id}"))["spans"],
            &mut found,
        );
        for s in found {
            let span_id = s["span_id"].as_u64().expect("a span id").to_string();
            if s["parent_id"].as_u64() == Some(0) {
                roots.push(span_id);
            } else if s["name"] == "cpu.burn" {
                burns.push(span_id);
            }
        }
    }
    assert!(
        !roots.is_empty() && !burns.is_empty(),
        "/burn traces in agent-lite: {traces}"
    );

    let samples = |v: &Value| v["samples"].as_u64().unwrap_or(0);
    let under_burn = aggregate(&format!("&span_id={}", burns.join(",")));
    assert!(
        samples(&under_burn) > 0,
        "samples labelled with the span id of a kept cpu.burn span: {under_burn}"
    );
    let hottest = hottest_path(tree(&under_burn));
    assert!(
        hottest.iter().any(|f| f == BUSY_LOOP),
        "the busy loop under the cpu.burn spans: {hottest:#?}"
    );
    let under_roots = aggregate(&format!("&local_root_span_id={}", roots.join(",")));
    assert!(
        samples(&under_roots) > 0,
        "samples labelled with the local root span id of a kept trace: {under_roots}"
    );
    // The labels select: ids of no span of this run select no sample.
    let none = aggregate("&span_id=1,2,3&local_root_span_id=1,2,3");
    assert_eq!(samples(&none), 0, "{none}");

    let status = service.terminate(Duration::from_secs(30));
    assert!(
        status.success(),
        "exit {status:?}: {:?}",
        service.stderr_lines()
    );
    let _ = std::fs::remove_dir_all(bin.parent().expect("its folder"));
}

#[test]
fn inventory_sends_its_cpu_profiles_under_its_own_service_tags() {
    let agent = Agent::start();
    let pg = PgCluster::start();
    pg.create_database("inventory");
    let addr = free_addr();
    let mut inventory = ChildProcess::spawn(
        BIN,
        &["inventory"],
        &[
            ("DEMO_LISTEN", addr.to_string()),
            ("DEMO_WORKERS", "2".into()),
            ("DATABASE_URL", pg.url("inventory")),
            ("DD_ENV", "test".into()),
            ("DD_VERSION", "9.9".into()),
            (
                "DD_TRACE_AGENT_URL",
                format!("http://127.0.0.1:{}", agent.apm_port),
            ),
            ("DD_PROFILING_ENABLED", "true".into()),
            ("DD_PROFILING_UPLOAD_PERIOD", "1".into()),
            ("DEMO_LOG_LEVEL", "warn".into()),
        ],
    );
    let items = format!("http://{addr}/items?ms=0");
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("http client");
    wait_for("inventory's stock", Duration::from_secs(30), || {
        http.get(&items)
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });

    // Stock reads until a profile with CPU samples has come.
    let started = Instant::now();
    let aggregate = loop {
        for _ in 0..50 {
            let _ = http.get(&items).send();
        }
        let merged =
            agent.get("/api/v0/profiles/aggregate?service=inventory&type=cpu&max_depth=60");
        if merged["samples"].as_u64().unwrap_or(0) > 0 {
            break merged;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no CPU samples of inventory after 120 s: {merged}; agent status {}",
            agent.get("/status")["counters"]
        );
    };
    assert!(
        !hottest_path(tree(&aggregate)).is_empty(),
        "frames in inventory's CPU profile: {aggregate}"
    );
    let list = agent.get("/api/v0/profiles?service=inventory");
    let first = &list["profiles"][0];
    assert_eq!(first["service"], "inventory", "{list}");
    assert_eq!(first["env"], "test", "{list}");
    assert_eq!(first["version"], "9.9", "{list}");
    assert_eq!(first["runtime"], "rust", "{list}");
    assert_eq!(
        agent.get("/api/v0/profiles?service=demo-service")["profiles"],
        serde_json::json!([]),
        "inventory's profiles are not demo-service's"
    );
    let status = inventory.terminate(Duration::from_secs(30));
    assert!(
        status.success(),
        "exit {status:?}: {:?}",
        inventory.stderr_lines()
    );
}
