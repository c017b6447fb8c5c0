//! The service map from real traces: two Flask services under Python's ddtrace, one calling the
//! other over HTTP (ddtrace's requests integration propagates the trace) and that one querying
//! SQLite (ddtrace's sqlite3 integration), sent to the agent-lite binary; the map's nodes and
//! edges and the service page's downstream calls and queries read back exactly.

mod common;

use std::time::Duration;

use common::Agent;
use lab_testkit::process::ChildProcess;
use lab_testkit::test_agent::lab_python;
use lab_testkit::{free_port, wait_for};
use serde_json::Value;

fn start_service(agent: &Agent, role: &str, port: u16, extra: &[(&str, String)]) -> ChildProcess {
    let python = lab_python();
    let bin = python.parent().expect("venv bin");
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/two_services.py");
    let mut envs = vec![
        ("DD_SERVICE", role.to_owned()),
        ("DD_ENV", "test".into()),
        ("DD_VERSION", "1.0".into()),
        ("DD_TRACE_AGENT_URL", agent.apm_url("")),
        ("DD_INSTRUMENTATION_TELEMETRY_ENABLED", "false".into()),
        ("DD_REMOTE_CONFIGURATION_ENABLED", "false".into()),
        ("PORT", port.to_string()),
    ];
    envs.extend(extra.iter().cloned());
    let proc = ChildProcess::spawn(
        &bin.join("ddtrace-run").to_string_lossy(),
        &[&python.to_string_lossy(), &script.to_string_lossy()],
        &envs,
    );
    let http = reqwest::blocking::Client::new();
    let health = format!("http://127.0.0.1:{port}/health");
    wait_for(&format!("{role} up"), Duration::from_secs(60), || {
        http.get(&health)
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });
    proc
}

fn find(list: &Value, pred: impl Fn(&Value) -> bool) -> Option<&Value> {
    list.as_array()?.iter().find(|v| pred(v))
}

#[test]
fn pythons_ddtrace_across_two_services_and_sqlite_draws_the_map() {
    let agent = Agent::start(&[]);
    let (stock_port, front_port) = (free_port(), free_port());
    let mut stock = start_service(&agent, "stock", stock_port, &[]);
    let mut front = start_service(
        &agent,
        "frontend",
        front_port,
        &[("STOCK_URL", format!("http://127.0.0.1:{stock_port}"))],
    );
    let http = reqwest::blocking::Client::new();
    let checkout = |q: &str| {
        http.get(format!("http://127.0.0.1:{front_port}/checkout?{q}"))
            .send()
            .map(|r| r.status().as_u16())
            .expect("checkout")
    };
    for i in 0..8 {
        assert_eq!(checkout(&format!("sku={}", ["a", "b"][i % 2])), 200);
    }
    for _ in 0..2 {
        assert_eq!(checkout("sku=a&fail=1"), 502);
    }

    // ddtrace flushes every second; the map fills as both services' payloads arrive.
    let env = "test";
    let mut last = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let map = loop {
        let (status, map) = agent.get(&format!("/api/v0/service_map?env={env}"));
        assert_eq!(status, 200, "{map}");
        let count = |list: &str, pred: &dyn Fn(&Value) -> bool| {
            find(&map[list], pred).map(|v| v["requests"].clone())
        };
        // stock's setup queried too, before the checkouts; each service had its health check.
        let full = count("edges", &|e| e["from"] == "frontend" && e["to"] == "stock")
            == Some(10.into())
            && count("edges", &|e| e["from"] == "stock" && e["to"] == "sqlite")
                .and_then(|n| n.as_u64())
                > Some(10)
            && count("nodes", &|n| n["service"] == "frontend") == Some(11.into());
        if full {
            break map;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the map did not fill in 30 s: {last}"
        );
        last = map;
        std::thread::sleep(Duration::from_millis(300));
    };
    let edges = &map["edges"];
    let http_edge = find(edges, |e| e["from"] == "frontend" && e["to"] == "stock").expect("edge");
    assert_eq!(http_edge["errors"], 2, "{http_edge}");
    assert_eq!(http_edge["type"], "http");
    assert!(
        http_edge["p95_ms"].as_f64().is_some_and(|p| p > 0.0),
        "{http_edge}"
    );
    let db_edge = find(edges, |e| e["from"] == "stock" && e["to"] == "sqlite").expect("edge");
    assert_eq!(db_edge["errors"], 2, "{db_edge}");
    assert_eq!(db_edge["type"], "sql");
    assert_eq!(edges.as_array().map(Vec::len), Some(2), "{edges}");

    let nodes = &map["nodes"];
    let node = |name: &str| {
        find(nodes, |n| n["service"] == name)
            .unwrap_or_else(|| panic!("no node {name}: {nodes}"))
            .clone()
    };
    // The health checks are requests too: one for each service before the checkouts.
    let front_node = node("frontend");
    assert_eq!(
        (front_node["requests"].clone(), front_node["errors"].clone()),
        (11.into(), 2.into()),
        "{front_node}"
    );
    assert_eq!(front_node["kind"], "service");
    let stock_node = node("stock");
    assert_eq!(
        stock_node["requests"], 11,
        "10 calls and the health check: {stock_node}"
    );
    assert_eq!(stock_node["errors"], 2);
    let sqlite = node("sqlite");
    assert_eq!(
        (sqlite["kind"].clone(), sqlite["traced"].clone()),
        ("database".into(), false.into())
    );
    assert_eq!(
        sqlite["requests"], db_edge["requests"],
        "the calls made to it"
    );
    assert_eq!(
        nodes.as_array().map(Vec::len),
        Some(3),
        "no node for ddtrace's requests integration: {nodes}"
    );

    let (status, deps) = agent.get(&format!("/api/v0/services/stock/dependencies?env={env}"));
    assert_eq!(status, 200, "{deps}");
    assert_eq!(deps["downstream"][0]["to"], "sqlite", "{deps}");
    assert_eq!(deps["upstream"][0]["from"], "frontend", "{deps}");
    let queries = deps["queries"].as_array().expect("queries");
    let select = queries
        .iter()
        .find(|q| q["statement"] == "SELECT qty FROM stock WHERE sku = ?")
        .unwrap_or_else(|| panic!("the select, its literal normalised: {queries:?}"));
    assert_eq!(
        select["calls"], 8,
        "sku a and b are one statement: {select}"
    );
    assert_eq!(select["errors"], 0);
    let failing = queries
        .iter()
        .find(|q| q["statement"] == "SELECT qty FROM missing_table WHERE sku = ?")
        .unwrap_or_else(|| panic!("the failing select: {queries:?}"));
    assert_eq!(
        (failing["calls"].clone(), failing["errors"].clone()),
        (2.into(), 2.into())
    );
    let calls: u64 = queries.iter().filter_map(|q| q["calls"].as_u64()).sum();
    assert_eq!(
        Some(calls),
        db_edge["requests"].as_u64(),
        "every query is listed: {queries:?}"
    );
    let (_, front_deps) = agent.get(&format!("/api/v0/services/frontend/dependencies?env={env}"));
    assert_eq!(
        front_deps["downstream"].as_array().map(Vec::len),
        Some(1),
        "{front_deps}"
    );
    assert_eq!(front_deps["queries"].as_array().map(Vec::len), Some(0));

    let (status, _) = agent.get("/api/v0/service_map?from=200&to=100");
    assert_eq!(status, 400, "a window that ends before it starts");
    let (_, other_env) = agent.get("/api/v0/service_map?env=prod");
    assert_eq!(other_env["edges"].as_array().map(Vec::len), Some(0));

    front.terminate(Duration::from_secs(10));
    stock.terminate(Duration::from_secs(10));
}
