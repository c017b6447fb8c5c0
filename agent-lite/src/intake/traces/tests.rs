use super::decode::{decode, Version};
use crate::apm::SpanView;

fn json_payload(traces: u64) -> Vec<u8> {
    let list: Vec<serde_json::Value> = (1..=traces)
        .map(|id| {
            serde_json::json!([{"service": "web", "name": "http.server.request", "resource": "GET /",
                "trace_id": id, "span_id": id, "start": 1, "duration": 2, "meta": {"env": "dev"}}])
        })
        .collect();
    serde_json::to_vec(&list).expect("JSON")
}

#[test]
fn only_the_newest_traces_that_fit_are_copied_for_the_store() {
    let body = json_payload(10);
    let decoded = decode(Version::V04, Some("application/json"), &body).expect("decodes");
    assert_eq!((decoded.traces(), decoded.spans()), (10, 10));
    let one = {
        let d = decode(Version::V04, Some("application/json"), &body).expect("decodes");
        d.newest_within(usize::MAX)[0][0].approx_bytes()
    };
    let kept = decoded.newest_within(3 * one);
    let ids: Vec<u64> = kept.iter().map(|t| t[0].trace_id).collect();
    assert_eq!(ids, vec![8, 9, 10], "the newest, oldest first");
    let body = json_payload(2);
    let d = decode(Version::V04, Some("application/json"), &body).expect("decodes");
    assert_eq!(
        d.newest_within(1).len(),
        1,
        "a trace bigger than the store still keeps one"
    );
}
