//! What the lab must never expose or let a client do: the Datadog API key never shows in a log
//! line, `/status`, `agent-lite status`, the page or any API answer; request bodies and heads
//! are bounded on the trace intake (8126) and the API (5002): an oversized body is a 413, a
//! huge head a 431 (or a closed connection), and neither ever hangs.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Agent, DemoService, BIN};
use lab_testkit::wait_for;
use serde_json::Value;

/// Recognisable, and shaped like the real ones (32 and 40 hex digits).
const API_KEY: &str = "5ec2e75ec2e75ec2e75ec2e75ec2e7ab";
const APP_KEY: &str = "a99a99a99a99a99a99a99a99a99a99a99a99a9cd";

/// Every place the secrets must not be: `what` names it in the failure.
fn assert_no_secret(what: &str, text: &str) {
    for (name, key) in [("DD_API_KEY", API_KEY), ("DD_APP_KEY", APP_KEY)] {
        // The whole key, and its first half (a key cut or masked at the end still leaks).
        for needle in [key, &key[..16]] {
            assert!(
                !text.contains(needle),
                "{what} shows {name} ({needle}):\n{}",
                text.chars().take(4000).collect::<String>()
            );
        }
    }
}

fn text_of(agent: &Agent, url: &str) -> String {
    let res = agent
        .http
        .get(url)
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    res.text().unwrap_or_default()
}

#[test]
fn the_api_key_never_shows_in_logs_status_the_page_or_the_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("demo-service.log");
    std::fs::write(&log, "").expect("log file");
    let secrets = [
        ("DD_API_KEY", API_KEY.to_owned()),
        ("DD_APP_KEY", APP_KEY.to_owned()),
        ("DD_SITE", "datadoghq.eu".to_owned()),
    ];
    let mut agent_env = secrets.to_vec();
    agent_env.extend([
        // As talkative as it gets.
        ("AGENT_LITE_LOG", "debug".to_owned()),
        (
            "AGENT_LITE_LOGS_FILES",
            format!("demo-service={}", log.display()),
        ),
    ]);
    let mut agent = Agent::start(&agent_env);
    let mut demo_env = secrets.to_vec();
    demo_env.extend([
        ("DEMO_LOG_LEVEL", "debug".to_owned()),
        ("DD_AGENT_HOST", "127.0.0.1".to_owned()),
        ("DD_DOGSTATSD_PORT", agent.statsd_port.to_string()),
        ("DD_RUNTIME_METRICS_ENABLED", "true".to_owned()),
        ("DEMO_RUNTIME_METRICS_INTERVAL_SECS", "1".to_owned()),
    ]);
    let mut svc = DemoService::start(&agent, &demo_env, Some(&log));

    // Traffic on every endpoint; the key also comes in as a header, as import-monitors.sh
    // sends it to agent-lite's copy of Datadog's API and as a careless client might.
    // Each endpoint as it answers with inventory behind it (an /error refused by the
    // database, a /slow served), not the 503 of an unreachable inventory.
    let mut answers = String::new();
    for (path, want) in [
        ("/", 200),
        ("/error", 500),
        ("/slow?ms=20", 200),
        ("/burn?ms=5", 200),
        ("/nothing", 404),
        ("/healthz", 200),
    ] {
        let res = svc
            .http
            .get(format!("{}{path}", svc.base))
            .header("DD-API-KEY", API_KEY)
            .header("DD-APPLICATION-KEY", APP_KEY)
            .send()
            .expect("the demo-service answers");
        assert_eq!(res.status().as_u16(), want, "{path}");
        answers.push_str(&format!("{:?}\n", res.headers()));
        answers.push_str(&res.text().unwrap_or_default());
    }
    assert_no_secret("the demo-service's answers", &answers);
    let created = agent
        .http
        .post(agent.api_url("/api/v1/monitor"))
        .header("DD-API-KEY", API_KEY)
        .header("DD-APPLICATION-KEY", APP_KEY)
        .json(&serde_json::json!({
            "name": "secret check", "type": "query alert",
            "query": "avg(last_1m):avg:runtime.rust.mem.rss{service:demo-service} > 1000000000000",
            "message": "{{#is_alert}}memory{{/is_alert}}",
            "options": {"thresholds": {"critical": 1000000000000.0}},
        }))
        .send()
        .expect("monitor API");
    assert_eq!(created.status(), 200);
    assert_no_secret("POST /api/v1/monitor", &created.text().unwrap_or_default());

    // Wait until what the service sent is in: traces, logs, runtime metrics.
    wait_for("the traces", Duration::from_secs(30), || {
        let (_, t) = agent.get("/api/v0/traces?service=demo-service&limit=100");
        (t["traces"].as_array().map(Vec::len) >= Some(5)).then_some(())
    });
    wait_for("the logs", Duration::from_secs(30), || {
        let (_, l) = agent.get("/api/v0/logs?service=demo-service&limit=10");
        (l["total"].as_u64() > Some(0)).then_some(())
    });
    wait_for("runtime metrics", Duration::from_secs(30), || {
        agent
            .totals("avg:runtime.rust.mem.rss{*}")
            .first()
            .map(|_| ())
    });

    // Every answer of the API and the page.
    let mut seen = vec![
        ("/info", text_of(&agent, &agent.apm_url("/info"))),
        ("/v0.7/config", {
            let r = agent.http.post(agent.apm_url("/v0.7/config")).send();
            r.map(|r| r.text().unwrap_or_default()).unwrap_or_default()
        }),
    ];
    for path in [
        "/",
        "/ui/app.js",
        "/ui/style.css",
        "/api",
        "/status",
        "/metrics",
        "/api/v1/metrics",
        "/api/v1/events",
        "/api/v1/monitor",
        "/api/v0/traces?limit=1000",
        "/api/v0/logs?limit=1000",
    ] {
        seen.push((path, text_of(&agent, &agent.api_url(path))));
    }
    let (_, metrics) = agent.get("/api/v1/metrics");
    for name in metrics["metrics"].as_array().into_iter().flatten() {
        let name = name.as_str().unwrap_or_default();
        let tags = text_of(
            &agent,
            &agent.api_url(&format!("/api/v2/metrics/{name}/all-tags")),
        );
        assert_no_secret(&format!("the tags of {name}"), &tags);
    }
    let (_, traces) = agent.get("/api/v0/traces?limit=1000");
    for t in traces["traces"].as_array().into_iter().flatten() {
        let id = t["trace_id"].as_str().unwrap_or_default();
        let trace = text_of(&agent, &agent.api_url(&format!("/api/v0/traces/{id}")));
        assert_no_secret(&format!("trace {id}"), &trace);
    }
    for (what, text) in &seen {
        assert_no_secret(what, text);
    }
    for json in [false, true] {
        let mut args = vec!["status", "--url"];
        let url = agent.api_url("");
        args.push(&url);
        if json {
            args.push("--json");
        }
        let out = std::process::Command::new(BIN)
            .args(&args)
            .envs(secrets.iter().map(|(k, v)| (*k, v.as_str())))
            .output()
            .expect("agent-lite status");
        assert!(out.status.success());
        assert_no_secret("agent-lite status", &String::from_utf8_lossy(&out.stdout));
        assert_no_secret("agent-lite status", &String::from_utf8_lossy(&out.stderr));
    }

    // Every line both wrote, to the end (SIGTERM flushes the last ones).
    svc.stop();
    assert!(agent.proc.terminate(Duration::from_secs(30)).success());
    let service_log = std::fs::read_to_string(&log).expect("the demo-service's log");
    assert!(
        service_log.lines().count() > 10,
        "the service logged: {service_log}"
    );
    assert_no_secret("the demo-service's log", &service_log);
    assert_no_secret(
        "the demo-service's stderr",
        &svc.proc.stderr_lines().join("\n"),
    );
    let agent_log = [agent.proc.stdout_lines(), agent.proc.stderr_lines()].concat();
    assert!(agent_log.len() > 3, "agent-lite logged: {agent_log:?}");
    assert_no_secret("agent-lite's log", &agent_log.join("\n"));
}

/// A datadog.yaml copied from the real Agent names its key: agent-lite refuses the key it does
/// not take without repeating its value.
#[test]
fn a_configuration_file_with_the_api_key_is_refused_without_showing_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("datadog.yaml");
    std::fs::write(&file, format!("api_key: {API_KEY}\nhostname: lab\n")).expect("file");
    let out = std::process::Command::new(BIN)
        .args(["--config", &file.to_string_lossy()])
        .env_remove("DD_API_KEY")
        .output()
        .expect("agent-lite");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("api_key"), "{err}");
    assert_no_secret("the refusal of the file", &err);
    assert_no_secret("agent-lite's output", &String::from_utf8_lossy(&out.stdout));
}

/// Sends `head` (and `body`) on a connection of its own and reads the answer until the server
/// closes it or `limit` passes: (status code if any, how long it took).
fn exchange(port: u16, head: &[u8], body: &[u8], limit: Duration) -> (Option<u16>, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(limit)).expect("timeout");
    s.set_write_timeout(Some(limit)).expect("timeout");
    let _ = s.write_all(head);
    let _ = s.write_all(body);
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|t| t.get(..3))
        .and_then(|c| c.parse().ok());
    (status, started.elapsed())
}

/// Neither the intake nor the API takes a body or a head past its bound, nor waits for one.
#[test]
fn bodies_and_heads_are_bounded_on_the_intake_and_the_api() {
    const MAX: usize = 64 * 1024;
    let agent = Agent::start(&[("DD_APM_MAX_PAYLOAD_SIZE", MAX.to_string())]);
    // Well under the 10 s header and 30 s body timeouts: a bound that waits for the whole
    // body, or for a timeout, fails here.
    let quick = Duration::from_secs(8);

    // An oversized body announced by its length is refused on the announcement, as curl
    // sends it (Expect: 100-continue): 413, the body never sent.
    for (port, head) in [
        (
            agent.apm_port,
            format!("PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", MAX + 1),
        ),
        (
            agent.apm_port,
            format!("PUT /v0.6/stats HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", 1 << 30),
        ),
        (
            agent.api_port,
            format!("POST /api/v1/monitor HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", 1 << 30),
        ),
    ] {
        let (status, took) = exchange(port, head.as_bytes(), b"", quick);
        assert_eq!(status, Some(413), "{head}");
        assert!(took < quick, "{head}: {took:?}");
    }
    // The same, body sent: 413 too (read up to the bound, not to the end).
    let body = vec![0x90u8; 4 * MAX];
    let head = format!(
        "PUT /v0.5/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let (status, took) = exchange(agent.apm_port, head.as_bytes(), &body, quick);
    assert!(
        status == Some(413) || status.is_none(),
        "{status:?} for a body 4 times the bound"
    );
    assert!(took < quick, "{took:?}");
    // Chunked, with no length to refuse early: cut at the bound.
    let mut chunked = Vec::new();
    for _ in 0..8 {
        chunked.extend_from_slice(format!("{:x}\r\n", 32 * 1024).as_bytes());
        chunked.extend(std::iter::repeat_n(0x90u8, 32 * 1024));
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let (status, took) = exchange(
        agent.apm_port,
        b"PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        &chunked,
        quick,
    );
    assert!(status == Some(413) || status.is_none(), "{status:?}");
    assert!(took < quick, "{took:?}");
    // The API's own limit (2 MB), body sent.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(3 << 20));
    let res = agent
        .http
        .post(agent.api_url("/api/v1/monitor"))
        .header("Content-Type", "application/json")
        .body(big)
        .send();
    if let Ok(r) = res {
        assert_eq!(r.status(), 413, "a monitor over the API's body limit");
    }

    // A head over the limit: 431 (or the connection closed), at once.
    for port in [agent.apm_port, agent.api_port] {
        let mut head = b"GET /info HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', 1 << 20));
        head.extend_from_slice(b"\r\n\r\n");
        let (status, took) = exchange(port, &head, b"", quick);
        assert!(
            status == Some(431) || status.is_none(),
            "port {port}: {status:?}"
        );
        assert!(took < quick, "port {port}: {took:?}");
        // Many small headers: the same.
        let mut head = b"GET /info HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..500 {
            head.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let (status, took) = exchange(port, &head, b"", quick);
        assert!(
            status == Some(431) || status.is_none(),
            "port {port}, 500 headers: {status:?}"
        );
        assert!(took < quick, "port {port}: {took:?}");
        // A URI over 64 kB: 414 or 431 (or closed).
        let head = format!(
            "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
            "a".repeat(100 * 1024)
        );
        let (status, took) = exchange(port, head.as_bytes(), b"", quick);
        assert!(
            matches!(status, Some(414 | 431) | None),
            "port {port}, long URI: {status:?}"
        );
        assert!(took < quick, "port {port}: {took:?}");
    }
    // A body announced on a request that takes none is not waited for (within the limit),
    // or refused on its announcement (over it).
    for (length, want) in [(1 << 20, 200), (100 << 20, 413)] {
        let head = format!("GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n");
        let (status, took) = exchange(agent.api_port, head.as_bytes(), b"", quick);
        assert_eq!(status, Some(want), "{head}");
        assert!(took < quick, "{head}: {took:?}");
    }

    // Every refusal above is counted, and agent-lite still answers.
    let (status, s) = agent.get("/status");
    assert_eq!(status, 200);
    let count = |name: &str| s["counters"][name].as_u64().unwrap_or(0);
    assert_eq!(count("traces.rejected.too_large"), 3, "{s}");
    assert_eq!(count("stats.rejected.too_large"), 1, "{s}");
    assert_eq!(count("traces.rejected.head_too_large"), 3, "{s}");
    assert_eq!(count("api.rejected.head_too_large"), 3, "{s}");
    assert_eq!(count("api.rejected.payload_too_large"), 3, "{s}");
    let info: Value = agent
        .http
        .get(agent.apm_url("/info"))
        .send()
        .and_then(|r| r.json())
        .expect("/info");
    assert_eq!(info["config"]["max_request_bytes"], MAX);
}
