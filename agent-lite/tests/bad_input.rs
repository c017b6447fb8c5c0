//! Bad input gets a clear answer and a counter, never a panic; good input beside it is kept;
//! slow clients are cut off without holding the others.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Agent;

fn put(agent: &Agent, path: &str, content_type: &str, body: Vec<u8>) -> (u16, String) {
    let res = agent
        .http
        .put(agent.apm_url(path))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .unwrap_or_else(|e| panic!("PUT {path}: {e}"));
    let status = res.status().as_u16();
    (status, res.text().unwrap_or_default())
}

#[test]
fn malformed_payloads_are_refused_with_the_reason_and_counted() {
    let agent = Agent::start(&[("DD_APM_MAX_PAYLOAD_SIZE", "4096".into())]);

    let (status, text) = put(
        &agent,
        "/v0.4/traces",
        "application/msgpack",
        vec![0x91, 0xc1],
    );
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("invalid msgpack v0.4"), "{text}");

    let (status, text) = put(&agent, "/v0.5/traces", "application/json", b"[]".to_vec());
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("msgpack only"), "{text}");

    let (status, text) = put(&agent, "/v0.4/traces", "application/json", b"[[{".to_vec());
    assert_eq!(status, 400, "{text}");

    let (status, text) = put(
        &agent,
        "/v0.6/stats",
        "application/msgpack",
        b"\xff".to_vec(),
    );
    assert_eq!(status, 400, "{text}");

    let (status, text) = put(
        &agent,
        "/v0.4/traces",
        "application/msgpack",
        vec![0x90; 5000],
    );
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("DD_APM_MAX_PAYLOAD_SIZE"), "{text}");

    // An empty list of traces is valid, as tracers send it on flush.
    let (status, text) = put(&agent, "/v0.4/traces", "application/msgpack", vec![0x90]);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("rate_by_service"), "{text}");

    assert_eq!(agent.counter("traces.rejected.invalid_msgpack"), 1);
    assert_eq!(agent.counter("traces.rejected.unsupported_content_type"), 1);
    assert_eq!(agent.counter("traces.rejected.invalid_json"), 1);
    assert_eq!(agent.counter("stats.rejected.invalid_msgpack"), 1);
    assert_eq!(agent.counter("traces.rejected.too_large"), 1);
    let (_, info) = agent.get("/status");
    assert!(info["counters"].is_object(), "status still answers");
}

#[test]
fn a_bad_dogstatsd_line_is_skipped_and_the_rest_of_the_packet_kept() {
    let agent = Agent::start(&[]);
    agent.send_statsd("lab.good:1|c|#env:t\nlab.bad:x|c\nnot a metric\nlab.good:2|c|#env:t");
    agent.wait_total("sum:lab.good{env:t}.as_count()", 3.0);
    assert_eq!(agent.counter("dogstatsd.metrics"), 2);
    let rejected: u64 = agent
        .get("/status")
        .1
        .get("counters")
        .and_then(|c| c.as_object())
        .map(|c| {
            c.iter()
                .filter(|(k, _)| k.starts_with("dogstatsd.rejected."))
                .filter_map(|(_, v)| v.as_u64())
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(rejected, 2);
}

/// A client that never finishes its headers is closed, and others are served meanwhile.
#[test]
fn a_stuck_client_is_cut_off_without_holding_others() {
    let agent = Agent::start(&[]);
    let mut stuck =
        TcpStream::connect(("127.0.0.1", agent.apm_port)).expect("connect to the trace intake");
    stuck
        .write_all(b"PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\n")
        .expect("half a request");
    let started = Instant::now();
    let (status, _) = agent.get("/status");
    assert_eq!(status, 200);
    let info = agent
        .http
        .get(agent.apm_url("/info"))
        .send()
        .expect("the intake answers others");
    assert!(info.status().is_success());

    stuck
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    let mut rest = Vec::new();
    let _ = stuck.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(40),
        "the stuck connection was closed by agent-lite, not by our 60 s read timeout ({waited:?})"
    );
}

/// A body that stops arriving half-way is answered 408 and counted.
#[test]
fn a_body_that_stops_arriving_is_timed_out() {
    let agent = Agent::start(&[]);
    let mut slow = TcpStream::connect(("127.0.0.1", agent.apm_port)).expect("connect");
    slow.write_all(
        b"PUT /v0.4/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/msgpack\r\nContent-Length: 100\r\n\r\n\x91",
    )
    .expect("headers and a byte");
    slow.set_read_timeout(Some(Duration::from_secs(90)))
        .expect("read timeout");
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert_eq!(agent.counter("traces.rejected.unreadable_body"), 1);
}

#[test]
fn oversized_tags_are_cut_as_the_agent_cuts_them_and_the_store_keeps_its_traces() {
    let agent = Agent::start(&[]);
    // A tracer's error span with a 100 KB stack, as an unbounded backtrace makes.
    let stack = "frame\n".repeat(100_000 / 6);
    let span = |trace_id: u64, meta: serde_json::Value| {
        serde_json::json!([[{"service": "web", "name": "http.request", "resource": "GET /",
            "trace_id": trace_id, "span_id": trace_id, "parent_id": 0, "start": 1, "duration": 1,
            "error": 1, "meta": meta}]])
    };
    let body = span(7, serde_json::json!({"error.stack": stack}));
    let (status, text) = put(
        &agent,
        "/v0.4/traces",
        "application/json",
        body.to_string().into_bytes(),
    );
    assert_eq!(status, 200, "{text}");
    assert_eq!(agent.counter("traces.spans_truncated"), 1);

    let (status, trace) = agent.get("/api/v0/traces/7");
    assert_eq!(status, 200, "{trace}");
    let kept = trace["spans"][0]["meta"]["error.stack"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(kept.len(), 25_000 + 3, "cut at the Agent's 25,000 bytes");
    assert!(kept.ends_with("..."), "marked as cut");

    // 400 such spans are 40 MB uncut, over the store's 16 MiB: cut, they all stay.
    for id in 100..500u64 {
        let body = span(id, serde_json::json!({"error.stack": stack}));
        let (status, _) = put(
            &agent,
            "/v0.4/traces",
            "application/json",
            body.to_string().into_bytes(),
        );
        assert_eq!(status, 200);
    }
    let (_, status) = agent.get("/status");
    assert_eq!(status["traces"]["evicted"], 0, "{status}");
    assert_eq!(status["traces"]["kept"], 401, "{status}");
}
