//! Monitors on synthetic time: series sent as DogStatsD lines with their own timestamps, the
//! evaluation run at chosen instants, and the exact instants of the transitions checked.

use std::collections::BTreeMap;

use serde_json::json;

use super::definition::{Checked, Monitor};
use super::evaluate::{evaluate, GroupState, Status, Transition};
use super::history::History;
use crate::intake::dogstatsd::aggregator::Aggregator;
use crate::intake::dogstatsd::{handle_packet, Output};

/// A multiple of 10, so buckets and instants line up in the arithmetic of the tests.
const T0: i64 = 1_700_000_000;

struct Lab {
    statsd: Output,
    agg: Aggregator,
}

impl Lab {
    fn new() -> Self {
        Self {
            statsd: Output::detached("lab"),
            agg: Aggregator::default(),
        }
    }

    fn send(&mut self, line: &str) {
        handle_packet(line.as_bytes(), &mut self.agg, &self.statsd);
        let mut store = self.statsd.store.lock();
        self.agg.flush(&mut store);
    }

    /// `metric:value|type|#tags|T<ts>` every `step` seconds over `[from, to)`.
    #[allow(clippy::too_many_arguments)]
    fn series(
        &mut self,
        metric: &str,
        kind: &str,
        tags: &str,
        from: i64,
        to: i64,
        step: i64,
        value: f64,
    ) {
        let mut ts = from;
        while ts < to {
            self.send(&format!("{metric}:{value}|{kind}|#{tags}|T{ts}"));
            ts += step;
        }
    }

    /// Evaluates every `step` seconds over `[from, to]`; returns the transitions.
    fn run(
        &self,
        m: &Checked,
        states: &mut BTreeMap<String, GroupState>,
        from: i64,
        to: i64,
        step: i64,
    ) -> Vec<Transition> {
        let store = self.statsd.store.lock();
        let mut out = Vec::new();
        let mut now = from;
        while now <= to {
            out.extend(evaluate(m, &store, now, states).expect("evaluates"));
            now += step;
        }
        out
    }
}

fn monitor(query: &str, options: serde_json::Value) -> Checked {
    let m: Monitor = serde_json::from_value(json!({
        "id": 7,
        "name": "test monitor",
        "type": "query alert",
        "query": query,
        "message": "{{#is_alert}}{{value}} on {{host.name}}{{/is_alert}}",
        "options": options,
    }))
    .expect("a monitor");
    m.check().expect("valid")
}

fn times(ts: &[Transition]) -> Vec<(i64, &str, Status, Status)> {
    ts.iter()
        .map(|t| (t.ts - T0, t.group.as_str(), t.from, t.to))
        .collect()
}

#[test]
fn require_full_window_waits_for_a_whole_window_of_data() {
    let mut lab = Lab::new();
    lab.series("system.cpu.user", "g", "host:lab", T0, T0 + 600, 15, 95.0);
    let q = "avg(last_5m):avg:system.cpu.user{*} by {host} > 80";

    let full = monitor(q, json!({"require_full_window": true}));
    let mut states = BTreeMap::new();
    let got = lab.run(&full, &mut states, T0, T0 + 400, 1);
    assert_eq!(
        times(&got),
        vec![(290, "host:lab", Status::Ok, Status::Alert)]
    );

    let partial = monitor(q, json!({"require_full_window": false}));
    let mut states = BTreeMap::new();
    let got = lab.run(&partial, &mut states, T0, T0 + 400, 1);
    assert_eq!(
        times(&got),
        vec![(10, "host:lab", Status::Ok, Status::Alert)]
    );
    assert_eq!(got[0].value, Some(95.0));
}

#[test]
fn recovery_thresholds_hold_the_alert_until_the_value_passes_them() {
    let mut lab = Lab::new();
    lab.series("cpu", "g", "host:lab", T0, T0 + 120, 10, 90.0);
    lab.series("cpu", "g", "host:lab", T0 + 120, T0 + 240, 10, 75.0);
    lab.series("cpu", "g", "host:lab", T0 + 240, T0 + 400, 10, 60.0);
    let q = "avg(last_1m):avg:cpu{host:lab} > 80";

    let plain = monitor(q, json!({}));
    let mut states = BTreeMap::new();
    let got = lab.run(&plain, &mut states, T0 + 10, T0 + 390, 10);
    assert_eq!(
        times(&got),
        vec![
            (10, "*", Status::Ok, Status::Alert),
            (160, "*", Status::Alert, Status::Ok)
        ]
    );

    let held = monitor(
        q,
        json!({"thresholds": {"critical": 80, "critical_recovery": 70}}),
    );
    let mut states = BTreeMap::new();
    let got = lab.run(&held, &mut states, T0 + 10, T0 + 390, 10);
    assert_eq!(
        times(&got),
        vec![
            (10, "*", Status::Ok, Status::Alert),
            (260, "*", Status::Alert, Status::Ok)
        ]
    );

    let warned = monitor(q, json!({"thresholds": {"critical": 80, "warning": 70}}));
    let mut states = BTreeMap::new();
    let got = lab.run(&warned, &mut states, T0 + 10, T0 + 390, 10);
    assert_eq!(
        times(&got),
        vec![
            (10, "*", Status::Ok, Status::Alert),
            (160, "*", Status::Alert, Status::Warn),
            (260, "*", Status::Warn, Status::Ok)
        ]
    );
}

#[test]
fn no_data_after_the_timeframe_then_recovery_when_data_returns() {
    let mut lab = Lab::new();
    lab.series("queue", "g", "env:t", T0, T0 + 110, 10, 5.0);
    lab.series("queue", "g", "env:t", T0 + 400, T0 + 500, 10, 5.0);
    let m = monitor(
        "max(last_1m):max:queue{env:t} > 100",
        json!({"notify_no_data": true, "no_data_timeframe": 2}),
    );
    let mut states = BTreeMap::new();
    let got = lab.run(&m, &mut states, T0 + 10, T0 + 490, 10);
    assert_eq!(
        times(&got),
        vec![
            (230, "*", Status::Ok, Status::NoData),
            (410, "*", Status::NoData, Status::Ok)
        ]
    );

    // Without notify_no_data the silence changes nothing.
    let quiet = monitor("max(last_1m):max:queue{env:t} > 100", json!({}));
    let mut states = BTreeMap::new();
    assert!(lab
        .run(&quiet, &mut states, T0 + 10, T0 + 490, 10)
        .is_empty());
}

#[test]
fn multi_alert_groups_fire_alone() {
    let mut lab = Lab::new();
    lab.series("system.cpu.user", "g", "host:a", T0, T0 + 300, 10, 95.0);
    lab.series("system.cpu.user", "g", "host:b", T0, T0 + 300, 10, 20.0);
    let m = monitor(
        "avg(last_1m):avg:system.cpu.user{*} by {host} > 80",
        json!({}),
    );
    let mut states = BTreeMap::new();
    let got = lab.run(&m, &mut states, T0 + 10, T0 + 200, 10);
    assert_eq!(times(&got), vec![(10, "host:a", Status::Ok, Status::Alert)]);
    assert_eq!(states["host:b"].status, Status::Ok);
    assert_eq!(states["host:b"].last_value, Some(20.0));
}

#[test]
fn error_rate_divides_the_window_sums() {
    let mut lab = Lab::new();
    // 100 hits and 3 errors a bucket for a minute, then 100 hits and 20 errors.
    lab.series(
        "trace.http.request.hits",
        "c",
        "service:web",
        T0,
        T0 + 60,
        10,
        100.0,
    );
    lab.series(
        "trace.http.request.errors",
        "c",
        "service:web",
        T0,
        T0 + 60,
        10,
        3.0,
    );
    lab.series(
        "trace.http.request.hits",
        "c",
        "service:web",
        T0 + 60,
        T0 + 120,
        10,
        100.0,
    );
    lab.series(
        "trace.http.request.errors",
        "c",
        "service:web",
        T0 + 60,
        T0 + 120,
        10,
        20.0,
    );
    let m = monitor(
        "sum(last_1m):sum:trace.http.request.errors{service:web}.as_count() / sum:trace.http.request.hits{service:web}.as_count() > 0.05",
        json!({}),
    );
    let mut states = BTreeMap::new();
    assert!(lab.run(&m, &mut states, T0 + 60, T0 + 60, 10).is_empty());
    assert_eq!(states["*"].last_value, Some(0.03));
    let got = lab.run(&m, &mut states, T0 + 120, T0 + 120, 10);
    assert_eq!(times(&got), vec![(120, "*", Status::Ok, Status::Alert)]);
    assert_eq!(got[0].value, Some(0.2));
}

#[test]
fn latency_percentiles_come_from_the_merged_sketches() {
    let mut lab = Lab::new();
    for i in 1..=100 {
        lab.send(&format!(
            "trace.http.request:{}|d|#service:web|T{}",
            f64::from(i) / 100.0,
            T0 + 10 * i64::from(i % 6)
        ));
    }
    let m = monitor(
        "percentile(last_1m):p95:trace.http.request{service:web} > 0.9",
        json!({}),
    );
    let mut states = BTreeMap::new();
    let got = lab.run(&m, &mut states, T0 + 60, T0 + 60, 10);
    assert_eq!(got.len(), 1);
    let p95 = got[0].value.expect("a value");
    assert!((p95 - 0.95).abs() < 0.95 * 0.02, "p95 {p95}");
    let short = monitor(
        "p95(last_1m):trace.http.request{service:web} > 0.99",
        json!({}),
    );
    let mut states = BTreeMap::new();
    assert!(lab
        .run(&short, &mut states, T0 + 60, T0 + 60, 10)
        .is_empty());
    assert!(states["*"]
        .last_value
        .is_some_and(|v| (v - 0.95).abs() < 0.02));
}

#[test]
fn renotify_repeats_while_the_alert_lasts() {
    let mut lab = Lab::new();
    lab.series("cpu", "g", "host:lab", T0, T0 + 1000, 10, 99.0);
    let m = monitor(
        "avg(last_1m):avg:cpu{*} > 80",
        json!({"renotify_interval": 5}),
    );
    let mut states = BTreeMap::new();
    let got = lab.run(&m, &mut states, T0 + 10, T0 + 700, 10);
    let renotified: Vec<i64> = got
        .iter()
        .filter(|t| t.renotify)
        .map(|t| t.ts - T0)
        .collect();
    assert_eq!(renotified, vec![310, 610]);
    assert_eq!(got[1].name(), "Re-Triggered");
}

#[test]
fn evaluation_delay_looks_back() {
    let mut lab = Lab::new();
    lab.series("cpu", "g", "host:lab", T0, T0 + 300, 10, 99.0);
    let m = monitor(
        "avg(last_1m):avg:cpu{*} > 80",
        json!({"evaluation_delay": 60}),
    );
    let mut states = BTreeMap::new();
    let got = lab.run(&m, &mut states, T0 + 10, T0 + 200, 10);
    assert_eq!(times(&got), vec![(70, "*", Status::Ok, Status::Alert)]);
}

/// Queries as Datadog users write them, from its docs and exports: each is parsed and
/// evaluated, or refused with the column and what is supported.
#[test]
fn real_datadog_monitor_queries() {
    let accepted = [
        "avg(last_5m):avg:system.cpu.user{*} by {host} > 80",
        "avg(last_5m):avg:system.cpu.user{host:lab} > 80",
        "max(last_15m):avg:system.mem.pct_usable{*} by {host} < 0.2",
        "avg(last_5m):avg:system.disk.in_use{*} by {host,device} > 0.95",
        "sum(last_5m):sum:trace.http.server.request.errors{env:dev,service:demo-service}.as_count() / sum:trace.http.server.request.hits{env:dev,service:demo-service}.as_count() > 0.05",
        "percentile(last_5m):p95:trace.http.server.request{env:dev,service:demo-service} > 1",
        "p99(last_10m):trace.flask.request{service:flask-demo-bootcamp} >= 2",
        "change(max(last_5m),last_5m):max:container.restarts{*} by {container_name} > 0",
        "pct_change(avg(last_5m),last_1h):avg:system.load.1{*} > 50",
        "avg(last_1h):100 * sum:container.cpu.usage{*} by {container_name} / sum:container.cpu.limit{*} by {container_name} > 80",
        "sum(last_10m):sum:container.restarts{*} by {container_name}.as_count() >= 1",
        "min(last_30m):avg:system.load.norm.1{*} <= 0.1",
        "avg(last_4h):anomalies_placeholder",
    ];
    for q in accepted.iter().filter(|q| !q.contains("placeholder")) {
        let m = monitor(q, json!({}));
        let lab = Lab::new();
        let mut states = BTreeMap::new();
        lab.run(&m, &mut states, T0, T0, 10);
    }
    let refused = [
        (
            "change(last(last_5m),last_5m):avg:system.load.1{*} > 2",
            8,
            "unknown time aggregation",
        ),
        ("change(avg(last_5m)):avg:x{*} > 50", 20, "expected ','"),
        ("avg(last_5x):avg:x{*} > 1", 5, "unknown window"),
        // Found with the fuzz target: the window's seconds overflowed.
        (
            "avg(last_99999999999999w):avg:x{*} > 1",
            5,
            "unknown window",
        ),
        ("avg(last_5m):avg:x{*}", 22, "expected a comparator"),
        ("avg(last_5m):avg:x{*} > high", 24, "not a number"),
        ("avg(last_5m):avg:x{* > 1", 22, "closing the scope"),
        ("avg(last_5m)avg:x{*} > 1", 13, "expected ':'"),
        (
            "avg(last_5m):anomalies(avg:x{*}, 'basic', 2) >= 1",
            14,
            "anomalies() is not supported",
        ),
    ];
    for (q, column, words) in refused {
        let e = super::monitor_query::parse(q).expect_err(q);
        assert_eq!(e.column, column, "{q}: {e}");
        assert!(e.to_string().contains(words), "{q}: {e}");
    }
}

#[test]
fn definitions_that_cannot_work_are_refused_with_the_reason() {
    let check = |v: serde_json::Value| -> String {
        serde_json::from_value::<Monitor>(v)
            .expect("shape")
            .check()
            .expect_err("refused")
    };
    let base = |query: &str, options: serde_json::Value| json!({"name": "m", "type": "metric alert", "query": query, "options": options});
    assert!(check(json!({"name": "m", "type": "service check", "query": "\"http.can_connect\".over(\"*\").last(2).count_by_status()"}))
        .contains("not supported"));
    assert!(check(base(
        "avg(last_5m):avg:x{*} > 80",
        json!({"thresholds": {"critical": 90}})
    ))
    .contains("differs from the query's threshold"));
    assert!(check(base(
        "avg(last_5m):avg:x{*} > 80",
        json!({"thresholds": {"warning": 85}})
    ))
    .contains("warning (85) must be below critical"));
    assert!(check(base(
        "avg(last_5m):avg:x{*} < 10",
        json!({"thresholds": {"critical_recovery": 5}})
    ))
    .contains("must be above critical"));
    assert!(check(base(
        "avg(last_5m):avg:x{*} > 80",
        json!({"thresholds": {"warning_recovery": 5}})
    ))
    .contains("needs a warning"));
    assert!(check(base(
        "avg(last_5m):avg:x{*} > 80",
        json!({"evaluation_delay": -5})
    ))
    .contains("evaluation_delay"));
    // Found with the fuzz target: evaluating this one overflowed the look-back.
    assert!(check(base(
        "avg(last_5m):avg:x{*} > 80",
        json!({"no_data_timeframe": 1e300})
    ))
    .contains("no_data_timeframe must be a number of minutes from 0 to 525600 (a year)"));
}

#[test]
fn history_survives_a_restart_with_the_groups_states() {
    let dir = tempfile::tempdir().expect("temp dir");
    let t = Transition {
        monitor_id: 7,
        group: "host:lab".into(),
        from: Status::Ok,
        to: Status::Alert,
        ts: T0,
        value: Some(93.0),
        renotify: false,
    };
    {
        let mut h = History::open(dir.path()).expect("opens");
        h.record(&t);
        h.record(&Transition {
            renotify: true,
            ts: T0 + 300,
            ..t.clone()
        });
    }
    // A crash in the middle of a line leaves a partial one; it is skipped.
    let path = dir.path().join(super::history::FILE_NAME);
    let mut text = std::fs::read_to_string(&path).expect("history file");
    text.push_str("{\"monitor_id\": 7, \"gro");
    std::fs::write(&path, text).expect("write");

    let h = History::open(dir.path()).expect("reopens");
    assert_eq!(h.skipped_lines, 1);
    assert_eq!(h.of(7).len(), 2);
    let states = h.last_states(7);
    assert_eq!(states["host:lab"].status, Status::Alert);
    assert_eq!(states["host:lab"].since, T0);
    assert_eq!(states["host:lab"].last_triggered, Some(T0));
}

#[test]
fn change_compares_with_the_window_before() {
    let mut lab = Lab::new();
    // A restart counter: 2 restarts until T0+300, then 3.
    lab.series(
        "container.restarts",
        "g",
        "container_name:web",
        T0,
        T0 + 300,
        10,
        2.0,
    );
    lab.series(
        "container.restarts",
        "g",
        "container_name:web",
        T0 + 300,
        T0 + 900,
        10,
        3.0,
    );
    let m = monitor(
        "change(max(last_1m),last_1m):max:container.restarts{*} by {container_name} > 0",
        json!({}),
    );
    let mut states = BTreeMap::new();
    let got = lab.run(&m, &mut states, T0 + 130, T0 + 800, 10);
    assert_eq!(
        times(&got),
        vec![
            (310, "container_name:web", Status::Ok, Status::Alert),
            (370, "container_name:web", Status::Alert, Status::Ok)
        ]
    );
    assert_eq!(got[0].value, Some(1.0));
}
