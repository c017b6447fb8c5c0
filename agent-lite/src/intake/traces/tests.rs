use super::decode::Version;
use super::{receive, Output};
use crate::apm::trace_store::{SharedTraces, TraceQuery, TraceStore};
use crate::counters::Counters;
use crate::store::SharedStore;

fn span(id: u64, tag_bytes: usize) -> serde_json::Value {
    serde_json::json!({"service": "web", "name": "http.server.request",
        "resource": "GET /", "trace_id": id, "span_id": id, "parent_id": 0, "start": 1,
        "duration": 2, "error": 0, "meta": {"env": "dev", "http.status_code": "200",
        "big": "x".repeat(tag_bytes)}, "metrics": {"_top_level": 1.0}})
}

fn msgpack_payload(traces: u64, tag_bytes: usize) -> Vec<u8> {
    let list: Vec<Vec<serde_json::Value>> =
        (1..=traces).map(|id| vec![span(id, tag_bytes)]).collect();
    rmp_serde::to_vec_named(&list).expect("msgpack")
}

fn agent(trace_bytes: usize) -> Output {
    Output {
        store: SharedStore::default(),
        traces: SharedTraces::new(TraceStore::new(200_000, trace_bytes)),
        counters: Counters::default(),
    }
}

fn hits(agent: &Output) -> f64 {
    agent
        .store
        .lock()
        .series_named("trace.http.server.request.hits")
        .flat_map(|(_, s)| s.points.values())
        .map(|p| p.scalar())
        .sum()
}

fn counter(agent: &Output, name: &str) -> u64 {
    agent.counters.get(name)
}

#[test]
fn a_payload_of_many_batches_is_counted_exactly_and_kept() {
    let agent = agent(16 << 20);
    // About 3 MB: a dozen batches.
    let body = msgpack_payload(3_000, 900);
    receive(
        &agent,
        Version::V04,
        Some("application/msgpack"),
        false,
        body,
    )
    .expect("accepted");
    assert_eq!(counter(&agent, "traces.spans"), 3_000);
    assert_eq!(counter(&agent, "traces.received"), 3_000);
    assert_eq!(hits(&agent), 3_000.0);
    assert_eq!(agent.traces.lock().len(), 3_000);
    let q = TraceQuery {
        limit: Some(1000),
        ..TraceQuery::default()
    };
    let found = agent.traces.lock().search(&q);
    assert_eq!(found.len(), 1000);
    assert_eq!(found[0].trace_id, "3000", "newest first");
}

#[test]
fn a_payload_refused_half_way_leaves_nothing_behind() {
    let agent = agent(16 << 20);
    let mut list: Vec<Vec<serde_json::Value>> = (1..=3_000).map(|id| vec![span(id, 900)]).collect();
    // The last trace's span is a number, not a map: it fails in the last batch only.
    list.push(vec![serde_json::json!(7)]);
    let body = rmp_serde::to_vec_named(&list).expect("msgpack");
    let err = receive(
        &agent,
        Version::V04,
        Some("application/msgpack"),
        false,
        body,
    )
    .expect_err("refused");
    assert_eq!(err.reason(), "invalid_msgpack");
    assert_eq!(counter(&agent, "traces.rejected.invalid_msgpack"), 1);
    assert_eq!(counter(&agent, "traces.spans"), 0);
    assert_eq!(hits(&agent), 0.0);
    assert_eq!(agent.traces.lock().len(), 0);
}

#[test]
fn only_the_newest_traces_that_fit_are_kept_and_they_outlive_their_body() {
    let agent = agent(100_000);
    receive(
        &agent,
        Version::V04,
        Some("application/msgpack"),
        false,
        msgpack_payload(1_000, 900),
    )
    .expect("accepted");
    let traces = agent.traces.lock();
    assert!(traces.bytes() <= 100_000, "{} bytes", traces.bytes());
    let kept = traces.len();
    assert!((50..100).contains(&kept), "{kept} traces kept");
    assert!(traces.get(1_000).is_some() && traces.get(1_000 - kept as u64).is_none());
    let spans = serde_json::to_value(traces.get(1_000).expect("kept")).expect("serializes");
    assert_eq!(spans[0]["meta"]["http.status_code"], "200");
    assert_eq!(spans[0]["metrics"]["_top_level"], 1.0);
    assert_eq!(hits(&agent), 1_000.0, "every trace counted, kept or not");
}

#[test]
fn json_and_truncated_payloads_are_kept_as_v04_and_found() {
    let agent = agent(16 << 20);
    let list: Vec<Vec<serde_json::Value>> = vec![vec![span(1, 10)], vec![span(2, 30_000)]];
    let body = serde_json::to_vec(&list).expect("JSON");
    receive(&agent, Version::V04, Some("application/json"), false, body).expect("accepted");
    assert_eq!(counter(&agent, "traces.spans_truncated"), 1);
    let traces = agent.traces.lock();
    let found = traces.search(&TraceQuery {
        status: Some("200".into()),
        env: Some("dev".into()),
        ..TraceQuery::default()
    });
    assert_eq!(found.len(), 2);
    let spans = serde_json::to_value(traces.get(2).expect("kept")).expect("serializes");
    let big = spans[0]["meta"]["big"].as_str().unwrap_or_default();
    assert!(big.ends_with("...") && big.len() == 25_003, "{}", big.len());
}
