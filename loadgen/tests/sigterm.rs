//! SIGTERM to each of the lab's binaries loses nothing in flight, as each promises:
//!
//! - demo-service stops accepting, answers every request in flight and flushes their spans
//!   (README, "Tracing"): agent-lite counts each of them, with its child spans;
//! - loadgen stops its traffic and still writes its report (README, "loadgen"), which counts
//!   every request the service answered: none in flight is dropped uncounted;
//! - agent-lite finishes the requests in flight and exits cleanly; what it keeps across a
//!   restart (AGENT_LITE_STATE_DIR: the monitors made through the API and their states) is
//!   there after it, so a monitor in Alert does not fire again.

mod common;

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::time::Duration;

use blocking_http as reqwest;
use common::procs::{answered, report, spawn_loadgen, AgentLite, Demo};
use lab_testkit::wait_for;
use serde_json::{json, Value};

const IN_FLIGHT: usize = 40;

/// A connection for each `/slow` in flight: the 41st would wait, and past the pool's 2 s
/// timeout get a 503.
const IN_FLIGHT_POOL: u64 = IN_FLIGHT as u64;

/// loadgen's steady traffic keeps about 20 `/slow?ms=400` in flight (50 a second, 0.4 s each),
/// more when the machine is busy.
const STEADY_POOL: u64 = 32;

#[test]
fn demo_service_on_sigterm_answers_every_request_in_flight_and_flushes_their_spans() {
    let agent = AgentLite::start(&[]);
    let mut svc = Demo::start(
        &agent,
        IN_FLIGHT_POOL,
        &[
            ("DD_ENV", "sigterm".into()),
            // Its lines say when each request is in a handler.
            ("DEMO_LOG_LEVEL", "info".into()),
        ],
    );
    let url = format!("{}/slow?ms=1500", svc.base);
    let requests: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()
                    .and_then(|c| c.get(&url).send())
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    wait_for(
        "every request in a handler",
        Duration::from_secs(30),
        || {
            let started = svc
                .proc
                .json_lines()
                .iter()
                .filter(|l| l["message"] == "calling the inventory service")
                .count();
            (started == IN_FLIGHT).then_some(())
        },
    );
    svc.stop();
    for r in requests {
        let status = r.join().expect("thread");
        assert_eq!(status.ok(), Some(200), "a request in flight at SIGTERM");
    }

    // Every one of them reached agent-lite before the service exited, with its call to
    // inventory, and inventory's server span and query (flushed when inventory stopped after
    // it): four spans each.
    let hits = "sum:trace.http.server.request.hits{service:demo-service,env:sigterm,resource_name:get_/slow}.as_count()";
    assert_eq!(agent.total(hits) as usize, IN_FLIGHT);
    assert_eq!(agent.counter("traces.spans") as usize, 4 * IN_FLIGHT);
    assert!(svc
        .proc
        .json_lines()
        .iter()
        .any(|l| l["message"] == "tracer flushed"));
}

const STEADY: &str = r#"
name = "steady"
timeout = "30s"

[traffic]
rate = 100
mix = { "/" = 50, "/slow" = 50 }
slow_ms = 400

[[phase]]
name = "steady"
duration = "forever"
"#;

#[test]
fn loadgen_on_sigterm_writes_its_report_and_counts_every_request_in_flight() {
    let agent = AgentLite::start(&[]);
    let mut svc = Demo::start(&agent, STEADY_POOL, &[("DD_ENV", "loadgen-term".into())]);
    let work = tempfile::tempdir().expect("temp dir");
    let mut loadgen = spawn_loadgen(work.path(), STEADY, &svc.base, &[]);
    // A few seconds of traffic, with about 20 /slow requests in flight at any moment.
    wait_for("traffic for a few seconds", Duration::from_secs(60), || {
        loadgen
            .stderr_lines()
            .iter()
            .any(|l| l.starts_with("[    4s]"))
            .then_some(())
    });
    let status = loadgen.terminate(Duration::from_secs(60));
    let out = loadgen.stdout_lines().join("\n");
    let err = loadgen.stderr_lines().join("\n");
    assert!(status.success(), "loadgen {status:?}\n{out}\n{err}");
    assert!(out.contains("stopped (Ctrl-C or SIGTERM)"), "{out}");
    let report = report(work.path());
    assert_eq!(report["ended_by"], "stopped (Ctrl-C or SIGTERM)");
    assert!(work.path().join("reports/report.html").exists());

    // What the service answered and traced, loadgen counted: nothing in flight was dropped
    // unrecorded when it stopped.
    svc.stop();
    let answered_all = answered(&report, None, None);
    let transport = report["phases"][0]["transport_errors"]
        .as_u64()
        .unwrap_or(0);
    let hits = agent.total(
        "sum:trace.http.server.request.hits{service:demo-service,env:loadgen-term}.as_count()",
    ) as u64;
    println!(
        "loadgen: {answered_all} answered, {transport} without an answer; agent-lite: {hits} hits"
    );
    assert!(answered_all > 100, "{answered_all}");
    assert_eq!(
        hits, answered_all,
        "the service served {hits} requests, loadgen's report counts {answered_all} answered \
         ({transport} without an answer)"
    );
    assert_eq!(transport, 0);
}

const HIGH: &str = "avg(last_1m):avg:lab.term.level{*} > 5";

fn monitor(agent: &AgentLite, id: u64) -> Value {
    reqwest::blocking::get(format!("{}/api/v1/monitor/{id}", agent.api()))
        .and_then(|r| r.json())
        .unwrap_or(Value::Null)
}

fn transitions(agent: &AgentLite, id: u64) -> Vec<(String, String)> {
    let h: Value = reqwest::blocking::get(format!("{}/api/v0/monitors/{id}/history", agent.api()))
        .and_then(|r| r.json())
        .unwrap_or(Value::Null);
    h["transitions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["from"].as_str().unwrap_or("").to_owned(),
                t["to"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn agent_lite_on_sigterm_finishes_what_is_in_flight_and_keeps_its_monitors() {
    let state = tempfile::tempdir().expect("state dir");
    let mut agent = AgentLite::start(&[
        ("AGENT_LITE_STATE_DIR", state.path().display().to_string()),
        ("AGENT_LITE_MONITOR_INTERVAL_SECS", "1".into()),
    ]);
    let http = reqwest::blocking::Client::new();
    let created: Value = http
        .post(format!("{}/api/v1/monitor", agent.api()))
        .json(&json!({
            "name": "level high", "type": "query alert", "query": HIGH,
            "message": "{{#is_alert}}high{{/is_alert}}",
            "options": {"thresholds": {"critical": 5}, "notify_no_data": false},
        }))
        .send()
        .and_then(|r| r.json())
        .expect("monitor created");
    let id = created["id"].as_u64().expect("an id");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let level = |agent: &AgentLite| {
        udp.send_to(b"lab.term.level:10|g", ("127.0.0.1", agent.statsd))
            .expect("send");
    };
    wait_for("the monitor in Alert", Duration::from_secs(60), || {
        level(&agent);
        std::thread::sleep(Duration::from_millis(200));
        (monitor(&agent, id)["overall_state"] == "Alert").then_some(())
    });
    assert_eq!(transitions(&agent, id), [("OK".into(), "Alert".into())]);

    // A trace payload half sent when SIGTERM comes: agent-lite waits for the rest, answers
    // it, then exits cleanly.
    let payload = json!([[{
        "service": "term", "name": "web.request", "resource": "GET /", "trace_id": 7,
        "span_id": 7, "parent_id": 0, "start": 1, "duration": 1,
    }]])
    .to_string();
    let mut upload = TcpStream::connect(("127.0.0.1", agent.apm)).expect("connect");
    let head = format!(
        "PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    let (first, rest) = payload.as_bytes().split_at(payload.len() / 2);
    upload.write_all(head.as_bytes()).expect("head");
    upload.write_all(first).expect("half the body");
    // The request is in agent-lite's hands (its head parsed) before the signal: a second is
    // ample even on a busy machine (a connection with no request yet is closed at shutdown,
    // as it should be).
    std::thread::sleep(Duration::from_secs(1));
    nix_kill(agent.proc.pid());
    std::thread::sleep(Duration::from_millis(300));
    upload.write_all(rest).expect("the rest of the body");
    upload
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut answer = String::new();
    let _ = upload.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "the payload in flight at SIGTERM: {answer:?}"
    );
    let exit = agent.proc.wait(Duration::from_secs(30));
    assert!(exit.success(), "agent-lite's exit on SIGTERM: {exit:?}");

    // Started again on the same state: the monitor made through the API is there, still in
    // Alert, and with the level still high it does not fire a second time.
    agent.restart();
    let m = monitor(&agent, id);
    assert_eq!(m["name"], "level high", "{m}");
    assert_eq!(m["overall_state"], "Alert", "{m}");
    for _ in 0..15 {
        level(&agent);
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(monitor(&agent, id)["overall_state"], "Alert");
    assert_eq!(transitions(&agent, id), [("OK".into(), "Alert".into())]);
    let events: Value = reqwest::blocking::get(format!("{}/api/v1/events", agent.api()))
        .and_then(|r| r.json())
        .unwrap_or(Value::Null);
    assert!(
        !events.to_string().contains("[Triggered]"),
        "fired again after the restart: {events}"
    );
}

/// SIGTERM without waiting (the test sends the rest of a request meanwhile).
fn nix_kill(pid: u32) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("a pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
}
