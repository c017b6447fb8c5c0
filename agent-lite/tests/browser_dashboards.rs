//! Dashboards on the page, in Debian's headless Chromium: a fixture written from Datadog's
//! published dashboard JSON opens at its `url` with its titles, charts and markers; a
//! dashboard is built from nothing (a timeseries, `avg:system.cpu.user{*}`, a marker, save),
//! is there after a reload with its series drawn, and what it saved is accepted again; a bad
//! definition pasted into the import box is refused with its JSON path.

mod common;

use std::time::{Duration, Instant};

use common::Agent;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use lab_testkit::process::ChildProcess;
use lab_testkit::{free_port, wait_for};
use serde_json::{json, Value};

const FIXTURE: &str = include_str!("fixtures/dashboards/datadog-example.json");

fn which(name: &str) -> String {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| panic!("{name} is not installed: run tests/setup"))
}

async fn browser(port: u16) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": which("chromium"),
               "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1100"]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session")
}

async fn wait_text(c: &Client, css: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if el.text().await.is_ok_and(|t| t.contains(text)) {
                return;
            }
        }
        if Instant::now() > deadline {
            let main = match c.find(Locator::Css("main")).await {
                Ok(m) => m.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!("{css} never showed {text:?}; the page shows:\n{main}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn click(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
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

/// Waits until the charts under `css` have at least one point.
async fn wait_points(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut points = 0;
        for el in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
            let p = el.attr("data-points").await.ok().flatten();
            points += p.and_then(|p| p.parse::<u64>().ok()).unwrap_or(0);
        }
        if points > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "no point drawn in {css}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.map_or(0, |v| v.len())
}

/// The page's part; the id of the dashboard it built. (The blocking HTTP client of the
/// API checks runs outside the async runtime, after it.)
async fn scenario(c: &Client, agent: &Agent, file_id: &str) -> String {
    let ui = agent.api_url("");
    // The fixture, opened at its Datadog url.
    c.goto(&format!("{ui}/dashboard/{file_id}/example"))
        .await
        .expect("dashboard url");
    wait_text(c, "h1", "Example: timeseries both forms").await;
    wait_text(c, "main", "CPU busy (queries and formulas)").await;
    wait_text(c, "main", "Notes").await;
    wait_points(c, "#dashboard-widgets .chart-box").await;
    assert!(
        count(c, "line.marker.error").await > 0,
        "the y = 80 marker is drawn"
    );
    assert!(count(c, "line.marker.warning").await > 0);
    assert_eq!(
        count(c, ".tvar").await,
        2,
        "both template variables offered"
    );
    wait_text(c, ".qv-value", ".").await;

    // Built from nothing.
    c.goto(&format!("{ui}/#/dashboard/new")).await.expect("new");
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
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        let url = c.current_url().await.expect("url").to_string();
        if let Some(id) = url.split("#/dashboard/").nth(1).filter(|i| *i != "new") {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "not saved: {url}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    c.refresh().await.expect("reload");
    wait_text(c, "h1", "Built here").await;
    wait_points(c, "#dashboard-widgets .chart-box").await;
    assert!(
        count(c, "line.marker.error").await > 0,
        "its marker is drawn"
    );
    // A bad definition pasted into the import box: refused with its path.
    c.goto(&format!("{ui}/#/dashboards")).await.expect("list");
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
    id
}

/// What the page saved: the query typed and the marker added; accepted again as its export.
fn check_saved(agent: &Agent, id: &str) {
    let (status, saved) = agent.get(&format!("/api/v1/dashboard/{id}"));
    assert_eq!(status, 200);
    let def = &saved["widgets"][0]["definition"];
    assert_eq!(def["requests"][0]["q"], "avg:system.cpu.user{*}");
    assert_eq!(
        def["markers"][0],
        json!({"value": "y = 80", "display_type": "error dashed"})
    );
    let again = agent
        .http
        .post(agent.api_url("/api/v1/dashboard"))
        .json(&saved)
        .send()
        .expect("post");
    assert_eq!(again.status().as_u16(), 200);
}

#[test]
fn dashboards_render_build_and_refuse_in_a_real_browser() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("dashboards");
    std::fs::create_dir(&dir).expect("folder");
    let mut fixture: Value = serde_json::from_str(FIXTURE).expect("fixture");
    fixture["id"] = json!("abc-def-ghi");
    std::fs::write(dir.join("example.json"), fixture.to_string()).expect("fixture");
    let agent = Agent::start(&[("AGENT_LITE_DASHBOARDS_DIR", dir.display().to_string())]);
    wait_for("host CPU points", Duration::from_secs(60), || {
        agent.totals("avg:system.cpu.user{*}").first().map(|_| ())
    });
    let port = free_port();
    let _driver = ChildProcess::spawn(&which("chromedriver"), &[&format!("--port={port}")], &[]);
    wait_for("chromedriver", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let id = rt.block_on(async {
        let c = browser(port).await;
        let outcome = std::panic::AssertUnwindSafe(scenario(&c, &agent, "abc-def-ghi"))
            .catch_unwind()
            .await;
        let _ = c.close().await;
        outcome.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    });
    drop(rt);
    check_saved(&agent, &id);
}
