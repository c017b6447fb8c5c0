//! The payloads pass Datadog's own test agent with all its trace checks on.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::Service;
use lab_testkit::test_agent::TestAgent;
use lab_testkit::wait_for;

#[test]
fn datadogs_test_agent_accepts_every_payload() {
    let agent = TestAgent::start();
    let svc = Service::start(&[("DD_TRACE_AGENT_URL", agent.url(""))]);
    for path in ["/", "/slow?ms=20", "/error", "/burn?ms=2", "/"] {
        svc.get(path);
    }
    svc.stop();

    let traces = wait_for(
        "five traces at the test agent",
        Duration::from_secs(20),
        || {
            let t = agent.get_json("/test/traces");
            (t.as_array().map(Vec::len) == Some(5)).then_some(t)
        },
    );
    let mut resources = BTreeSet::new();
    let mut spans = 0;
    for trace in traces.as_array().into_iter().flatten() {
        for span in trace.as_array().into_iter().flatten() {
            spans += 1;
            assert_eq!(span["service"], "demo-service", "{span}");
            assert_eq!(span["meta"]["env"], "test", "{span}");
            assert_eq!(span["meta"]["version"], "9.9", "{span}");
            if span["meta"]["span.kind"] == "server" {
                resources.insert(span["resource"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    assert_eq!(
        spans,
        5 + 3 + 1,
        "five server spans, the three steps of /slow, the burn of /burn"
    );
    assert_eq!(
        resources,
        BTreeSet::from(["GET /", "GET /slow", "GET /error", "GET /burn"].map(String::from))
    );
    if let Err(failures) = agent.check_failures() {
        panic!("the test agent's trace checks failed:\n{failures}");
    }
    let summary = agent.get_json("/test/trace_check/summary?return_all=true");
    let passed: u64 = summary
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, v)| v["Passed_Checks"].as_u64().unwrap_or(0))
        .sum();
    assert!(passed > 0, "the checks ran: {summary}");
}
