//! Dashboards through Datadog's dashboard API, driven by Datadog's own Python client
//! (`datadog-api-client`, DashboardsApi) against the real binary: list, create, get; every
//! field of a definition comes back; dashboards from the folder are read-only (403); bad
//! definitions are refused with their JSON path and leave the others loaded; API dashboards
//! survive a restart.

mod common;

use std::path::Path;

use common::Agent;
use lab_testkit::test_agent::lab_python;
use serde_json::{json, Value};

const FIXTURE: &str = include_str!("fixtures/dashboards/datadog-example.json");

/// Runs `script` with the lab's Python (the venv holding datadog-api-client), `API` set to
/// agent-lite's URL; its stdout read as JSON.
fn python(agent: &Agent, script: &str) -> Value {
    let prelude = format!(
        "import json, sys\nfrom datadog_api_client import ApiClient, Configuration\n\
         from datadog_api_client.v1.api.dashboards_api import DashboardsApi\n\
         from datadog_api_client.v1.model.dashboard import Dashboard\n\
         cfg = Configuration(host={:?})\ncfg.api_key['apiKeyAuth'] = 'lab'\ncfg.api_key['appKeyAuth'] = 'lab'\n",
        agent.api_url("")
    );
    let out = std::process::Command::new(lab_python())
        .args(["-c", &format!("{prelude}{script}")])
        .output()
        .expect("the lab's python (run tests/setup)");
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("the script prints JSON")
}

fn send(agent: &Agent, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let url = agent.api_url(path);
    let req = match method {
        "POST" => agent.http.post(url),
        "PUT" => agent.http.put(url),
        "DELETE" => agent.http.delete(url),
        _ => agent.http.get(url),
    };
    let req = match body {
        Some(b) => req.json(b),
        None => req,
    };
    let res = req.send().expect("agent-lite answers");
    let status = res.status().as_u16();
    (status, res.json().unwrap_or(Value::Null))
}

fn start(dir: &Path, state: &Path) -> Agent {
    Agent::start(&[
        ("AGENT_LITE_DASHBOARDS_DIR", dir.display().to_string()),
        ("AGENT_LITE_STATE_DIR", state.display().to_string()),
    ])
}

/// Every field of `sent` is in `got`, with the same value (Datadog adds its own fields).
fn assert_kept(sent: &Value, got: &Value, path: &str) {
    match (sent, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let g = b.get(k).unwrap_or_else(|| panic!("{path}.{k} was dropped"));
                assert_kept(v, g, &format!("{path}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{path}: length");
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_kept(x, y, &format!("{path}[{i}]"));
            }
        }
        _ => assert_eq!(sent, got, "{path}"),
    }
}

#[test]
fn datadogs_client_lists_creates_and_reads_dashboards() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (dir, state) = (tmp.path().join("dashboards"), tmp.path().join("state"));
    std::fs::create_dir(&dir).expect("folder");
    let mut in_file: Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
    in_file["id"] = json!("abc-def-ghi");
    std::fs::write(dir.join("example.json"), in_file.to_string()).expect("fixture");
    std::fs::write(
        dir.join("broken.json"),
        r#"{"title": "no layout", "widgets": []}"#,
    )
    .expect("broken");
    let agent = start(&dir, &state);

    // The client creates a dashboard from the example, reads it back and lists.
    let script = "from datadog_api_client.v1.model.widget import Widget
from datadog_api_client.v1.model.timeseries_widget_definition import TimeseriesWidgetDefinition
from datadog_api_client.v1.model.timeseries_widget_definition_type import TimeseriesWidgetDefinitionType
from datadog_api_client.v1.model.timeseries_widget_request import TimeseriesWidgetRequest
from datadog_api_client.v1.model.widget_marker import WidgetMarker
from datadog_api_client.v1.model.dashboard_layout_type import DashboardLayoutType
body = Dashboard(title='Made by the client', layout_type=DashboardLayoutType.ORDERED, widgets=[
    Widget(definition=TimeseriesWidgetDefinition(type=TimeseriesWidgetDefinitionType.TIMESERIES,
        requests=[TimeseriesWidgetRequest(q='avg:system.cpu.user{*}')],
        markers=[WidgetMarker(value='y = 80', display_type='error dashed')]))])
with ApiClient(cfg) as c:
    api = DashboardsApi(c)
    made = api.create_dashboard(body=body)
    got = api.get_dashboard(dashboard_id=made.id)
    listed = api.list_dashboards()
print(json.dumps({'id': made.id, 'url': made.url, 'title': got.title, 'widgets': len(got.widgets),
    'marker': got.widgets[0].definition.markers[0].value,
    'listed': sorted(d.title for d in listed.dashboards), 'layout': str(got.layout_type)}))
";
    let out = python(&agent, script);
    let id = out["id"].as_str().expect("an id");
    assert!(
        id.len() == 11 && id.split('-').all(|g| g.len() == 3),
        "Datadog's id form: {id}"
    );
    assert_eq!(out["url"], format!("/dashboard/{id}/made-by-the-client"));
    assert_eq!(out["title"], "Made by the client");
    assert_eq!(out["widgets"], 1);
    assert_eq!(out["marker"], "y = 80");
    assert_eq!(out["layout"], "ordered");
    assert_eq!(
        out["listed"],
        json!([
            "Example: timeseries both forms, markers, template variables, a group",
            "Made by the client"
        ])
    );

    // What was sent comes back, the fields the page does not draw included.
    let mut sent: Value = serde_json::from_str(FIXTURE).expect("fixture JSON");
    sent["unknown_to_agent_lite"] = json!({"kept": [1, 2, 3]});
    let (status, made) = send(&agent, "POST", "/api/v1/dashboard", Some(&sent));
    assert_eq!(status, 200, "{made}");
    let (_, got) = send(
        &agent,
        "GET",
        &format!(
            "/api/v1/dashboard/{}",
            made["id"].as_str().unwrap_or_default()
        ),
        None,
    );
    let mut without_ids = got.clone();
    assert_kept(&sent, strip_widget_ids(&mut without_ids), "$");

    // The folder's dashboard is read-only; the broken file is refused, the other loaded.
    let (_, list) = send(&agent, "GET", "/api/v1/dashboard", None);
    assert!(
        list["dashboards"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d["id"] == "abc-def-ghi"),
        "the folder's dashboard keeps its exported id: {list}"
    );
    let file_id = "abc-def-ghi";
    let (status, body) = send(
        &agent,
        "DELETE",
        &format!("/api/v1/dashboard/{file_id}"),
        None,
    );
    assert_eq!(status, 403, "{body}");
    let (status, _) = send(
        &agent,
        "PUT",
        &format!("/api/v1/dashboard/{file_id}"),
        Some(&sent),
    );
    assert_eq!(status, 403);
    let (_, st) = agent.get("/status");
    let refused = st["dashboards"]["refused"].to_string();
    assert!(
        refused.contains("broken.json") && refused.contains("layout_type"),
        "{refused}"
    );

    // Bad definitions: each refused with its path and reason; nothing else changes.
    let bad = [
        (
            json!({"layout_type": "ordered", "widgets": []}),
            "$: missing field `title`",
        ),
        (
            json!({"title": "t", "layout_type": "ordered", "widgets": [{"definition": {"type": "timeseries", "requests": [{"q": 5}]}}]}),
            "widgets[0].definition.requests[0].q: invalid type",
        ),
        (
            json!({"title": "t", "layout_type": "ordered", "widgets": [{"definition": {"type": "group", "layout_type": "ordered", "widgets": [{"definition": {"type": "note"}}]}}]}),
            "widgets[0].definition.widgets[0].definition: missing field `content`",
        ),
        (
            json!({"title": "t", "layout_type": "ordered", "widgets": [{"definition": {"type": "query_value", "requests": [{"q": "avg:x{*}", "conditional_formats": [{"comparator": "~", "value": 1, "palette": "red"}]}]}}]}),
            "widgets[0].definition.requests[0].conditional_formats[0].comparator: unknown variant",
        ),
    ];
    for (body, reason) in bad {
        let (status, answer) = send(&agent, "POST", "/api/v1/dashboard", Some(&body));
        assert_eq!(status, 400, "{answer}");
        let msg = answer["errors"][0].as_str().unwrap_or_default();
        assert!(
            msg.starts_with(reason),
            "{msg:?} should start with {reason:?}"
        );
    }
    let (_, after) = send(&agent, "GET", "/api/v1/dashboard", None);
    assert_eq!(after["dashboards"].as_array().map(Vec::len), Some(3));

    // A widget type the page does not draw is kept.
    let unknown = json!({"title": "heatmap", "layout_type": "ordered", "widgets": [{"definition": {"type": "heatmap", "requests": [{"q": "avg:x{*}"}]}}]});
    let (status, made_unknown) = send(&agent, "POST", "/api/v1/dashboard", Some(&unknown));
    assert_eq!(status, 200, "{made_unknown}");

    // PUT changes, DELETE removes, and what the API made survives a restart.
    let mut changed = sent.clone();
    changed["title"] = json!("Renamed");
    let mid = made["id"].as_str().unwrap_or_default().to_owned();
    let (status, put) = send(
        &agent,
        "PUT",
        &format!("/api/v1/dashboard/{mid}"),
        Some(&changed),
    );
    assert_eq!((status, put["title"].clone()), (200, json!("Renamed")));
    assert_eq!(put["created_at"], made["created_at"]);
    let uid = made_unknown["id"].as_str().unwrap_or_default().to_owned();
    let (status, del) = send(&agent, "DELETE", &format!("/api/v1/dashboard/{uid}"), None);
    assert_eq!((status, del), (200, json!({"deleted_dashboard_id": uid})));
    let (status, _) = send(&agent, "GET", &format!("/api/v1/dashboard/{uid}"), None);
    assert_eq!(status, 404);
    drop(agent);
    let agent = start(&dir, &state);
    let (status, again) = send(&agent, "GET", &format!("/api/v1/dashboard/{mid}"), None);
    assert_eq!((status, again["title"].clone()), (200, json!("Renamed")));
    let (status, _) = send(&agent, "GET", &format!("/api/v1/dashboard/{id}"), None);
    assert_eq!(status, 200, "the client's dashboard is kept too");
}

/// The widget ids agent-lite adds (Datadog numbers widgets too), taken out to compare.
fn strip_widget_ids(v: &mut Value) -> &Value {
    if let Some(list) = v.get_mut("widgets").and_then(Value::as_array_mut) {
        for w in list {
            if let Some(o) = w.as_object_mut() {
                o.remove("id");
            }
            if let Some(d) = w.get_mut("definition") {
                strip_widget_ids(d);
            }
        }
    }
    v
}

/// The lab's own dashboards (compose/dashboards/) load whole, none refused.
#[test]
fn the_labs_dashboards_load() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compose/dashboards");
    let agent = start(&dir, tmp.path());
    let (_, st) = agent.get("/status");
    assert_eq!(st["dashboards"]["refused"], json!([]), "{st}");
    let (_, list) = send(&agent, "GET", "/api/v1/dashboard", None);
    let mut titles: Vec<&str> = list["dashboards"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["title"].as_str())
        .collect();
    titles.sort_unstable();
    assert_eq!(titles, ["Lab: APM service", "Lab: infrastructure"]);
}
