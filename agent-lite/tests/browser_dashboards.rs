//! Dashboards on the page, in Debian's headless Chromium:
//! - each of Datadog's published examples (`tests/fixtures/dashboards/`) is drawn, every
//!   widget type by its module and an unknown type as a placeholder naming it;
//! - the lab's dashboards (`compose/dashboards/`) are drawn with every widget and every marker
//!   of their JSON, the Infrastructure view being infrastructure.json; without the folder the
//!   view says how to load it;
//! - a template variable changed on the page changes the queries the widgets send;
//! - a file dashboard is read-only: "Edit a copy" drafts a new one, whose query preview has
//!   the chosen template variables substituted, saved with POST;
//! - a dashboard is built from nothing (a timeseries, `avg:system.cpu.user{*}`, a marker,
//!   save), is there after a reload with its series drawn, and what the Export button gives
//!   is read by Datadog's own client into its models and accepted again by the API;
//! - a bad definition pasted into the import box is refused with its JSON path.
//!
//! The page's 10 s live refresh is turned off after each load, so that no re-render detaches
//! an element between two steps; what loads in the background is polled for.

mod common;
#[path = "fixtures/dashboard_fixtures.rs"]
mod dashboard_fixtures;

use std::time::{Duration, Instant};

use common::Agent;
use dashboard_fixtures::{lab_dashboard, marker_counts as markers, Fixture};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use futures_util::FutureExt as _;
use lab_testkit::test_agent::lab_python;
use lab_testkit::{free_port, wait_for};
use serde_json::{json, Value};

const EXAMPLE: &str = include_str!("fixtures/dashboards/datadog-example.json");
/// The ids agent-lite gives the lab's files (dashboards/id.rs `stable` of the file name).
const INFRASTRUCTURE_ID: &str = "4an-id5-138";
const APM_SERVICE_ID: &str = "3lc-jw4-q0n";
const DEADLINE: Duration = Duration::from_secs(30);

async fn page_text(c: &Client) -> String {
    let main = match c.find(Locator::Css("main")).await {
        Ok(m) => m.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let url = c
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    format!("{url}\n{main}")
}

/// Opens `url` and turns the live refresh off (a full load turns it back on).
async fn open(c: &Client, url: &str) {
    c.goto(url).await.expect(url);
    c.execute(
        "const live = document.getElementById('live'); if (live) live.checked = false;",
        vec![],
    )
    .await
    .expect("live refresh off");
}

async fn wait_text(c: &Client, css: &str, text: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if el.text().await.is_ok_and(|t| t.contains(text)) {
                return;
            }
        }
        if Instant::now() > deadline {
            panic!(
                "{css} never showed {text:?}; the page shows:\n{}",
                page_text(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits for the view's title to be exactly `title`.
async fn wait_title(c: &Client, title: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(el) = c.find(Locator::Css("#view h1")).await {
            if el.text().await.is_ok_and(|t| t.trim() == title) {
                return;
            }
        }
        if Instant::now() > deadline {
            panic!("the title never read {title:?}:\n{}", page_text(c).await);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn click(c: &Client, css: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        // Scrolled to the middle of the window first: at its top edge the page's sticky
        // header would take the click.
        let _ = c
            .execute(
                "const el = document.querySelector(arguments[0]); if (el) el.scrollIntoView({block: 'center'});",
                vec![json!(css)],
            )
            .await;
        let clicked = match c.find(Locator::Css(css)).await {
            Ok(el) => el.click().await.map(|_| ()),
            Err(e) => Err(e),
        };
        match clicked {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline => panic!("cannot click {css}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let el = c.find(Locator::Css(css)).await.expect(css);
    el.clear().await.expect("clear");
    el.send_keys(text).await.expect("type");
}

/// Chooses a template variable's value as a user does: select the input's text, type, Enter.
async fn choose_variable(c: &Client, name: &str, value: &str) {
    let el = c
        .find(Locator::Css(&format!(".tvar[data-var=\"{name}\"]")))
        .await
        .expect("the variable's input");
    el.send_keys(&format!(
        "{}a{}{value}{}",
        Key::Control,
        Key::Null,
        Key::Enter
    ))
    .await
    .expect("type the value");
}

/// The points drawn in the charts under `css`.
async fn points(c: &Client, css: &str) -> u64 {
    let mut points = 0;
    for el in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
        let p = el.attr("data-points").await.ok().flatten();
        points += p.and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
    }
    points
}

/// Waits until the charts under `css` have at least one point.
async fn wait_points(c: &Client, css: &str) {
    let deadline = Instant::now() + DEADLINE;
    while points(c, css).await == 0 {
        if Instant::now() > deadline {
            panic!("no point drawn in {css}:\n{}", page_text(c).await);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.map_or(0, |v| v.len())
}

/// Waits until `css` matches exactly `n` elements.
async fn wait_count(c: &Client, css: &str, n: usize) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let found = count(c, css).await;
        if found == n {
            return;
        }
        if Instant::now() > deadline {
            panic!(
                "{css}: {found} found, {n} expected:\n{}",
                page_text(c).await
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every widget has drawn what it fetched (none still shows "…"), then checks
/// that none failed.
async fn wait_drawn(c: &Client) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let loading = c
            .execute(
                "return [...document.querySelectorAll('#view .widget-body')].filter((e) => e.textContent.trim() === '…').length;",
                vec![],
            )
            .await
            .expect("script");
        if loading == json!(0) && count(c, "#view .widget").await > 0 {
            break;
        }
        if Instant::now() > deadline {
            panic!("widgets still loading:\n{}", page_text(c).await);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let text = page_text(c).await;
    assert!(!text.contains("Could not load"), "a widget failed:\n{text}");
}

/// Every widget type of `types` drawn as many times as the dashboard has it, by its module
/// (or the placeholder for those the page does not draw).
async fn check_widget_types(c: &Client, types: &[String]) {
    let mut wanted: Vec<&String> = types.iter().collect();
    wanted.sort();
    wanted.dedup();
    for t in wanted {
        let n = types.iter().filter(|x| *x == t).count();
        wait_count(c, &format!("#view .widget[data-widget-type=\"{t}\"]"), n).await;
        let css = format!("#view .widget[data-widget-type=\"{t}\"] .widget-body");
        let drawn = match t.as_str() {
            "timeseries" => ".chart-box",
            "query_value" => ".qv-value",
            "toplist" => ".toplist, p.muted",
            "event_stream" => ".events, p.muted",
            "manage_status" => ".kpis",
            "note" => "h3, h4, h5, p",
            "slo" => "table.slo-windows",
            "group" => ".widget",
            _ => ".placeholder, p.muted",
        };
        let inner = format!("{css} :is({drawn})");
        let found = count(c, &inner).await;
        assert!(
            found > 0,
            "{t} is not drawn ({inner}):\n{}",
            page_text(c).await
        );
        if ![
            "timeseries",
            "query_value",
            "toplist",
            "event_stream",
            "manage_status",
            "note",
            "slo",
            "group",
        ]
        .contains(&t.as_str())
        {
            wait_text(c, &css, &format!("Widget type \"{t}\" is not rendered")).await;
        }
    }
}

/// Each of Datadog's published examples, drawn from the folder.
async fn fixtures(c: &Client, ui: &str, fixtures: &[(Fixture, String)]) {
    for (f, id) in fixtures {
        open(c, &format!("{ui}/#/dashboard/{id}")).await;
        wait_title(c, &f.shown_title()).await;
        wait_drawn(c).await;
        check_widget_types(c, &f.widget_types()).await;
        match f.name.as_str() {
            "timeseries_widget_with_custom_unit" => wait_points(c, "#view .chart-box").await,
            "query_value_widget" => wait_text(c, ".qv-value", ".").await,
            "note_widget" => wait_text(c, ".note", "Example Note").await,
            "slo_widget" => {
                wait_text(c, ".slo-widget", "Fixture SLO").await;
                wait_text(c, ".slo-widget tr[data-window=\"7d\"]", "99.00%").await;
            }
            "template_variable_defaults" => {
                let el = c
                    .find(Locator::Css(".tvar[data-var=\"host1\"]"))
                    .await
                    .expect("$host1");
                assert_eq!(
                    el.prop("value").await.ok().flatten().as_deref(),
                    Some("my-host")
                );
            }
            _ => {}
        }
    }
}

/// The lab's dashboards, with every widget and marker of their JSON.
async fn lab_dashboards(c: &Client, ui: &str, bare_ui: &str) {
    let infra = lab_dashboard("infrastructure.json");
    let (errors, warnings) = markers(&infra);
    assert!(
        errors >= 6 && warnings >= 4,
        "the monitors' levels are in the JSON"
    );
    open(c, &format!("{ui}/#/infrastructure")).await;
    wait_title(c, "Infrastructure").await;
    wait_drawn(c).await;
    let types: Vec<String> = Fixture {
        name: "infrastructure".into(),
        body: infra.clone(),
    }
    .widget_types();
    check_widget_types(c, &types).await;
    wait_count(c, "#view line.marker.error", errors).await;
    wait_count(c, "#view line.marker.warning", warnings).await;
    wait_text(c, "main", "Memory usage (MiB)").await;
    wait_text(
        c,
        "#view .widget[data-widget-type=\"event_stream\"]",
        "agent-lite started",
    )
    .await;
    wait_points(c, "#view .chart-box").await;

    let apm = lab_dashboard("apm-service.json");
    let (errors, warnings) = markers(&apm);
    assert!(
        errors >= 2 && warnings >= 2,
        "the p95 and error-rate levels are in the JSON"
    );
    open(c, &format!("{ui}/#/dashboard/{APM_SERVICE_ID}")).await;
    wait_title(c, "Lab: APM service").await;
    wait_drawn(c).await;
    check_widget_types(
        c,
        &Fixture {
            name: "apm".into(),
            body: apm,
        }
        .widget_types(),
    )
    .await;
    wait_count(c, "#view line.marker.error", errors).await;
    wait_count(c, "#view line.marker.warning", warnings).await;
    // `$service` defaults to demo-service in every query.
    let queries = c
        .execute(
            "return [...document.querySelectorAll('[data-queries]')].map((e) => e.dataset.queries).join('\\n');",
            vec![],
        )
        .await
        .expect("script");
    let queries = queries.as_str().unwrap_or_default();
    assert!(
        queries.contains("{service:demo-service}") && !queries.contains('$'),
        "{queries}"
    );

    // Without AGENT_LITE_DASHBOARDS_DIR the view says how to load its dashboard.
    open(c, &format!("{bare_ui}/#/infrastructure")).await;
    wait_text(
        c,
        "#not-loaded",
        "AGENT_LITE_DASHBOARDS_DIR=compose/dashboards",
    )
    .await;
    assert_eq!(count(c, "#view .widget").await, 0);
}

/// The example opened at its Datadog url; its template variable changed; a copy edited.
/// The id of the copy.
async fn example_and_copy(c: &Client, ui: &str) -> String {
    open(c, &format!("{ui}/dashboard/abc-def-ghi/example")).await;
    wait_title(
        c,
        "Example: timeseries both forms, markers, template variables, a group",
    )
    .await;
    wait_text(c, "main", "CPU busy (queries and formulas)").await;
    wait_text(c, "main", "Notes").await;
    wait_drawn(c).await;
    wait_points(c, "#dashboard-widgets .chart-box").await;
    wait_count(c, "line.marker.error", 1).await;
    wait_count(c, "line.marker.warning", 1).await;
    assert_eq!(
        count(c, ".tvar").await,
        2,
        "both template variables offered"
    );
    wait_text(c, ".qv-value", ".").await;

    // $host changed on the page: the queries using it follow, and so does the data.
    let first = "#dashboard-widgets > .widget:first-child .widget-body";
    let sent = |q: &'static str| format!("{first}[data-queries=\"{q}\"]");
    wait_count(c, &sent("avg:system.cpu.user{*}"), 1).await;
    choose_variable(c, "host", "lab").await;
    wait_count(c, &sent("avg:system.cpu.user{host:lab}"), 1).await;
    wait_count(
        c,
        "[data-queries=\"100 - (avg:system.cpu.idle{host:lab})\"]",
        1,
    )
    .await;
    wait_points(c, &format!("{first} .chart-box")).await;
    choose_variable(c, "host", "no-such-host").await;
    wait_count(c, &sent("avg:system.cpu.user{host:no-such-host}"), 1).await;
    wait_drawn(c).await;
    assert_eq!(
        points(c, &format!("{first} .chart-box")).await,
        0,
        "no data for another host"
    );

    // A file dashboard: no Edit; a copy instead, previewed with the chosen variables.
    assert_eq!(
        count(c, "#edit-dashboard").await,
        0,
        "read-only: no Edit that would end in 403"
    );
    wait_text(c, "#read-only", "AGENT_LITE_DASHBOARDS_DIR").await;
    click(c, "#copy-dashboard").await;
    wait_title(
        c,
        "Example: timeseries both forms, markers, template variables, a group (copy)",
    )
    .await;
    choose_variable(c, "host", "lab").await;
    wait_drawn(c).await;
    click(c, "#dashboard-widgets > .widget:first-child .w-edit").await;
    wait_text(
        c,
        "#query-error",
        "Query sent: avg:system.cpu.user{host:lab}",
    )
    .await;
    wait_points(c, "#query-preview .chart-box").await;
    click(c, "#apply-widget").await;
    click(c, "#save-dashboard").await;
    saved_id(c).await
}

/// The id in the page's url once a new dashboard is saved.
async fn saved_id(c: &Client) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let url = c.current_url().await.expect("url").to_string();
        if let Some(id) = url.split("#/dashboard/").nth(1).filter(|i| *i != "new") {
            return id.to_owned();
        }
        if Instant::now() > deadline {
            panic!("not saved:\n{}", page_text(c).await);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Built from nothing, reloaded, exported. The id and the exported JSON.
async fn build(c: &Client, ui: &str) -> (String, String) {
    open(c, &format!("{ui}/#/dashboard/new")).await;
    wait_text(c, "#add-widget", "Add widget").await;
    type_into(c, "#dash-title", "Built here").await;
    click(c, "#add-widget").await;
    type_into(c, "#query-input", "avg:system.cpu.user{*}").await;
    wait_points(c, "#query-preview .chart-box").await;
    type_into(c, "#query-input", "avg:system.cpu.user{*").await;
    wait_text(c, "#query-error", "Refused").await;
    type_into(c, "#query-input", "avg:system.cpu.user{*}").await;
    type_into(c, "#marker-value", "y = 80").await;
    click(c, "#add-marker").await;
    click(c, "#apply-widget").await;
    click(c, "#save-dashboard").await;
    let id = saved_id(c).await;
    c.refresh().await.expect("reload");
    open(c, &format!("{ui}/#/dashboard/{id}")).await;
    wait_title(c, "Built here").await;
    wait_points(c, "#dashboard-widgets .chart-box").await;
    wait_count(c, "line.marker.error", 1).await;

    click(c, "#export-dashboard").await;
    wait_count(c, "#export-json", 1).await;
    let exported = c
        .find(Locator::Css("#export-json"))
        .await
        .expect("the exported JSON")
        .prop("value")
        .await
        .expect("its text")
        .unwrap_or_default();

    // A bad definition pasted into the import box: refused with its path.
    open(c, &format!("{ui}/#/dashboards")).await;
    wait_text(c, "#dashboard-list", "Built here").await;
    let bad = json!({"title": "bad", "layout_type": "ordered", "widgets": [{"definition": {"type": "timeseries"}}]});
    type_into(c, "#import-json", &bad.to_string()).await;
    click(c, "#import-button").await;
    wait_text(
        c,
        "#import-status",
        "widgets[0].definition: missing field `requests`",
    )
    .await;
    (id, exported)
}

/// Whether Datadog's Python client reads `dashboard` into its models, every widget matched
/// to a widget definition of Datadog's spec (the client marks one it could not as unparsed).
fn datadogs_client_reads(dashboard: &str) -> String {
    let script = "import json, sys
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.v1.model.dashboard import Dashboard
def unparsed(widgets, path):
    out = []
    for i, w in enumerate(widgets):
        d = w.definition
        if getattr(d, '_unparsed', False):
            out.append(f'{path}[{i}]')
        elif hasattr(d, 'widgets'):
            out += unparsed(d.widgets, f'{path}[{i}].definition.widgets')
    return out
with ApiClient(Configuration()) as c:
    d = c.deserialize(sys.stdin.read(), (Dashboard,), True)
print(json.dumps({'unparsed': getattr(d, '_unparsed', False) and ['$'] or unparsed(d.widgets, 'widgets'), 'title': d.title}))
";
    let mut child = std::process::Command::new(lab_python())
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the lab's python (run tests/setup)");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(dashboard.as_bytes())
            .expect("write the dashboard");
    }
    let out = child.wait_with_output().expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the page made through the API, as a user of the API sees it.
fn check_saved(agent: &Agent, built: &str, exported: &str, copy: &str) {
    let (status, saved) = agent.get(&format!("/api/v1/dashboard/{built}"));
    assert_eq!(status, 200);
    let def = &saved["widgets"][0]["definition"];
    assert_eq!(def["requests"][0]["q"], "avg:system.cpu.user{*}");
    assert_eq!(
        def["markers"][0],
        json!({"value": "y = 80", "display_type": "error dashed"})
    );
    // The Export button gives the dashboard as the API has it, which Datadog's client reads
    // whole and the API accepts again.
    let exported_json: Value = serde_json::from_str(exported).expect("the export is JSON");
    assert_eq!(exported_json, saved, "the export is the dashboard");
    let read: Value = serde_json::from_str(&datadogs_client_reads(exported)).expect("JSON");
    assert_eq!(read, json!({"unparsed": [], "title": "Built here"}));
    let again = agent
        .http
        .post(agent.api_url("/api/v1/dashboard"))
        .json(&exported_json)
        .send()
        .expect("post");
    assert_eq!(again.status().as_u16(), 200);

    // The copy of the file dashboard is a new, editable one with the widget as applied.
    assert_ne!(copy, "abc-def-ghi");
    let (status, copied) = agent.get(&format!("/api/v1/dashboard/{copy}"));
    assert_eq!(status, 200);
    assert_eq!(copied["is_read_only"], false);
    assert_eq!(
        copied["title"],
        "Example: timeseries both forms, markers, template variables, a group (copy)"
    );
    assert_eq!(
        copied["widgets"][0]["definition"]["requests"][0]["q"], "avg:system.cpu.user{$host}",
        "the template variable stays a variable in the saved query"
    );
}

#[test]
fn dashboards_render_build_and_refuse_in_a_real_browser() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("dashboards");
    std::fs::create_dir(&dir).expect("folder");
    let mut example: Value = serde_json::from_str(EXAMPLE).expect("example");
    example["id"] = json!("abc-def-ghi");
    std::fs::write(dir.join("example.json"), example.to_string()).expect("example");
    for file in ["infrastructure.json", "apm-service.json"] {
        std::fs::write(dir.join(file), lab_dashboard(file).to_string()).expect("lab dashboard");
    }
    let agent = Agent::start(&[("AGENT_LITE_DASHBOARDS_DIR", dir.display().to_string())]);
    let bare = Agent::start(&[]);

    // The SLO the SLO widget's example names, then Datadog's examples in the folder.
    let slo = agent
        .http
        .post(agent.api_url("/api/v1/slo"))
        .json(&dashboard_fixtures::slo_body())
        .send()
        .expect("post the SLO");
    assert_eq!(slo.status().as_u16(), 200);
    let slo: Value = slo.json().expect("the SLO");
    let slo_id = slo["data"][0]["id"].as_str().expect("an SLO id").to_owned();
    let examples = dashboard_fixtures::all(&slo_id);
    for f in &examples {
        std::fs::write(dir.join(format!("{}.json", f.name)), f.body.to_string()).expect("fixture");
    }
    let listed = wait_for("the examples loaded", DEADLINE, || {
        let (_, list) = agent.get("/api/v1/dashboard");
        let list = list["dashboards"].as_array().cloned().unwrap_or_default();
        (list.len() == examples.len() + 3).then_some(list)
    });
    let (_, st) = agent.get("/status");
    assert_eq!(st["dashboards"]["refused"], json!([]), "{st}");
    let examples: Vec<(Fixture, String)> = examples
        .into_iter()
        .map(|f| {
            let id = listed
                .iter()
                .find(|d| d["title"] == f.body["title"])
                .and_then(|d| d["id"].as_str())
                .unwrap_or_else(|| panic!("{} listed", f.name))
                .to_owned();
            (f, id)
        })
        .collect();
    assert!(listed.iter().any(|d| d["id"] == INFRASTRUCTURE_ID));
    assert!(listed.iter().any(|d| d["id"] == APM_SERVICE_ID));
    wait_for("host CPU points", Duration::from_secs(60), || {
        agent.totals("avg:system.cpu.user{*}").first().map(|_| ())
    });

    let port = free_port();
    let _driver = common::browser::chromedriver(port);
    let (ui, bare_ui) = (agent.api_url(""), bare.api_url(""));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (copy, (built, exported)) = rt.block_on(async {
        let c = common::browser::chromium(port, (1400, 1100)).await;
        let outcome = std::panic::AssertUnwindSafe(async {
            fixtures(&c, &ui, &examples).await;
            lab_dashboards(&c, &ui, &bare_ui).await;
            let copy = example_and_copy(&c, &ui).await;
            (copy, build(&c, &ui).await)
        })
        .catch_unwind()
        .await;
        let _ = c.close().await;
        outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    drop(rt);
    check_saved(&agent, &built, &exported, &copy);
}
