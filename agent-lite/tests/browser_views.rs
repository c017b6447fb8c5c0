//! The Service Map, SLO and Profiles views in a real browser (Debian's headless Chromium
//! through chromedriver), against a live agent-lite fed by demo-service, inventory and a real
//! PostgreSQL:
//! - after real traffic the map draws demo-service -> inventory -> postgres, a node's click
//!   opens its APM page, and the APM pages list the downstream service and the database
//!   queries;
//! - an SLO created through the API shows its exact SLI, status and budget left, its slo alert
//!   and its service's failing traces;
//! - demo-service's own profiler, under `/burn` load, draws a flame graph whose frames the test
//!   reads (the busy loop on top), the comparison with the calm before it, and a `/burn`
//!   trace's code hotspots.
//!
//! Screenshots are kept in `target/tmp/ui-screenshots/`.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Agent, DemoService};
use fantoccini::{Client, Locator};
use futures_util::FutureExt as _;
use lab_testkit::{free_port, wait_for};
use serde_json::{json, Value};

/// The page re-renders as data comes in and the machine is loaded: generous, polled.
const PAGE_DEADLINE: Duration = Duration::from_secs(60);

/// The busy loop of demo-service's `/burn`, by the function name the profiler gives it: the
/// symbol's path (`demo_service::http::routes::spin`), or the bare name where the line tables
/// name the frame.
fn is_spin(name: &str) -> bool {
    name == "spin" || name.ends_with("::spin")
}

/// [`is_spin`] for the page's scripts.
const IS_SPIN_JS: &str = "const isSpin = (n) => n === 'spin' || n.endsWith('::spin');";

/// Runs `checks` in a fresh Chromium on the page at `ui`; the session is closed even when a
/// check fails, so that no Chromium outlives the test.
fn in_browser<F, Fut>(checks: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let driver_port = free_port();
    let _driver = common::browser::chromedriver(driver_port);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let c = common::browser::chromium(driver_port, (1400, 1100)).await;
        let outcome = std::panic::AssertUnwindSafe(checks(c.clone()))
            .catch_unwind()
            .await;
        let _ = c.close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

async fn page_text(c: &Client) -> String {
    let main = match c.find(Locator::Css("main")).await {
        Ok(m) => m.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let url = c.current_url().await.map(|u| u.to_string());
    format!("{} shows:\n{main}", url.unwrap_or_default())
}

/// Waits until `css` matches an element whose text contains `text`; that text.
async fn wait_text(c: &Client, css: &str, text: &str) -> String {
    let deadline = Instant::now() + PAGE_DEADLINE;
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if let Ok(t) = el.text().await {
                if t.contains(text) {
                    return t;
                }
            }
        }
        if Instant::now() > deadline {
            panic!("{css} never showed {text:?}; {}", page_text(c).await);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until `script` (the body of a function) returns something other than null.
async fn wait_script(c: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + PAGE_DEADLINE;
    loop {
        if let Ok(v) = c.execute(script, vec![]).await {
            if !v.is_null() {
                return v;
            }
        }
        if Instant::now() > deadline {
            panic!("never {what}; {}", page_text(c).await);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Clicks what `css` matches, finding it again while a click fails (the view re-renders as
/// its data comes, and an element found just before may be gone).
async fn click(c: &Client, css: &str) {
    let deadline = Instant::now() + PAGE_DEADLINE;
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

async fn goto(c: &Client, url: &str) {
    c.goto(url)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("a screenshot");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    std::fs::write(dir.join(format!("{name}.png")), &png).expect("write the screenshot");
}

fn post(agent: &Agent, path: &str, body: &Value) -> Value {
    let res = agent
        .http
        .post(agent.api_url(path))
        .json(body)
        .send()
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = res.status().as_u16();
    let answer: Value = res.json().unwrap_or(Value::Null);
    assert_eq!(status, 200, "POST {path}: {answer}");
    answer
}

fn edges(map: &Value) -> Vec<(String, String)> {
    map["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["requests"].as_u64() > Some(0))
        .map(|e| {
            let side = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
            (side("from"), side("to"))
        })
        .collect()
}

fn has_edge(edges: &[(String, String)], from: &str, to: &str) -> bool {
    edges.iter().any(|(f, t)| f == from && t == to)
}

const HITS: &str = "sum:trace.http.server.request.hits{service:demo-service}.as_count()";
const ERRORS: &str = "sum:trace.http.server.request.errors{service:demo-service}.as_count()";

#[test]
fn the_service_map_a_services_dependencies_and_an_slo_from_real_traffic() {
    let agent = Agent::start(&[("AGENT_LITE_MONITOR_INTERVAL_SECS", "1".into())]);
    let mut svc = DemoService::start(&agent, &[], None);
    // 24 requests, 3 of them failed by the database (inventory refuses, demo-service 500s):
    // the SLI is 21 of 24, 87.5%.
    let (mut sent, mut failed) = (0, 0);
    for i in 0..24 {
        let (path, want) = match i % 8 {
            0 => ("/error", 500),
            1 => ("/slow?ms=20", 200),
            _ => ("/", 200),
        };
        assert_eq!(svc.get(path), want, "GET {path}");
        sent += 1;
        failed += usize::from(want == 500);
    }
    // Both services flush their spans as they stop: every request is counted after this.
    svc.stop();
    agent.wait_total(HITS, sent as f64);
    agent.wait_total(ERRORS, failed as f64);
    wait_for(
        "demo-service -> inventory -> postgres on the map",
        Duration::from_secs(30),
        || {
            let (_, map) = agent.get("/api/v0/service_map");
            let found = edges(&map);
            (has_edge(&found, "demo-service", "inventory")
                && has_edge(&found, "inventory", "postgres"))
            .then_some(())
        },
    );

    // An SLO on the same traffic, and an slo alert on its budget: 87.5% against 80% leaves
    // 37.5% of the budget (3 bad of 4.8 allowed), 62.5% spent, over the alert's 50.
    let created = post(
        &agent,
        "/api/v1/slo",
        &json!({"name": "demo-service availability (browser)", "type": "metric",
                "tags": ["service:demo-service"],
                "thresholds": [{"timeframe": "7d", "target": 80.0, "warning": 90.0}],
                "query": {"numerator": format!("{HITS} - {ERRORS}"), "denominator": HITS}}),
    );
    let slo_id = created["data"][0]["id"]
        .as_str()
        .expect("the SLO's id")
        .to_owned();
    let monitor = post(
        &agent,
        "/api/v1/monitor",
        &json!({"name": "demo-service budget half spent (browser)", "type": "slo alert",
                "query": format!("error_budget(\"{slo_id}\").over(\"7d\") > 50"),
                "options": {"thresholds": {"critical": 50}}}),
    );
    let monitor_id = monitor["id"].as_u64().expect("the monitor's id");
    wait_for("the slo alert in Alert", Duration::from_secs(30), || {
        let (_, m) = agent.get(&format!("/api/v1/monitor/{monitor_id}"));
        (m["overall_state"] == "Alert").then_some(())
    });
    let (_, failing) = agent.get("/api/v0/traces?service=demo-service&error=true");
    let failing_trace = failing["traces"][0]["trace_id"]
        .as_str()
        .expect("a failing trace kept")
        .to_owned();

    let ui = agent.api_url("");
    in_browser(|c| async move {
        // The map: every call of the traffic, as edges between the services' nodes.
        goto(&c, &format!("{ui}/#/service_map")).await;
        wait_text(&c, "#edge-list", "postgres").await;
        let drawn = wait_script(
            &c,
            "the map's edges",
            "const e = [...document.querySelectorAll('#service-map g.edge')]; \
             return e.length ? e.map((g) => [g.dataset.from, g.dataset.to, Number(g.dataset.requests)]) : null;",
        )
        .await;
        let drawn: Vec<(String, String)> = drawn
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e[2].as_f64() > Some(0.0))
            .map(|e| {
                let s = |i: usize| e[i].as_str().unwrap_or_default().to_owned();
                (s(0), s(1))
            })
            .collect();
        assert!(
            has_edge(&drawn, "demo-service", "inventory")
                && has_edge(&drawn, "inventory", "postgres"),
            "edges drawn: {drawn:?}"
        );
        let postgres = c
            .find(Locator::Css(
                "#service-map g.node[data-service=\"postgres\"]",
            ))
            .await
            .expect("postgres drawn as a node");
        assert!(
            postgres
                .attr("class")
                .await
                .ok()
                .flatten()
                .is_some_and(|k| k.contains("database")),
            "postgres drawn as a database"
        );
        screenshot(&c, "service_map").await;

        // A node's click opens its APM page, whose database queries panel lists what
        // inventory asked PostgreSQL.
        click(&c, "#service-map g.node[data-service=\"inventory\"] circle").await;
        wait_text(&c, "h1", "APM · inventory").await;
        let queries = wait_text(&c, "#queries", "postgresql").await;
        assert!(
            queries.contains("UPDATE") || queries.contains("SELECT"),
            "normalised statements: {queries}"
        );
        goto(&c, &format!("{ui}/#/apm?service=demo-service")).await;
        let downstream = wait_text(&c, "#downstream", "inventory").await;
        assert!(downstream.contains("http"), "the call's type: {downstream}");
        screenshot(&c, "apm_dependencies").await;

        // The SLO list: status, exact SLI, target and budget left, a burn-down drawn.
        goto(&c, &format!("{ui}/#/slos")).await;
        let row = format!("#slo-list tr[data-slo-id=\"{slo_id}\"]");
        wait_text(&c, &row, "87.500%").await;
        let cell = |css: &'static str| {
            let c = c.clone();
            let row = row.clone();
            async move {
                c.find(Locator::Css(&format!("{row} {css}")))
                    .await
                    .unwrap_or_else(|e| panic!("{css}: {e}"))
                    .text()
                    .await
                    .unwrap_or_default()
            }
        };
        assert_eq!(cell("td.sli").await, "87.500%");
        assert_eq!(cell("td.budget").await, "37.5%");
        assert_eq!(
            cell(".slo-state").await,
            "Warn",
            "under the 90% warning, over the 80% target"
        );
        let points = c
            .find(Locator::Css(&format!("{row} svg.burn-down")))
            .await
            .expect("a burn-down")
            .attr("data-points")
            .await
            .ok()
            .flatten()
            .and_then(|p| p.parse::<u64>().ok());
        assert!(points > Some(0), "the burn-down has points: {points:?}");
        screenshot(&c, "slos").await;

        // One SLO: its numbers, its slo alert in Alert, its service's failing traces.
        click(&c, &row).await;
        wait_text(&c, "#slo-summary", "21 good of 24 events").await;
        let monitors = wait_text(
            &c,
            "#slo-monitors",
            "demo-service budget half spent (browser)",
        )
        .await;
        assert!(
            monitors.contains("Alert"),
            "the slo alert's state: {monitors}"
        );
        let traces = wait_text(&c, "#slo-traces", "500").await;
        assert!(traces.contains("GET /error"), "failing requests: {traces}");
        screenshot(&c, "slo").await;
        click(
            &c,
            &format!("#slo-traces tr[data-trace-id=\"{failing_trace}\"]"),
        )
        .await;
        wait_text(&c, "h1", &failing_trace).await;
    });
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// demo-service's profiles with CPU samples: (start, end) in seconds, as the list has them.
fn cpu_profiles(agent: &Agent) -> Vec<(f64, f64)> {
    let (status, list) = agent.get("/api/v0/profiles?service=demo-service&limit=5000");
    assert_eq!(status, 200, "{list}");
    let secs = |v: &Value| {
        v.as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp_micros() as f64 / 1e6)
    };
    list["profiles"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            p["types"]
                .as_array()
                .is_some_and(|t| t.contains(&"cpu".into()))
        })
        .filter_map(|p| Some((secs(&p["start"])?, secs(&p["end"])?)))
        .collect()
}

/// Callers looping on `path` until `stop`, each on its own thread.
fn load(
    base: &str,
    path: &str,
    callers: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..callers)
        .map(|_| {
            let url = format!("{base}{path}");
            let stop = Arc::clone(stop);
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::new();
                while !stop.load(Ordering::Relaxed) {
                    let _ = http.get(&url).send();
                }
            })
        })
        .collect()
}

fn stop_load(stop: &Arc<AtomicBool>, callers: Vec<std::thread::JoinHandle<()>>) {
    stop.store(true, Ordering::Relaxed);
    for c in callers {
        let _ = c.join();
    }
}

#[test]
fn demo_services_profiles_under_burn_load_draw_a_flame_graph_with_the_busy_loop_on_top() {
    let began = Instant::now();
    let agent = Agent::start(&[]);
    let svc = DemoService::start(
        &agent,
        &[
            ("DD_PROFILING_ENABLED", "true".into()),
            ("DD_PROFILING_UPLOAD_PERIOD", "2".into()),
            ("DEMO_CHAOS_ENABLED", "true".into()),
        ],
        None,
    );

    // Calm: fast requests until two profiles with CPU samples have come.
    eprintln!("{:?}: demo-service up, calm begins", began.elapsed());
    let t_start = now_secs();
    let stop = Arc::new(AtomicBool::new(false));
    let callers = load(&svc.base, "/", 1, &stop);
    let calm = wait_for("two calm CPU profiles", Duration::from_secs(90), || {
        let found = cpu_profiles(&agent);
        (found.len() >= 2).then_some(found)
    });
    stop_load(&stop, callers);
    let t_mid = now_secs();
    eprintln!("{:?}: calm profiles in, spike begins", began.elapsed());
    let calm_end = calm.iter().map(|p| p.1).fold(0.0, f64::max);

    // The spike: `/burn` on two callers, until two profiles begun after it have come and a
    // `/burn` trace has samples under its spans.
    let stop = Arc::new(AtomicBool::new(false));
    let callers = load(&svc.base, "/burn?ms=250", 2, &stop);
    let spike = wait_for(
        "two CPU profiles of the spike",
        Duration::from_secs(90),
        || {
            let found: Vec<_> = cpu_profiles(&agent)
                .into_iter()
                .filter(|p| p.0 >= t_mid as f64 + 1.0)
                .collect();
            (found.len() >= 2).then_some(found)
        },
    );
    let burn_trace = wait_for(
        "a /burn trace with profile samples",
        Duration::from_secs(60),
        || {
            let (_, found) =
                agent.get("/api/v0/traces?service=demo-service&resource=GET%20/burn&limit=50");
            found["traces"]
                .as_array()
                .into_iter()
                .flatten()
                .find_map(|t| {
                    let root = t["root"]["span_id"].as_u64()?;
                    let (_, top) = agent.get(&format!(
                        "/api/v0/profiles/top?type=cpu&from={t_mid}&local_root_span_id={root}"
                    ));
                    if top["samples"].as_u64() > Some(0) {
                        t["trace_id"].as_str().map(str::to_owned)
                    } else {
                        None
                    }
                })
        },
    );
    stop_load(&stop, callers);
    let t_end = now_secs() + 1;
    eprintln!("{:?}: spike profiles and hotspots in", began.elapsed());

    // The calm range ends before the first profile that can hold a burn (the filter keeps a
    // profile that overlaps the range, to the second); the spike's range begins after the
    // profile that straddles its start.
    let base_to = calm_end.floor() as i64 - 1;
    let during_from = spike.iter().map(|p| p.0).fold(f64::MAX, f64::min).floor() as i64 + 1;
    assert!(
        t_start < base_to && during_from < t_end,
        "ranges: {t_start}..{base_to}, {during_from}..{t_end}"
    );

    let ui = agent.api_url("");
    let during = format!("service=demo-service&type=cpu&from={during_from}&to={t_end}");
    in_browser(|c| async move {
        // The flame graph of the spike: the frames as drawn (name, value, depth, width in px).
        goto(&c, &format!("{ui}/#/profiles?{during}")).await;
        let frames = wait_script(
            &c,
            "a flame graph with the busy loop",
            &format!(
                "{IS_SPIN_JS} const f = [...document.querySelectorAll('#flame-graph .frame')]; \
                 if (!f.some((e) => isSpin(e.dataset.name))) return null; \
                 return f.map((e) => [e.dataset.name, Number(e.dataset.value), Number(e.dataset.depth), e.getBoundingClientRect().width]);"
            ),
        )
        .await;
        let frames: Vec<(String, f64, u64, f64)> = frames
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| {
                (
                    f[0].as_str().unwrap_or_default().to_owned(),
                    f[1].as_f64().unwrap_or(0.0),
                    f[2].as_u64().unwrap_or(0),
                    f[3].as_f64().unwrap_or(0.0),
                )
            })
            .collect();
        let root = frames.iter().find(|f| f.2 == 0).expect("the root frame");
        assert_eq!(root.0, "root");
        let spin: f64 = frames.iter().filter(|f| is_spin(&f.0)).map(|f| f.1).sum();
        assert!(
            spin > 0.5 * root.1,
            "the busy loop holds most of the CPU: {spin} of {}; frames: {:?}",
            root.1,
            &frames[..frames.len().min(30)]
        );
        // Widths are the frames' shares of the root, to the pixel.
        let widest = frames
            .iter()
            .filter(|f| is_spin(&f.0))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("a spin frame");
        let drawn = widest.3 / root.3;
        let share = widest.1 / root.1;
        assert!(
            (drawn - share).abs() < 0.02,
            "{} drawn at {drawn:.3} of the width for {share:.3} of the samples",
            widest.0
        );
        // The top table: the busy loop first by self time.
        let first = wait_script(
            &c,
            "a top table",
            "const r = document.querySelector('.top-table tr[data-name]'); return r ? r.dataset.name : null;",
        )
        .await;
        assert!(
            first.as_str().is_some_and(is_spin),
            "hottest by self: {first}"
        );
        screenshot(&c, "profiles").await;

        // A click on the busy loop's frame focuses it: full width, its callers above it.
        click(
            &c,
            "#flame-graph .frame[data-name=\"spin\"]:not(.ancestor), \
             #flame-graph .frame[data-name$=\"::spin\"]:not(.ancestor)",
        )
        .await;
        let focused = wait_script(
            &c,
            "the frame focused",
            &format!(
                "{IS_SPIN_JS} const box = document.getElementById('flame-graph').getBoundingClientRect().width; \
                 const f = [...document.querySelectorAll('#flame-graph .frame:not(.ancestor)')][0]; \
                 const up = document.querySelectorAll('#flame-graph .frame.ancestor').length; \
                 return f && isSpin(f.dataset.name) && up > 0 ? [f.getBoundingClientRect().width / box, up] : null;"
            ),
        )
        .await;
        assert!(focused[0].as_f64() > Some(0.98), "focused: {focused}");

        // Before vs during: the busy loop's share grew from the calm to the spike.
        goto(
            &c,
            &format!("{ui}/#/profiles?{during}&base_from={t_start}&base_to={base_to}"),
        )
        .await;
        let row = wait_script(
            &c,
            "the busy loop in the comparison",
            &format!(
                "{IS_SPIN_JS} const r = [...document.querySelectorAll('#profile-diff tr[data-name]')].find((r) => isSpin(r.dataset.name)); \
                 return r ? [r.className, r.querySelector('td.change').textContent] : null;"
            ),
        )
        .await;
        let change: f64 = row[1]
            .as_str()
            .and_then(|t| t.trim_start_matches('+').parse().ok())
            .unwrap_or(0.0);
        assert!(
            row[0] == "grew" && change > 30.0,
            "the busy loop's self share before vs during: {row}"
        );
        screenshot(&c, "profiles_compare").await;

        // A `/burn` trace's code hotspots, and from there its own flame graph.
        goto(&c, &format!("{ui}/#/trace/{burn_trace}")).await;
        wait_text(&c, "#hotspots", "spin").await;
        screenshot(&c, "trace_hotspots").await;
        click(&c, "#hotspots-link").await;
        wait_text(&c, "#profile-spans", "local root span").await;
        wait_script(
            &c,
            "the trace's flame graph",
            &format!(
                "{IS_SPIN_JS} return [...document.querySelectorAll('#flame-graph .frame')].some((e) => isSpin(e.dataset.name)) || null;"
            ),
        )
        .await;
    });
    drop(svc);
}
