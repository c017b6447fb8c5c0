use super::decode::{decode, Version};
use crate::apm::SpanView;

fn json_payload(traces: u64) -> bytes::Bytes {
    let list: Vec<serde_json::Value> = (1..=traces)
        .map(|id| {
            serde_json::json!([{"service": "web", "name": "http.server.request", "resource": "GET /",
                "trace_id": id, "span_id": id, "start": 1, "duration": 2, "meta": {"env": "dev"}}])
        })
        .collect();
    serde_json::to_vec(&list).expect("JSON").into()
}

#[test]
fn only_the_newest_traces_that_fit_are_copied_for_the_store() {
    let body = json_payload(10);
    let decoded = decode(Version::V04, Some("application/json"), body.clone()).expect("decodes");
    assert_eq!((decoded.traces(), decoded.spans()), (10, 10));
    let one = {
        let d = decode(Version::V04, Some("application/json"), body.clone()).expect("decodes");
        d.newest_within(usize::MAX)[0].1
    };
    let kept = decoded.newest_within(3 * one);
    let ids: Vec<u64> = kept.iter().map(|(t, _)| t[0].trace_id64()).collect();
    assert_eq!(ids, vec![8, 9, 10], "the newest, oldest first");
    let body = json_payload(2);
    let d = decode(Version::V04, Some("application/json"), body.clone()).expect("decodes");
    assert_eq!(
        d.newest_within(1).len(),
        1,
        "a trace bigger than the store still keeps one"
    );
}

fn msgpack_payload(traces: u64) -> bytes::Bytes {
    let list: Vec<Vec<serde_json::Value>> = (1..=traces)
        .map(|id| {
            vec![
                serde_json::json!({"service": "web", "name": "http.server.request",
                "resource": "GET /", "trace_id": id, "span_id": id, "parent_id": 0, "start": 1,
                "duration": 2, "error": 0, "meta": {"env": "dev", "http.status_code": "200"},
                "metrics": {"_top_level": 1.0}}),
            ]
        })
        .collect();
    rmp_serde::to_vec_named(&list).expect("msgpack").into()
}

#[test]
fn kept_msgpack_spans_outlive_their_body_whether_shared_or_copied() {
    for (budget, what) in [
        (usize::MAX, "all kept: shared"),
        (3_000, "a few kept: copied"),
    ] {
        let decoded = decode(
            Version::V04,
            Some("application/msgpack"),
            msgpack_payload(50),
        )
        .expect("decodes");
        let kept = decoded.newest_within(budget);
        assert!(!kept.is_empty(), "{what}");
        let (last, bytes) = kept.last().expect("a trace");
        assert_eq!(last[0].trace_id64(), 50, "{what}");
        assert_eq!(last[0].meta("http.status_code"), Some("200"), "{what}");
        assert_eq!(last[0].metric("_top_level"), Some(1.0), "{what}");
        assert_eq!(*bytes, last[0].approx_bytes(), "{what}");
    }
}
