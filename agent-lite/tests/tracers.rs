//! Real tracers and a real DogStatsD client send to agent-lite; what they sent reads back
//! through the query and trace APIs, exactly for counts.

mod common;

use std::time::Duration;

use common::{Agent, DemoService};
use lab_testkit::process::ChildProcess;
use lab_testkit::test_agent::lab_python;
use lab_testkit::{free_port, wait_for};

fn get(client: &reqwest::blocking::Client, url: &str) -> u16 {
    client
        .get(url)
        .send()
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn wait_up(client: &reqwest::blocking::Client, url: &str) {
    wait_for(url, Duration::from_secs(30), || {
        client
            .get(url)
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });
}

#[test]
fn datadogs_rust_tracer_hits_errors_and_latency_read_back_exactly() {
    let agent = Agent::start(&[]);
    let mut svc = DemoService::start(
        &agent,
        &[("DD_ENV", "test".into()), ("DD_VERSION", "2.0".into())],
        None,
    );
    for _ in 0..7 {
        assert_eq!(svc.get("/"), 200);
    }
    for _ in 0..3 {
        assert_eq!(svc.get("/error"), 500);
    }
    for _ in 0..2 {
        assert_eq!(svc.get("/slow?ms=200"), 200);
    }
    // demo-service, then inventory: every span of both is in agent-lite once they exited.
    svc.stop();

    let scope = "service:demo-service,env:test,version:2.0";
    agent.wait_total(
        &format!("sum:trace.http.server.request.hits{{{scope}}}.as_count()"),
        12.0,
    );
    let mut by_resource = agent.totals(&format!(
        "sum:trace.http.server.request.hits{{{scope}}} by {{resource_name}}.as_count()"
    ));
    by_resource.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_resource,
        vec![
            ("resource_name:get_/".to_string(), 7.0),
            ("resource_name:get_/error".to_string(), 3.0),
            ("resource_name:get_/slow".to_string(), 2.0),
        ]
    );
    let errors: f64 = agent
        .totals(&format!(
            "sum:trace.http.server.request.errors{{{scope}}}.as_count()"
        ))
        .iter()
        .map(|(_, v)| v)
        .sum();
    assert_eq!(errors, 3.0);
    let by_status = agent.totals(&format!(
        "sum:trace.http.server.request.hits{{{scope},http.status_code:500}}.as_count()"
    ));
    assert_eq!(by_status.iter().map(|(_, v)| v).sum::<f64>(), 3.0);
    let p95 = agent.query(&format!(
        "p95:trace.http.server.request{{{scope},resource_name:get_/slow}}"
    ));
    let p95 = p95["series"][0]["pointlist"][0][1]
        .as_f64()
        .expect("a p95 point");
    assert!(
        p95 >= 0.2 * 0.99,
        "p95 of /slow?ms=200 is at least 200 ms: {p95}"
    );

    let (status, found) = agent.get("/api/v0/traces?service=demo-service&resource=GET%20/error");
    assert_eq!(status, 200);
    let traces = found["traces"].as_array().expect("traces");
    assert_eq!(traces.len(), 3);
    assert!(traces.iter().all(|t| t["error"] == true));
    let (_, slow) = agent.get("/api/v0/traces?resource=GET%20/slow&min_duration_ms=190");
    let slow = slow["traces"].as_array().expect("traces");
    assert_eq!(
        slow.len(),
        2,
        "the two /slow?ms=200 traces: {:?}",
        slow.iter()
            .map(|t| (&t["root"]["resource"], &t["duration_ms"]))
            .collect::<Vec<_>>()
    );
    let (_, none) = agent.get("/api/v0/traces?service=demo-service&min_duration_ms=10000");
    assert_eq!(none["traces"].as_array().map(Vec::len), Some(0));
    let id = slow[0]["trace_id"].as_str().expect("trace id");
    let (status, trace) = agent.get(&format!("/api/v0/traces/{id}"));
    assert_eq!(status, 200);
    // demo-service's server span and its call to inventory, inventory's server span and
    // its postgres.query: the trace joins both services' chunks.
    assert_eq!(
        trace["spans"].as_array().map(Vec::len),
        Some(4),
        "a /slow trace is complete"
    );
    let error_id = traces[0]["trace_id"].as_str().expect("trace id");
    let (_, error_trace) = agent.get(&format!("/api/v0/traces/{error_id}"));
    let services: std::collections::BTreeSet<&str> = error_trace["spans"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["service"].as_str())
        .collect();
    assert_eq!(
        error_trace["spans"].as_array().map(Vec::len),
        Some(4),
        "an /error trace: the refused UPDATE under inventory's span: {error_trace}"
    );
    assert_eq!(services, ["demo-service", "inventory"].into());
    // `/` is one span; `/error` and `/slow` are four each.
    assert_eq!(agent.counter("traces.spans"), 7 + 3 * 4 + 2 * 4);
}

#[test]
fn pythons_ddtrace_on_flask_reads_back_exactly() {
    flask_under_ddtrace_reads_back(false);
}

/// With `/v0.6/stats` advertised, ddtrace computes the stats and agent-lite merges them.
#[test]
fn pythons_ddtrace_client_stats_read_back_exactly() {
    flask_under_ddtrace_reads_back(true);
}

fn flask_under_ddtrace_reads_back(client_stats: bool) {
    let agent = Agent::start(&[("AGENT_LITE_CLIENT_STATS", client_stats.to_string())]);
    let python = lab_python();
    let bin = python.parent().expect("venv bin");
    assert!(
        bin.join("ddtrace-run").exists(),
        "{} has no ddtrace-run: run tests/setup",
        bin.display()
    );
    let port = free_port();
    let peers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/peers");
    let mut app = ChildProcess::spawn(
        &bin.join("ddtrace-run").to_string_lossy(),
        &[
            &bin.join("gunicorn").to_string_lossy(),
            "-w",
            "1",
            "-b",
            &format!("127.0.0.1:{port}"),
            "--chdir",
            &peers.to_string_lossy(),
            "flask_app:app",
        ],
        &[
            ("DD_SERVICE", "flask-demo-bootcamp".into()),
            ("DD_ENV", "dev".into()),
            ("DD_VERSION", "1.0".into()),
            ("DD_TRACE_AGENT_URL", agent.apm_url("")),
            ("DD_INSTRUMENTATION_TELEMETRY_ENABLED", "false".into()),
            (
                "DD_TRACE_STATS_COMPUTATION_ENABLED",
                client_stats.to_string(),
            ),
        ],
    );
    let http = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    wait_up(&http, &format!("{base}/"));
    for _ in 0..4 {
        assert_eq!(get(&http, &format!("{base}/")), 200);
    }
    for _ in 0..2 {
        assert_eq!(get(&http, &format!("{base}/error")), 500);
    }
    assert!(
        app.terminate(Duration::from_secs(30)).success(),
        "{:?}",
        app.stderr_lines()
    );

    // ddtrace sent v0.5 (string-table) payloads; the warm-up request counts as one more GET /.
    agent.wait_total(
        "sum:trace.flask.request.errors{service:flask-demo-bootcamp,env:dev}.as_count()",
        2.0,
    );
    let mut hits = agent.totals(
        "sum:trace.flask.request.hits{service:flask-demo-bootcamp} by {resource_name}.as_count()",
    );
    hits.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        hits,
        vec![
            ("resource_name:get_/".to_string(), 5.0),
            ("resource_name:get_/error".to_string(), 2.0),
        ]
    );
    assert!(
        agent.counter("traces.payloads.v0.5") >= 1,
        "ddtrace 4 sends v0.5"
    );
    if client_stats {
        assert!(agent.counter("stats.payloads") >= 1, "ddtrace sent stats");
        assert!(
            agent.counter("traces.spans_with_client_stats") >= 7,
            "its traces were not counted twice"
        );
    } else {
        assert_eq!(agent.counter("stats.payloads"), 0);
    }
}

#[test]
fn the_datadog_dogstatsd_client_reads_back_exactly() {
    let agent = Agent::start(&[]);
    let script = format!(
        r#"
from datadog import initialize, statsd
initialize(statsd_host="127.0.0.1", statsd_port={port})
for _ in range(10):
    statsd.increment("lab.requests", tags=["env:test", "route:/"])
statsd.increment("lab.requests", value=5, tags=["env:test", "route:/slow"])
statsd.gauge("lab.queue", 3, tags=["env:test"])
statsd.gauge("lab.queue", 7, tags=["env:test"])
for v in range(1, 101):
    statsd.histogram("lab.latency", v, tags=["env:test"])
    statsd.distribution("lab.size", v, tags=["env:test"])
for user in ["a", "b", "a", "c"]:
    statsd.set("lab.users", user, tags=["env:test"])
statsd.event("Deploy", "version 2 is out", alert_type="success", tags=["env:test"])
statsd.service_check("lab.can_connect", 2, tags=["env:test"], message="refused")
statsd.flush()
"#,
        port = agent.statsd_port
    );
    let mut py = ChildProcess::spawn(&lab_python().to_string_lossy(), &["-c", &script], &[]);
    assert!(
        py.wait(Duration::from_secs(60)).success(),
        "{:?}",
        py.stderr_lines()
    );

    agent.wait_total("sum:lab.requests{env:test}.as_count()", 15.0);
    let mut by_route = agent.totals("sum:lab.requests{env:test,host:lab} by {route}.as_count()");
    by_route.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        by_route,
        vec![("route:/".into(), 10.0), ("route:/slow".into(), 5.0)]
    );
    assert_eq!(agent.totals("max:lab.queue{env:test}")[0].1, 7.0);
    agent.wait_total("sum:lab.latency.count{env:test}.as_count()", 100.0);
    assert_eq!(agent.totals("max:lab.latency.max{env:test}")[0].1, 100.0);
    assert_eq!(agent.totals("max:lab.latency.median{env:test}")[0].1, 50.0);
    assert_eq!(
        agent.totals("max:lab.latency.95percentile{env:test}")[0].1,
        95.0
    );
    assert_eq!(agent.totals("max:lab.latency.avg{env:test}")[0].1, 50.5);
    let p99 = agent.totals("p99:lab.size{env:test}")[0].1;
    assert!(
        (p99 - 99.0).abs() <= 99.0 * 0.02,
        "p99 of 1..100 within the sketch's accuracy: {p99}"
    );
    assert_eq!(agent.totals("max:lab.users{env:test}")[0].1, 3.0);

    let (_, events) = agent.get("/api/v1/events");
    let events = events["events"].as_array().expect("events");
    let deploy = events
        .iter()
        .find(|e| e["title"] == "Deploy")
        .expect("the Deploy event");
    assert_eq!(deploy["text"], "version 2 is out");
    assert_eq!(deploy["alert_type"], "success");
    let check = events
        .iter()
        .find(|e| e["title"] == "Service check lab.can_connect")
        .expect("the service check");
    assert_eq!(check["alert_type"], "error");
    assert!(events.iter().any(|e| e["title"] == "agent-lite started"));
}
