//! Monitors live: definitions from a folder and through the API, an error burst against the
//! demo-service making the error-rate monitor fire and recover, with its events and webhooks.

mod common;

use std::time::Duration;

use common::{Agent, DemoService};
use lab_testkit::webhook_sink::WebhookSink;
use lab_testkit::{free_port, wait_for};
use serde_json::{json, Value};

const ERROR_RATE: &str = "sum(last_20s):sum:trace.http.server.request.errors{service:demo-service}.as_count() / sum:trace.http.server.request.hits{service:demo-service}.as_count() > 0.05";

fn monitor_state(agent: &Agent, id: u64) -> Value {
    let (status, m) = agent.get(&format!("/api/v1/monitor/{id}"));
    assert_eq!(status, 200, "{m}");
    m
}

#[test]
fn an_error_burst_fires_the_error_rate_monitor_and_it_recovers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = tempfile::tempdir().expect("state dir");
    std::fs::write(
        dir.path().join("error-rate.json"),
        json!({
            "id": 42,
            "name": "demo-service error rate",
            "type": "query alert",
            "query": ERROR_RATE,
            "message": "{{#is_alert}}Error rate {{value}} over {{threshold}}{{/is_alert}}{{#is_recovery}}Errors are back to normal{{/is_recovery}}",
            "tags": ["team:lab"],
            "priority": 2,
            "options": {"thresholds": {"critical": 0.05}, "notify_no_data": false}
        })
        .to_string(),
    )
    .expect("write the monitor");
    let hook = WebhookSink::start();
    // The first delivery fails: agent-lite must retry it.
    hook.fail_next(1);
    let agent = Agent::start(&[
        ("AGENT_LITE_MONITORS_DIR", dir.path().display().to_string()),
        ("AGENT_LITE_STATE_DIR", state.path().display().to_string()),
        ("AGENT_LITE_MONITOR_INTERVAL_SECS", "1".into()),
        (
            "AGENT_LITE_WEBHOOKS",
            format!(
                "lab={},gone=http://127.0.0.1:{}/hook",
                hook.url(),
                free_port()
            ),
        ),
    ]);
    assert_eq!(monitor_state(&agent, 42)["overall_state"], "OK");

    let mut svc = DemoService::start(&agent, &[], None);
    // The burst: a third of the requests fail, with the database's refusal (500), not an
    // unreachable inventory (503).
    for i in 0..60 {
        let (path, want) = if i % 3 == 0 {
            ("/error", 500)
        } else {
            ("/", 200)
        };
        assert_eq!(svc.get(path), want, "{path}");
    }
    wait_for("the monitor in Alert", Duration::from_secs(40), || {
        (monitor_state(&agent, 42)["overall_state"] == "Alert").then_some(())
    });
    // Calm traffic until the errors leave the 20 s window.
    wait_for("the monitor back to OK", Duration::from_secs(90), || {
        svc.get("/");
        std::thread::sleep(Duration::from_millis(200));
        (monitor_state(&agent, 42)["overall_state"] == "OK").then_some(())
    });
    svc.stop();

    let (_, events) = agent.get("/api/v1/events");
    let titles: Vec<&str> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["title"].as_str())
        .collect();
    assert!(
        titles.contains(&"[Triggered] demo-service error rate"),
        "{titles:?}"
    );
    assert!(
        titles.contains(&"[Recovered] demo-service error rate"),
        "{titles:?}"
    );

    wait_for("both webhooks delivered", Duration::from_secs(30), || {
        (hook.bodies().len() >= 2).then_some(())
    });
    let bodies = hook.bodies();
    assert_eq!(bodies[0]["transition"], "Triggered");
    assert_eq!(bodies[0]["alert_id"], "42");
    assert_eq!(bodies[0]["priority"], "P2");
    assert_eq!(bodies[0]["threshold"], 0.05);
    assert!(bodies[0]["value"].as_f64().is_some_and(|v| v > 0.05));
    assert!(bodies[0]["body"]
        .as_str()
        .is_some_and(|b| b.starts_with("Error rate 0.")));
    assert!(bodies[0]["tags"]
        .as_str()
        .is_some_and(|t| t.contains("team:lab")));
    assert_eq!(bodies[1]["transition"], "Recovered");
    assert_eq!(bodies[1]["body"], "Errors are back to normal");

    let (_, history) = agent.get("/api/v0/monitors/42/history");
    let moves: Vec<(&str, &str)> = history["transitions"]
        .as_array()
        .expect("transitions")
        .iter()
        .map(|t| {
            (
                t["from"].as_str().unwrap_or(""),
                t["to"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(moves, vec![("OK", "Alert"), ("Alert", "OK")]);
    assert!(
        std::fs::read_to_string(state.path().join("monitor-history.jsonl"))
            .is_ok_and(|h| h.lines().count() == 2)
    );
}

#[test]
fn the_monitor_api_speaks_datadogs_shape() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("cpu.json"),
        r#"{"name": "High CPU", "type": "metric alert", "query": "avg(last_5m):avg:system.cpu.user{*} by {host} > 80",
            "message": "High CPU usage detected on {{host.name}}", "options": {"require_full_window": true}}"#,
    )
    .expect("write");
    std::fs::write(
        dir.path().join("broken.json"),
        r#"{"name": "Broken", "type": "metric alert", "query": "avg(last_5m):avg:x{*} >"}"#,
    )
    .expect("write");
    let agent = Agent::start(&[("AGENT_LITE_MONITORS_DIR", dir.path().display().to_string())]);

    let (_, list) = agent.get("/api/v1/monitor");
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "High CPU");
    assert_eq!(list[0]["options"]["require_full_window"], true);
    assert_eq!(list[0]["multi"], true);
    let (_, status) = agent.get("/status");
    let refused = &status["monitors"]["refused"][0];
    assert!(
        refused["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("broken.json")),
        "{status}"
    );
    assert!(
        refused["error"]
            .as_str()
            .is_some_and(|e| e.contains("threshold")),
        "{status}"
    );

    let id = list[0]["id"].as_u64().expect("an id");
    let res = agent
        .http
        .delete(agent.api_url(&format!("/api/v1/monitor/{id}")))
        .send()
        .expect("delete");
    assert_eq!(
        res.status(),
        403,
        "a monitor from a file is edited in its file"
    );

    let new = json!({"name": "Queue", "type": "query alert", "query": "max(last_1m):max:lab.queue{*} > 10", "options": {"thresholds": {"critical": 10, "warning": 5}}});
    let created: Value = agent
        .http
        .post(agent.api_url("/api/v1/monitor"))
        .json(&new)
        .send()
        .expect("create")
        .json()
        .expect("JSON");
    let new_id = created["id"].as_u64().expect("the new id");
    assert_eq!(created["overall_state"], "OK");
    let bad = agent
        .http
        .post(agent.api_url("/api/v1/monitor/validate"))
        .json(&json!({"name": "x", "type": "query alert", "query": "avg(last_5m):avg:x{*} > 1", "options": {"thresholds": {"critical": 2}}}))
        .send()
        .expect("validate");
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().expect("JSON");
    assert!(
        body["errors"][0]
            .as_str()
            .is_some_and(|e| e.contains("differs")),
        "{body}"
    );

    // The file changes: the refused definition is fixed and loads, without a restart.
    std::fs::write(
        dir.path().join("broken.json"),
        r#"{"name": "Fixed", "type": "metric alert", "query": "avg(last_5m):avg:x{*} > 1"}"#,
    )
    .expect("write");
    wait_for("the fixed file loaded", Duration::from_secs(20), || {
        let (_, list) = agent.get("/api/v1/monitor?name=Fixed");
        (list.as_array().map(Vec::len) == Some(1)).then_some(())
    });
    let deleted: Value = agent
        .http
        .delete(agent.api_url(&format!("/api/v1/monitor/{new_id}")))
        .send()
        .expect("delete")
        .json()
        .expect("JSON");
    assert_eq!(deleted["deleted_monitor_id"], new_id);
    let (status, _) = agent.get(&format!("/api/v1/monitor/{new_id}"));
    assert_eq!(status, 404);
}
