//! The lab's page in a real browser (Debian's headless Chromium through chromedriver), against
//! a live agent-lite fed by the demo-service: every view shows real data, a trace id from the
//! API appears in the trace list, and a click from a log line reaches its trace; a span's
//! details print no `null`; the Infrastructure and APM views draw the lab's dashboards
//! (compose/dashboards/) with the markers of their JSON, and no threshold of their own.
//! Screenshots of every view are kept in `target/tmp/ui-screenshots/` (the README's, in
//! `docs/screenshots/`, are taken during a real scenario by `tests/screenshots.rs`).

mod common;
#[path = "fixtures/dashboard_fixtures.rs"]
mod dashboard_fixtures;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{Agent, DemoService};
use fantoccini::{Client, Locator};
use futures_util::FutureExt as _;
use lab_testkit::{free_port, wait_for};
use serde_json::json;

const ERROR_RATE: &str = "sum(last_30s):sum:trace.http.server.request.errors{service:demo-service}.as_count() / sum:trace.http.server.request.hits{service:demo-service}.as_count() > 0.05";

/// Waits until `css` matches an element whose text contains `text`.
async fn wait_text(c: &Client, css: &str, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if let Ok(t) = el.text().await {
                if t.contains(text) {
                    return t;
                }
            }
        }
        if Instant::now() > deadline {
            let main = match c.find(Locator::Css("main")).await {
                Ok(m) => m.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            let url = c.current_url().await.map(|u| u.to_string());
            panic!(
                "{css} never showed {text:?} on {}; the page shows:\n{main}",
                url.unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Clicks the element `css` matches, finding it again while a click fails: the page re-renders
/// a view as its data comes in, and an element found just before is then gone (a stale
/// element), which a slow machine hits now and then.
async fn click(c: &Client, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
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

/// Waits until some chart of the page has at least one point.
async fn wait_chart_data(c: &Client) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut points = 0;
        for el in c
            .find_all(Locator::Css(".chart-box"))
            .await
            .unwrap_or_default()
        {
            points += el
                .attr("data-points")
                .await
                .ok()
                .flatten()
                .and_then(|p| p.parse::<u64>().ok())
                .unwrap_or(0);
        }
        if points > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no chart with data on {}",
            c.current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.map_or(0, |v| v.len())
}

/// Waits until `css` matches exactly `n` elements.
async fn wait_count(c: &Client, css: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = count(c, css).await;
        if found == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css}: {found} found, {n} expected"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The view draws the lab dashboard `file` with every marker of its JSON, and no threshold
/// line of its own.
async fn draws_lab_dashboard(c: &Client, file: &str) {
    let (errors, warnings) =
        dashboard_fixtures::marker_counts(&dashboard_fixtures::lab_dashboard(file));
    let scope = format!(".lab-dashboard[data-file=\"{file}\"]");
    wait_count(c, &format!("{scope} line.marker.error"), errors).await;
    wait_count(c, &format!("{scope} line.marker.warning"), warnings).await;
    assert_eq!(
        count(c, "#view line.threshold").await,
        0,
        "no threshold from JavaScript"
    );
    let text = c
        .find(Locator::Css(&scope))
        .await
        .expect("the dashboard")
        .text()
        .await
        .unwrap_or_default();
    assert!(!text.contains("Could not load"), "{text}");
}

/// The span details shown hold no `null` (what `replaceChildren` prints for an absent part).
async fn no_null_in_span_details(c: &Client) {
    let text = c
        .find(Locator::Css("#span-details"))
        .await
        .expect("span details")
        .text()
        .await
        .unwrap_or_default();
    assert!(
        !text.split_whitespace().any(|w| w == "null"),
        "a span's details print null:\n{text}"
    );
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    std::fs::write(dir.join(format!("{name}.png")), &png).expect("write the screenshot");
}

/// Every view, in the order a student meets them.
async fn views(c: &Client, ui: &str, trace_id: &str, ok_trace_id: &str) {
    let c = c.clone();
    c.goto(&format!("{ui}/#/overview")).await.expect("overview");
    wait_text(&c, "#monitor-list", "demo-service error rate").await;
    wait_chart_data(&c).await;
    screenshot(&c, "overview").await;

    c.goto(&format!("{ui}/#/apm?service=demo-service"))
        .await
        .expect("apm");
    // Resources as the trace metrics' resource_name tag shows them, as in Datadog.
    wait_text(&c, "main", "get_/error").await;
    wait_chart_data(&c).await;
    draws_lab_dashboard(&c, "apm-service.json").await;
    // `$service` is the service picked, in the dashboard's queries.
    wait_count(
        &c,
        "[data-queries*=\"p50:trace.http.server.request{service:demo-service}\"]",
        1,
    )
    .await;
    screenshot(&c, "apm").await;

    c.goto(&format!("{ui}/#/traces?service=demo-service"))
        .await
        .expect("traces");
    let row = format!("tr[data-trace-id=\"{trace_id}\"]");
    wait_text(&c, &row, "GET /error").await;
    screenshot(&c, "traces").await;
    click(&c, &row).await;
    wait_text(&c, "#span-details", "error.type").await;
    wait_text(&c, "#flame", "http.server.request").await;
    no_null_in_span_details(&c).await;
    screenshot(&c, "trace").await;

    // From the trace to its log lines, and from a log line back to the trace.
    click(&c, "#trace-logs").await;
    wait_text(&c, "#log-list", "status").await;
    screenshot(&c, "logs").await;
    click(&c, "#log-list a.trace-link").await;
    wait_text(&c, "h1", trace_id).await;

    c.goto(&format!("{ui}/#/runtime?service=demo-service"))
        .await
        .expect("runtime");
    wait_chart_data(&c).await;
    screenshot(&c, "runtime").await;

    c.goto(&format!("{ui}/#/monitor/5")).await.expect("monitor");
    wait_text(&c, "#transitions", "Alert").await;
    assert!(
        !c.find_all(Locator::Css("line.threshold.critical"))
            .await
            .unwrap_or_default()
            .is_empty(),
        "the critical threshold is drawn"
    );
    screenshot(&c, "monitor").await;

    c.goto(&format!("{ui}/#/infrastructure"))
        .await
        .expect("infrastructure");
    wait_text(&c, "main", "Container memory against its limit").await;
    draws_lab_dashboard(&c, "infrastructure.json").await;
    wait_chart_data(&c).await;
    screenshot(&c, "infrastructure").await;

    // A root span without an error: its details print no null either.
    c.goto(&format!("{ui}/#/trace/{ok_trace_id}"))
        .await
        .expect("a trace without error");
    wait_text(&c, "#span-details h2", "http.server.request · GET /").await;
    no_null_in_span_details(&c).await;

    c.goto(&format!("{ui}/#/events")).await.expect("events");
    wait_text(&c, "main", "agent-lite started").await;
    wait_text(&c, "main", "[Triggered] demo-service error rate").await;
    screenshot(&c, "events").await;
}

#[test]
fn every_view_shows_real_data_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("temp dir");
    let monitors = dir.path().join("monitors");
    std::fs::create_dir(&monitors).expect("monitors dir");
    std::fs::write(
        monitors.join("error-rate.json"),
        json!({"id": 5, "name": "demo-service error rate", "type": "query alert", "query": ERROR_RATE,
               "message": "{{#is_alert}}Errors at {{value}}{{/is_alert}}", "options": {"thresholds": {"critical": 0.05, "warning": 0.02}}})
        .to_string(),
    )
    .expect("monitor");
    let log = dir.path().join("demo-service.log");
    std::fs::write(&log, "").expect("log file");
    let dashboards = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compose/dashboards");
    let agent = Agent::start(&[
        (
            "AGENT_LITE_DASHBOARDS_DIR",
            dashboards.display().to_string(),
        ),
        ("AGENT_LITE_MONITORS_DIR", monitors.display().to_string()),
        ("AGENT_LITE_MONITOR_INTERVAL_SECS", "1".into()),
        (
            "AGENT_LITE_LOGS_FILES",
            format!("demo-service={}", log.display()),
        ),
    ]);

    // The demo-service writes its JSON lines to the file agent-lite follows, as a container's
    // stdout would reach the Agent.
    let mut svc = DemoService::start(
        &agent,
        &[
            ("DD_AGENT_HOST", "127.0.0.1".into()),
            ("DD_DOGSTATSD_PORT", agent.statsd_port.to_string()),
            ("DD_RUNTIME_METRICS_ENABLED", "true".into()),
            ("DEMO_RUNTIME_METRICS_INTERVAL_SECS", "1".into()),
        ],
        Some(&log),
    );
    for i in 0..40 {
        let path = match i % 8 {
            0 => "/error",
            1 => "/slow?ms=60",
            _ => "/",
        };
        svc.get(path);
    }
    let trace_id = wait_for("an error trace", Duration::from_secs(30), || {
        let (_, found) = agent.get("/api/v0/traces?resource=GET%20/error");
        found["traces"][0]["trace_id"].as_str().map(str::to_owned)
    });
    let ok_trace_id = wait_for("a trace without error", Duration::from_secs(30), || {
        let (_, found) = agent.get("/api/v0/traces?resource=GET%20/");
        found["traces"][0]["trace_id"].as_str().map(str::to_owned)
    });
    wait_for("its log lines", Duration::from_secs(30), || {
        let (_, logs) = agent.get(&format!("/api/v0/logs?trace_id={trace_id}"));
        (logs["total"].as_u64() > Some(0)).then_some(())
    });
    wait_for("the monitor in Alert", Duration::from_secs(30), || {
        let (_, m) = agent.get("/api/v1/monitor/5");
        (m["overall_state"] == "Alert").then_some(())
    });

    let driver_port = free_port();
    let _driver = common::browser::chromedriver(driver_port);
    let ui = agent.api_url("");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let c = common::browser::chromium(driver_port, (1400, 1100)).await;
        // The session is closed even when a check fails, so that no Chromium outlives the test.
        let checks =
            std::panic::AssertUnwindSafe(views(&c, &ui, &trace_id, &ok_trace_id)).catch_unwind();
        let outcome = checks.await;
        let _ = c.close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
    assert!(svc.proc.terminate(Duration::from_secs(30)).success());
}
