//! A short scenario against agent-lite and the demo service on loopback: each phase's effect
//! is seen server-side (the burns traced, the errors counted, p95 risen), the expectations
//! pass with exit 0 and a JUnit report; then a deliberately wrong expectation fails, named,
//! with what the monitor did, exit 1 and a JUnit failure.

mod common;

use std::time::Duration;

use common::{loadgen, write_monitor, Lab};
use lab_testkit::wait_for;
use serde_json::Value;

const ERRORS: &str = "sum(last_20s):sum:trace.http.server.request.errors{service:demo-service}.as_count() / sum:trace.http.server.request.hits{service:demo-service}.as_count() > 0.05";
const P95: &str = "percentile(last_20s):p95:trace.http.server.request{service:demo-service} > 1";
const BURN_ERRORS: &str = "sum(last_20s):sum:trace.http.server.request.errors{service:demo-service,resource_name:get_/burn}.as_count() > 0";

/// About 75 s: calm, a CPU spike through /burn, an error burst, a latency burst, recovery.
const SCENARIO: &str = r#"
name = "short"
description = "The quick story in a minute and a quarter, against 20-second monitors"

[traffic]
rate = 25
mix = { "/" = 100 }

[[phase]]
name = "calm"
duration = "12s"

[[phase]]
name = "cpu spike"
duration = "8s"
cpu_spike = { percent = 40, burn_ms = 100 }

[[phase]]
name = "error burst"
duration = "12s"
error_burst = { share = 0.4 }

[[phase]]
name = "latency burst"
duration = "12s"
latency_burst = { share = 0.4, ms = 1500 }

[[phase]]
name = "recovery"
duration = "30s"

[[expect]]
monitor = "lab error rate (test)"
state = "Alert"
phase = "error burst"
within = "20s"

[[expect]]
monitor = "lab p95 latency (test)"
state = "Alert"
phase = "latency burst"
within = "20s"

[[expect]]
monitor = 101
state = "OK"
phase = "recovery"
within = "30s"

[[expect]]
monitor = "lab burn errors (test)"
never = true
"#;

/// Calm traffic, and an expectation it cannot meet.
const WRONG: &str = r#"
name = "wrong"

[traffic]
rate = 20

[[phase]]
name = "calm"
duration = "10s"

[[expect]]
monitor = "lab error rate (test)"
state = "Alert"
phase = "calm"
within = "8s"

[[expect]]
monitor = "lab p95 latency (test)"
never = true
"#;

fn phase<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["phases"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == name))
        .unwrap_or_else(|| panic!("phase {name} in the report: {report}"))
}

#[test]
fn a_scenario_shows_each_phase_server_side_and_checks_its_expectations() {
    let monitors = tempfile::tempdir().expect("temp dir");
    write_monitor(monitors.path(), 101, "lab error rate (test)", ERRORS, 0.05);
    write_monitor(monitors.path(), 102, "lab p95 latency (test)", P95, 1.0);
    write_monitor(
        monitors.path(),
        103,
        "lab burn errors (test)",
        BURN_ERRORS,
        0.0,
    );
    let lab = Lab::start(monitors.path());
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("short.toml");
    std::fs::write(&file, SCENARIO).expect("write the scenario");
    let reports = work.path().join("reports");
    let junit = work.path().join("junit.xml");

    let (status, out, err) = loadgen(
        &[
            "run",
            &file.display().to_string(),
            "--target",
            &lab.target,
            "--agent",
            &lab.api,
            "--check",
            "--junit",
            &junit.display().to_string(),
            "--report-dir",
            &reports.display().to_string(),
        ],
        Duration::from_secs(240),
    );
    assert!(
        status.success(),
        "exit {status}\nstdout:\n{out}\nstderr:\n{err}"
    );

    // The live line, once a second, names the phase, the time left, req/s, errors and p95.
    let live: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(" req/s | errors"))
        .collect();
    assert!(live.len() >= 60, "{} live lines:\n{err}", live.len());
    assert!(live
        .iter()
        .any(|l| l.contains("error burst") && l.contains("s left") && l.contains("p95 ")));
    // The monitors' changes are shown as they happen.
    assert!(
        err.contains("monitor \"lab error rate (test)\": OK -> Alert"),
        "{err}"
    );

    // Every expectation passed, each with what the monitor did.
    assert!(out.contains("4 of 4 expectations passed"), "{out}");
    assert!(
        out.contains("PASSED  \"lab error rate (test)\" is Alert within 20s of the start of phase 'error burst'"),
        "{out}"
    );
    assert!(out.contains("observed: OK -> Alert at +"), "{out}");
    assert!(
        out.contains("PASSED  \"lab burn errors (test)\" is never Alert"),
        "{out}"
    );
    let xml = std::fs::read_to_string(&junit).expect("the JUnit file");
    assert!(
        xml.contains("tests=\"4\"") && xml.contains("failures=\"0\""),
        "{xml}"
    );

    // The reports: loadgen's JSON and HTML, goose's HTML.
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    assert!(reports.join("report.html").exists());
    assert!(reports.join("goose.html").exists(), "goose's report");
    assert_eq!(report["phases"].as_array().map(Vec::len), Some(5));
    let calm = phase(&report, "calm");
    let rps = calm["rps"].as_f64().unwrap_or(0.0);
    assert!(
        (20.0..=30.0).contains(&rps),
        "calm held its 25 req/s: {calm}"
    );
    assert_eq!(calm["errors"], 0, "{calm}");

    // CPU spike: the /burn calls reached the service and were traced with their cpu.burn span.
    let burns = phase(&report, "cpu spike")["endpoints"]["GET /burn"]["requests"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        burns >= 40,
        "0.8 cores in 100 ms burns is 8 a second: {burns}"
    );
    let hits = "sum:trace.http.server.request.hits{service:demo-service,resource_name:get_/burn}.as_count()";
    wait_for(
        "every /burn counted by agent-lite",
        Duration::from_secs(30),
        || (lab.total(hits) as u64 == burns).then_some(()),
    );
    let traces = lab.get("/api/v0/traces?service=demo-service&resource=GET%20/burn&limit=1");
    let id = traces["traces"][0]["trace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("a /burn trace: {traces}"))
        .to_owned();
    let trace = lab.get(&format!("/api/v0/traces/{id}"));
    assert!(trace.to_string().contains("cpu.burn"), "{trace}");

    // Error burst: the service's errors, counted by agent-lite, are loadgen's 500s, to the unit.
    let bursts = phase(&report, "error burst");
    let errors_sent = bursts["endpoints"]["GET /error"]["errors"]
        .as_u64()
        .unwrap_or(0);
    assert!(errors_sent >= 80, "40% of 300 requests: {bursts}");
    let error_query = "sum:trace.http.server.request.errors{service:demo-service}.as_count()";
    wait_for(
        "the errors counted by agent-lite",
        Duration::from_secs(30),
        || (lab.total(error_query) as u64 == errors_sent).then_some(()),
    );

    // Latency burst: p95 over 1 s server-side while it lasts, well under it in the calm.
    let start = report["started_epoch_s"].as_f64().expect("the start");
    let at = |p: &Value| start + p["start_s"].as_f64().unwrap_or(0.0);
    let slow = phase(&report, "latency burst");
    let p95 = "p95:trace.http.server.request{service:demo-service}";
    let during = lab.points(p95, at(slow), at(slow) + 12.0);
    assert!(
        during.iter().any(|(_, v)| *v > 1.0),
        "p95 in the latency burst: {during:?}"
    );
    let before = lab.points(p95, at(calm), at(calm) + 10.0);
    assert!(
        before.iter().all(|(_, v)| *v < 0.5),
        "p95 in the calm: {before:?}"
    );

    // A deliberately wrong expectation: named, with what happened instead, exit 1.
    let wrong = work.path().join("wrong.toml");
    std::fs::write(&wrong, WRONG).expect("write the scenario");
    let junit_wrong = work.path().join("wrong.xml");
    let (status, out, err) = loadgen(
        &[
            "run",
            &wrong.display().to_string(),
            "--target",
            &lab.target,
            "--agent",
            &lab.api,
            "--check",
            "--junit",
            &junit_wrong.display().to_string(),
            "--quiet",
        ],
        Duration::from_secs(120),
    );
    assert_eq!(status.code(), Some(1), "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("FAILED  \"lab error rate (test)\" is Alert within 8s of the start of phase 'calm' (line 11): not Alert within 8s: it was OK throughout"),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        out.contains("observed: no transition during the run"),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        out.contains("PASSED  \"lab p95 latency (test)\" is never Alert"),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    assert!(
        out.contains("1 of 2 expectations passed, 1 FAILED"),
        "stdout:\n{out}\nstderr:\n{err}"
    );
    let xml = std::fs::read_to_string(&junit_wrong).expect("the JUnit file");
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("failures=\"1\""), "{xml}");
}
