//! The payloads pass Datadog's own test agent with all its trace checks on.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::Lab;
use lab_testkit::test_agent::TestAgent;
use lab_testkit::wait_for;

#[test]
fn datadogs_test_agent_accepts_every_payload() {
    let agent = TestAgent::start();
    let lab = Lab::start(Some(agent.url("")), &[]);
    for path in ["/", "/slow?ms=20", "/error", "/burn?ms=2", "/"] {
        lab.get(path);
    }
    lab.stop();

    // Five traces: the test agent joins inventory's chunks to the traces of /slow and /error.
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
            let service = span["service"].as_str().unwrap_or_default();
            assert!(matches!(service, "demo-service" | "inventory"), "{span}");
            assert_eq!(span["meta"]["env"], "test", "{span}");
            assert_eq!(span["meta"]["version"], "9.9", "{span}");
            if span["meta"]["span.kind"] == "server" {
                let resource = span["resource"].as_str().unwrap_or_default();
                resources.insert(format!("{service} {resource}"));
            }
        }
    }
    assert_eq!(
        spans,
        5 + 1 + 2 * 3,
        "five server spans, the burn of /burn, and for /slow and /error the call, inventory's span and the query"
    );
    assert_eq!(
        resources,
        BTreeSet::from(
            [
                "demo-service GET /",
                "demo-service GET /slow",
                "demo-service GET /error",
                "demo-service GET /burn",
                "inventory GET /items",
                "inventory POST /reservations",
            ]
            .map(String::from)
        )
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
