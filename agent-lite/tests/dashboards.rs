//! Dashboards through Datadog's dashboard API, driven by Datadog's own Python client
//! (`datadog-api-client`, DashboardsApi) against the real binary: list, create, get; every
//! field of a definition comes back, for each of Datadog's published examples
//! (`tests/fixtures/dashboards/`); dashboards from the folder are read-only (403, and
//! `is_read_only`), reloaded when a file changes; bad definitions are refused with their JSON
//! path and leave the others loaded; API dashboards survive a restart with their times.

mod common;
#[path = "fixtures/dashboard_fixtures.rs"]
mod dashboard_fixtures;

use std::path::Path;
use std::time::Duration;

use common::Agent;
use lab_testkit::test_agent::lab_python;
use lab_testkit::wait_for;
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
    assert_ne!(
        put["modified_at"], made["modified_at"],
        "an update is a change"
    );
    let (_, file_before) = send(&agent, "GET", &format!("/api/v1/dashboard/{file_id}"), None);
    let uid = made_unknown["id"].as_str().unwrap_or_default().to_owned();
    let (status, del) = send(&agent, "DELETE", &format!("/api/v1/dashboard/{uid}"), None);
    assert_eq!((status, del), (200, json!({"deleted_dashboard_id": uid})));
    let (status, _) = send(&agent, "GET", &format!("/api/v1/dashboard/{uid}"), None);
    assert_eq!(status, 404);
    drop(agent);
    let agent = start(&dir, &state);
    let (status, again) = send(&agent, "GET", &format!("/api/v1/dashboard/{mid}"), None);
    assert_eq!((status, again["title"].clone()), (200, json!("Renamed")));
    // A restart changes nothing a user changed: the times stay those of the last update.
    for key in ["created_at", "modified_at"] {
        assert_eq!(again[key], put[key], "{key} across a restart");
    }
    let (_, file_after) = send(&agent, "GET", &format!("/api/v1/dashboard/{file_id}"), None);
    for key in ["created_at", "modified_at", "is_read_only"] {
        assert_eq!(
            file_after[key], file_before[key],
            "the file's {key} across a restart"
        );
    }
    assert_eq!(
        file_after["is_read_only"], true,
        "a file dashboard says it is read-only"
    );
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
    // The ids the page finds them by (lib/lab_dashboards.js), read-only as files are.
    for id in ["4an-id5-138", "3lc-jw4-q0n"] {
        let (status, d) = send(&agent, "GET", &format!("/api/v1/dashboard/{id}"), None);
        assert_eq!(
            (status, d["is_read_only"].clone()),
            (200, json!(true)),
            "{id}: {d}"
        );
    }
}

/// Makes the SLO the SLO widget's fixture names, as Datadog's tests make one first.
fn make_slo(agent: &Agent) -> String {
    let (status, made) = send(
        agent,
        "POST",
        "/api/v1/slo",
        Some(&dashboard_fixtures::slo_body()),
    );
    assert_eq!(status, 200, "{made}");
    made["data"][0]["id"]
        .as_str()
        .expect("an SLO id")
        .to_owned()
}

/// Each of Datadog's published examples is created, comes back with every field it had, and
/// is read by Datadog's client into its own models; in the folder, each loads read-only.
#[test]
fn datadogs_published_examples_round_trip() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (dir, state) = (tmp.path().join("dashboards"), tmp.path().join("state"));
    std::fs::create_dir(&dir).expect("folder");
    let agent = start(&dir, &state);
    let slo_id = make_slo(&agent);
    let fixtures = dashboard_fixtures::all(&slo_id);
    let mut ids = Vec::new();
    for f in &fixtures {
        let (status, made) = send(&agent, "POST", "/api/v1/dashboard", Some(&f.body));
        assert_eq!(status, 200, "{}: {made}", f.name);
        let id = made["id"].as_str().expect("an id").to_owned();
        let (status, mut got) = send(&agent, "GET", &format!("/api/v1/dashboard/{id}"), None);
        assert_eq!(status, 200, "{}", f.name);
        assert_kept(&f.body, strip_widget_ids(&mut got), &f.name);
        assert_eq!(
            got["is_read_only"],
            f.body.get("is_read_only").cloned().unwrap_or(json!(false))
        );
        ids.push(id);
    }
    // Datadog's client reads every one of them into its models (it checks the types).
    let script = format!(
        "with ApiClient(cfg) as c:\n    api = DashboardsApi(c)\n    got = [api.get_dashboard(dashboard_id=i) for i in {ids:?}]\n\
         print(json.dumps([[d.title, [str(w.definition.type) for w in d.widgets]] for d in got]))\n"
    );
    let out = python(&agent, &script);
    for (f, (got, _)) in fixtures
        .iter()
        .zip(out.as_array().into_iter().flatten().zip(&ids))
    {
        assert_eq!(got[0], f.body["title"], "{}", f.name);
        let types: Vec<String> = got[1]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t.as_str().unwrap_or_default().to_owned())
            .collect();
        let top: Vec<String> = f.body["widgets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                w["definition"]["type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(types, top, "{}", f.name);
    }

    // The same files in the folder: every one loads, none refused, each read-only.
    for f in &fixtures {
        std::fs::write(dir.join(format!("{}.json", f.name)), f.body.to_string()).expect("fixture");
    }
    let listed = wait_for(
        "the folder's fixtures loaded",
        Duration::from_secs(30),
        || {
            let (_, list) = send(&agent, "GET", "/api/v1/dashboard", None);
            let from_files: Vec<Value> = list["dashboards"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["is_read_only"] == true)
                .cloned()
                .collect();
            (from_files.len() == fixtures.len()).then_some(from_files)
        },
    );
    assert_eq!(listed.len(), fixtures.len());
    let (_, st) = agent.get("/status");
    assert_eq!(st["dashboards"]["refused"], json!([]), "{st}");
}

/// A file changed, added or broken in the folder shows in the API and `/status` after the
/// 2 s poll; a file left alone keeps its times through the reload.
#[test]
fn a_changed_dashboard_file_is_reloaded() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let (dir, state) = (tmp.path().join("dashboards"), tmp.path().join("state"));
    std::fs::create_dir(&dir).expect("folder");
    let note = |title: &str| {
        json!({"title": title, "layout_type": "ordered",
               "widgets": [{"definition": {"type": "note", "content": title}}]})
        .to_string()
    };
    std::fs::write(dir.join("first.json"), note("First")).expect("first");
    std::fs::write(dir.join("kept.json"), note("Kept")).expect("kept");
    let agent = start(&dir, &state);
    let by_title = |agent: &Agent| -> Vec<(String, Value)> {
        let (_, list) = send(agent, "GET", "/api/v1/dashboard", None);
        let mut out: Vec<(String, Value)> = list["dashboards"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                (
                    d["title"].as_str().unwrap_or_default().to_owned(),
                    d.clone(),
                )
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    };
    let before = by_title(&agent);
    assert_eq!(
        before.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["First", "Kept"]
    );
    let kept_before = before[1].1.clone();

    // A file's times are those of the file: a rewrite is a later modification.
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::write(dir.join("first.json"), note("First, rewritten")).expect("rewrite");
    std::fs::write(dir.join("added.json"), note("Added")).expect("add");
    std::fs::write(
        dir.join("broken.json"),
        r#"{"title": "no widgets", "layout_type": "ordered"}"#,
    )
    .expect("broken");
    let after = wait_for("the folder reloaded", Duration::from_secs(30), || {
        let now = by_title(&agent);
        let titles: Vec<&str> = now.iter().map(|(t, _)| t.as_str()).collect();
        (titles == ["Added", "First, rewritten", "Kept"]).then_some(now)
    });
    let (_, st) = agent.get("/status");
    assert_eq!(st["dashboards"]["loaded"], 3, "{st}");
    let refused = st["dashboards"]["refused"].to_string();
    assert!(
        refused.contains("broken.json") && refused.contains("missing field `widgets`"),
        "{refused}"
    );
    let (rewritten, first_before) = (&after[1].1, &before[0].1);
    assert_eq!(
        rewritten["id"], first_before["id"],
        "a file keeps its id when it changes"
    );
    assert_eq!(after[2].1, kept_before, "a file left alone keeps its times");
    assert!(
        rewritten["modified_at"].as_str() > first_before["modified_at"].as_str(),
        "{rewritten} after {first_before}"
    );

    // Removing a file removes its dashboard.
    std::fs::remove_file(dir.join("added.json")).expect("remove");
    wait_for(
        "the removed file's dashboard gone",
        Duration::from_secs(30),
        || {
            let titles: Vec<String> = by_title(&agent).into_iter().map(|(t, _)| t).collect();
            (titles == ["First, rewritten", "Kept"]).then_some(())
        },
    );
}
