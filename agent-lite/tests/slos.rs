//! SLOs live: counts sent over DogStatsD to the real agent-lite give the SLI exact to the
//! unit; each SLO type through the API; Datadog's official Python client creating, listing
//! and reading SLOs and their history; bad definitions refused with the field and reason.

mod common;

use std::time::Duration;

use common::Agent;
use lab_testkit::process::ChildProcess;
use lab_testkit::test_agent::lab_python;
use lab_testkit::wait_for;
use serde_json::{json, Value};

const GOOD: &str =
    "sum:slo.requests{service:shop}.as_count() - sum:slo.errors{service:shop}.as_count()";
const TOTAL: &str = "sum:slo.requests{service:shop}.as_count()";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn post(agent: &Agent, path: &str, body: &Value) -> (u16, Value) {
    let res = agent
        .http
        .post(agent.api_url(path))
        .json(body)
        .send()
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = res.status().as_u16();
    (status, res.json().unwrap_or(Value::Null))
}

/// 1000 requests, 7 of them failed, over DogStatsD; waits until the store has them all.
fn send_shop_traffic(agent: &Agent) {
    for _ in 0..4 {
        agent.send_statsd("slo.requests:250|c|#service:shop");
    }
    agent.send_statsd("slo.errors:3|c|#service:shop");
    agent.send_statsd("slo.errors:4|c|#service:shop");
    // Another service's traffic, which the SLO's scope leaves out.
    agent.send_statsd("slo.requests:500|c|#service:other");
    agent.wait_total(TOTAL, 1000.0);
    agent.wait_total("sum:slo.errors{service:shop}.as_count()", 7.0);
}

fn history(agent: &Agent, id: &str) -> Value {
    let (from, to) = (now() - 600, now() + 60);
    let (status, h) = agent.get(&format!(
        "/api/v1/slo/{id}/history?from_ts={from}&to_ts={to}"
    ));
    assert_eq!(status, 200, "{h}");
    h["data"].clone()
}

#[test]
fn the_sli_of_counts_sent_over_dogstatsd_is_exact_and_the_folder_loads() {
    let dir = tempfile::tempdir().expect("slos dir");
    std::fs::write(
        dir.path().join("shop.json"),
        json!({
            "id": "shop-availability",
            "name": "shop availability",
            "type": "metric",
            "tags": ["team:lab"],
            "thresholds": [{"timeframe": "7d", "target": 99.0, "warning": 99.5},
                           {"timeframe": "30d", "target": 99.5}],
            "query": {"numerator": GOOD, "denominator": TOTAL}
        })
        .to_string(),
    )
    .expect("write the SLO");
    std::fs::write(
        dir.path().join("broken.json"),
        r#"{"name": "x", "type": "metric", "thresholds": []}"#,
    )
    .expect("write the broken SLO");
    let agent = Agent::start(&[("AGENT_LITE_SLOS_DIR", dir.path().display().to_string())]);
    send_shop_traffic(&agent);

    let data = history(&agent, "shop-availability");
    let lab = &data["agent_lite"];
    assert_eq!(
        (lab["good"].as_f64(), lab["total"].as_f64()),
        (Some(993.0), Some(1000.0)),
        "{data}"
    );
    assert_eq!(data["overall"]["sli_value"].as_f64(), Some(99.3));
    // 7 bad of the 10 a 99% target allows: 30% left; of the 5 a 99.5% allows: -40%.
    let left = &data["overall"]["error_budget_remaining"];
    assert!((left["7d"].as_f64().unwrap() - 30.0).abs() < 1e-9, "{left}");
    assert!(
        (left["30d"].as_f64().unwrap() + 40.0).abs() < 1e-9,
        "{left}"
    );
    assert_eq!(data["series"]["numerator"]["sum"].as_f64(), Some(993.0));
    assert_eq!(data["series"]["denominator"]["sum"].as_f64(), Some(1000.0));
    let values: f64 = data["series"]["denominator"]["values"]
        .as_array()
        .expect("values")
        .iter()
        .filter_map(Value::as_f64)
        .sum();
    assert_eq!(values, 1000.0, "the intervals add up to the total");
    let burn = data["agent_lite"]["burn_down"]["7d"]
        .as_array()
        .expect("burn-down");
    assert_eq!(burn.last().and_then(|p| p[1].as_f64()), left["7d"].as_f64());

    // The broken file is refused with its field, and shows in the status.
    let (_, status) = agent.get("/status");
    let refused = status["slos"]["refused"].to_string();
    assert!(
        refused.contains("broken.json") && refused.contains("thresholds"),
        "{refused}"
    );
    let (_, list) = agent.get("/api/v1/slo?tags_query=team:lab");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
}

#[test]
fn datadogs_official_client_creates_lists_and_reads_slos_and_their_history() {
    let state = tempfile::tempdir().expect("state dir");
    let agent = Agent::start(&[("AGENT_LITE_STATE_DIR", state.path().display().to_string())]);
    send_shop_traffic(&agent);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/slos/official_client.py");
    let (from, to) = (now() - 600, now() + 60);
    let mut py = ChildProcess::spawn(
        &lab_python().to_string_lossy(),
        &[
            script,
            &agent.api_url(""),
            &from.to_string(),
            &to.to_string(),
        ],
        &[],
    );
    let status = py.wait(Duration::from_secs(60));
    assert!(
        status.success(),
        "the official client failed: {:?}",
        py.stderr_lines()
    );
    let out: Value = py
        .stdout_lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("the client's JSON");
    let id = out["id"].as_str().expect("id").to_owned();
    assert_eq!(id.len(), 32, "a Datadog-like id: {id}");
    assert_eq!(out["listed"], json!([id]));
    assert_eq!(out["type"], "metric");
    assert_eq!(out["sli_value"].as_f64(), Some(99.3));
    assert_eq!(out["numerator_sum"].as_f64(), Some(993.0));
    assert_eq!(out["denominator_sum"].as_f64(), Some(1000.0));
    assert!((out["error_budget_remaining"]["7d"].as_f64().unwrap() - 30.0).abs() < 1e-9);

    // Saved in the state folder: a restart keeps it.
    assert!(state.path().join("slos.json").exists());
    drop(agent);
    let again = Agent::start(&[("AGENT_LITE_STATE_DIR", state.path().display().to_string())]);
    let (status, got) = again.get(&format!("/api/v1/slo/{id}"));
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["data"]["name"], "shop availability (official client)");
}

#[test]
fn each_slo_type_through_the_api_and_bad_definitions_refused() {
    let agent = Agent::start(&[("AGENT_LITE_MONITOR_INTERVAL_SECS", "1".into())]);
    // A monitor to base an SLO on.
    let (status, monitor) = post(
        &agent,
        "/api/v1/monitor",
        &json!({"name": "shop errors", "type": "query alert",
                "query": "sum(last_1m):sum:slo.errors{service:shop}.as_count() > 100",
                "options": {"thresholds": {"critical": 100}}}),
    );
    assert_eq!(status, 200, "{monitor}");
    let monitor_id = monitor["id"].as_u64().expect("monitor id");
    let (status, created) = post(
        &agent,
        "/api/v1/slo",
        &json!({"name": "shop up", "type": "monitor", "monitor_ids": [monitor_id],
                "thresholds": [{"timeframe": "7d", "target": 99.9}]}),
    );
    assert_eq!(status, 200, "{created}");
    let monitor_slo = created["data"][0]["id"].as_str().expect("id").to_owned();
    std::thread::sleep(Duration::from_secs(2));
    let data = history(&agent, &monitor_slo);
    assert_eq!(data["type_id"], 0);
    assert_eq!(data["overall"]["sli_value"].as_f64(), Some(100.0), "{data}");
    assert_eq!(data["monitors"][0]["name"], "shop errors");

    // Time slices: p95-like gauge over 0.5 s is a bad minute.
    agent.send_statsd("slo.latency:0.2|g|#service:shop");
    let (status, created) = post(
        &agent,
        "/api/v1/slo",
        &json!({"name": "shop latency", "type": "time_slice",
                "thresholds": [{"timeframe": "7d", "target": 99.0}],
                "sli_specification": {"time_slice": {"comparator": "<=", "threshold": 0.5,
                    "query_interval_seconds": 60,
                    "query": {"formulas": [{"formula": "query1"}],
                              "queries": [{"data_source": "metrics", "name": "query1",
                                           "query": "avg:slo.latency{service:shop}"}]}}}}),
    );
    assert_eq!(status, 200, "{created}");
    let slice_slo = created["data"][0]["id"].as_str().expect("id").to_owned();
    let data = history(&agent, &slice_slo);
    assert_eq!(data["type_id"], 2);
    assert_eq!(data["agent_lite"]["unit"], "slices");
    assert_eq!(data["overall"]["sli_value"].as_f64(), Some(100.0), "{data}");

    // Bad definitions: 400 naming the field and the reason.
    for (body, field) in [
        (
            json!({"type": "metric", "thresholds": [{"timeframe": "7d", "target": 99}], "query": {"numerator": TOTAL, "denominator": TOTAL}}),
            "name: is required",
        ),
        (
            json!({"name": "x", "type": "metric", "thresholds": [{"timeframe": "7d", "target": 99}], "query": {"numerator": TOTAL}}),
            "query.denominator: is required",
        ),
        (
            json!({"name": "x", "type": "metric", "thresholds": [{"timeframe": "1h", "target": 99}], "query": {"numerator": TOTAL, "denominator": TOTAL}}),
            "thresholds[0].timeframe",
        ),
        (
            json!({"name": "x", "type": "monitor", "monitor_ids": [999], "thresholds": [{"timeframe": "7d", "target": 99}]}),
            "monitor_ids[0]: monitor 999 does not exist",
        ),
    ] {
        let (status, answer) = post(&agent, "/api/v1/slo", &body);
        assert_eq!(status, 400, "{body} -> {answer}");
        let message = answer["errors"][0].as_str().unwrap_or_default();
        assert!(message.contains(field), "{message} should name {field}");
    }
    let (status, _) = agent.get("/api/v1/slo/nope/history?from_ts=1&to_ts=2");
    assert_eq!(status, 404);
    let (status, answer) = agent.get(&format!(
        "/api/v1/slo/{slice_slo}/history?from_ts=10&to_ts=5"
    ));
    assert_eq!(status, 400, "{answer}");
    let deleted = agent
        .http
        .delete(agent.api_url(&format!("/api/v1/slo/{slice_slo}")))
        .send()
        .expect("delete");
    assert_eq!(deleted.status(), 200);
    assert_eq!(agent.get(&format!("/api/v1/slo/{slice_slo}")).0, 404);
}

#[test]
fn a_burn_rate_monitor_goes_to_alert_on_an_error_burst_and_back_to_ok() {
    let dir = tempfile::tempdir().expect("slos dir");
    std::fs::write(
        dir.path().join("shop.json"),
        json!({"id": "shop-availability", "name": "shop availability", "type": "metric",
               "thresholds": [{"timeframe": "7d", "target": 99.0}],
               "query": {"numerator": GOOD, "denominator": TOTAL}})
        .to_string(),
    )
    .expect("write the SLO");
    let hook = lab_testkit::webhook_sink::WebhookSink::start();
    let agent = Agent::start(&[
        ("AGENT_LITE_SLOS_DIR", dir.path().display().to_string()),
        ("AGENT_LITE_MONITOR_INTERVAL_SECS", "1".into()),
        ("AGENT_LITE_WEBHOOKS", format!("lab={}", hook.url())),
    ]);
    // Datadog's windows are an hour and more: refused unless the definition says lab.
    let query =
        r#"burn_rate("shop-availability").over("7d").long_window("1m").short_window("10s") > 10"#;
    let monitor = json!({"name": "shop burns its budget", "type": "slo alert", "query": query,
                         "message": "{{#is_alert}}burn rate {{value}}{{/is_alert}}",
                         "options": {"thresholds": {"critical": 10}}});
    let (status, answer) = post(&agent, "/api/v1/monitor", &monitor);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.to_string().contains("lab_short_windows"), "{answer}");
    let mut lab = monitor.clone();
    lab["options"]["lab_short_windows"] = json!(true);
    let (status, created) = post(&agent, "/api/v1/monitor", &lab);
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_u64().expect("monitor id");
    let (_, slo) = agent.get("/api/v1/slo/shop-availability");
    assert_eq!(slo["data"]["configured_alert_ids"], json!([id]));

    // The burst: half of 100 requests fail, a burn rate of 50 over both windows.
    agent.send_statsd("slo.requests:100|c|#service:shop");
    agent.send_statsd("slo.errors:50|c|#service:shop");
    let state = |agent: &Agent| agent.get(&format!("/api/v1/monitor/{id}")).1;
    wait_for(
        "the burn-rate monitor in Alert",
        Duration::from_secs(30),
        || (state(&agent)["overall_state"] == "Alert").then_some(()),
    );
    // Good traffic only: the short window stops burning first, and both must burn.
    wait_for(
        "the burn-rate monitor back to OK",
        Duration::from_secs(60),
        || {
            agent.send_statsd("slo.requests:20|c|#service:shop");
            std::thread::sleep(Duration::from_millis(300));
            (state(&agent)["overall_state"] == "OK").then_some(())
        },
    );
    let (_, history) = agent.get(&format!("/api/v0/monitors/{id}/history"));
    let moves: Vec<&str> = history["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .filter_map(|t| t["transition"].as_str())
        .collect();
    assert_eq!(moves, ["Triggered", "Recovered"], "{history}");
    wait_for("both webhooks delivered", Duration::from_secs(20), || {
        (hook.bodies().len() >= 2).then_some(())
    });
    let (_, events) = agent.get("/api/v1/events");
    let titles = events.to_string();
    assert!(
        titles.contains("[Triggered] shop burns its budget"),
        "{titles}"
    );
}
