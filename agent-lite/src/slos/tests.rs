//! SLO definitions and numbers on synthetic data: what Datadog refuses, and the counts.

use serde_json::{json, Value};

use super::definition::check;
use super::sli::{budget_remaining, compute};
use crate::monitors::registry::Registry;
use crate::store::{SeriesKey, Store};

fn metric_slo() -> Value {
    json!({
        "name": "demo availability",
        "type": "metric",
        "thresholds": [{"timeframe": "7d", "target": 99.0, "warning": 99.5}],
        "query": {
            "numerator": "sum:hits{service:demo}.as_count() - sum:errors{service:demo}.as_count()",
            "denominator": "sum:hits{service:demo}.as_count()"
        }
    })
}

fn refused(v: Value) -> (String, String) {
    let e = check(v).expect_err("refused");
    (e.field, e.reason)
}

#[test]
fn bad_definitions_are_refused_naming_the_field() {
    let mut v = metric_slo();
    v.as_object_mut().unwrap().remove("thresholds");
    assert_eq!(refused(v), ("thresholds".into(), "is required".into()));

    let mut v = metric_slo();
    v["thresholds"][0]["target"] = json!(100);
    assert_eq!(refused(v).0, "thresholds[0].target");

    let mut v = metric_slo();
    v["thresholds"][0]["timeframe"] = json!("1d");
    assert_eq!(refused(v).0, "thresholds[0].timeframe");

    let mut v = metric_slo();
    v["thresholds"][0]["warning"] = json!(98);
    let (field, reason) = refused(v);
    assert_eq!(field, "thresholds[0].warning");
    assert!(reason.contains("above the target"), "{reason}");

    let mut v = metric_slo();
    v["query"]["numerator"] = json!("sum:hits{");
    assert_eq!(refused(v).0, "query.numerator");

    let mut v = metric_slo();
    v["type"] = json!("uptime");
    assert_eq!(refused(v).0, "type");

    let v = json!({"name": "m", "type": "monitor", "thresholds": [{"timeframe": "30d", "target": 99.9}]});
    assert_eq!(refused(v).0, "monitor_ids");

    let v = json!({"name": "t", "type": "time_slice", "thresholds": [{"timeframe": "30d", "target": 99.9}],
        "sli_specification": {"time_slice": {"comparator": "=>", "threshold": 1,
            "query": {"formulas": [{"formula": "query1"}], "queries": [{"data_source": "metrics", "name": "query1", "query": "p95:lat{*}"}]}}}});
    assert_eq!(refused(v).0, "sli_specification.time_slice.comparator");
}

fn store_with_traffic() -> Store {
    let mut s = Store::default();
    let hits = SeriesKey::new("hits", vec!["service:demo".into()]);
    let errors = SeriesKey::new("errors", vec!["service:demo".into()]);
    // 10 buckets of 100 requests; errors in two of them only.
    for i in 0..10 {
        s.add_count(hits.clone(), 1000 + i * 10, 100.0);
    }
    s.add_count(errors.clone(), 1020, 3.0);
    s.add_count(errors, 1050, 4.0);
    s
}

#[test]
fn a_metric_slo_counts_exactly_with_buckets_without_errors() {
    let store = store_with_traffic();
    let slo = check(metric_slo()).expect("valid");
    let c = compute(&slo, &store, &Registry::default(), 1000, 1100, Some(50)).expect("computed");
    assert_eq!((c.good, c.total), (993.0, 1000.0));
    assert_eq!(c.sli(), Some(99.3));
    // 7 bad of 10 allowed (1% of 1000): 30% of the budget left.
    assert!((c.budget_remaining(99.0) - 30.0).abs() < 1e-9);
    assert_eq!(
        c.intervals,
        vec![(1000, 497.0, 500.0), (1050, 496.0, 500.0)]
    );
    let burn = c.burn_down(99.0);
    assert!((burn[0].1 - 40.0).abs() < 1e-9, "{burn:?}");
}

#[test]
fn budget_remaining_is_100_without_events_and_negative_over() {
    assert_eq!(budget_remaining(0.0, 0.0, 99.0), 100.0);
    assert!((budget_remaining(980.0, 1000.0, 99.0) + 100.0).abs() < 1e-9);
}

#[test]
fn a_time_slice_slo_counts_bad_minutes_and_missing_data_as_good() {
    let mut store = Store::default();
    let key = SeriesKey::new("latency", vec![]);
    // Minute 0 fast, minute 1 slow, minute 2 without data, minute 3 fast.
    for ts in (0..60).step_by(10) {
        store.set_gauge(key.clone(), 600 + ts, 0.1);
        store.set_gauge(key.clone(), 660 + ts, 2.0);
        store.set_gauge(key.clone(), 780 + ts, 0.2);
    }
    let slo = check(json!({
        "name": "latency", "type": "time_slice",
        "thresholds": [{"timeframe": "7d", "target": 90}],
        "sli_specification": {"time_slice": {"comparator": "<=", "threshold": 0.5, "query_interval_seconds": 60,
            "query": {"formulas": [{"formula": "query1"}], "queries": [{"data_source": "metrics", "name": "query1", "query": "avg:latency{*}"}]}}}
    }))
    .expect("valid");
    let c = compute(&slo, &store, &Registry::default(), 600, 840, None).expect("computed");
    assert_eq!((c.good, c.total), (3.0, 4.0));
}

#[test]
fn formulas_name_whole_queries() {
    let named = vec![
        ("query1".to_owned(), "sum:a{*}".to_owned()),
        ("query10".to_owned(), "sum:b{*}".to_owned()),
    ];
    let e = super::definition::formula_expr("query10 / query1 * 100", &named).expect("parsed");
    assert_eq!(e.to_string(), "((sum:b{*} / sum:a{*}) * 100)");
    assert!(super::definition::formula_expr("query2", &named).is_err());
}

#[test]
fn slo_alert_queries_keep_datadogs_window_bounds() {
    use crate::monitors::slo_alert::{parse, Measure};
    let q = parse(
        r#"burn_rate("abc").over("30d").long_window("1h").short_window("5m") > 14.4"#,
        false,
    )
    .expect("Datadog's example");
    assert_eq!(
        q.measure,
        Measure::BurnRate {
            long_secs: 3600,
            short_secs: 300
        }
    );
    assert_eq!(
        (q.slo_id.as_str(), q.timeframe.as_str(), q.threshold),
        ("abc", "30d", 14.4)
    );
    let short = r#"burn_rate("abc").over("7d").long_window("2m").short_window("30s") > 2"#;
    let e = parse(short, false).expect_err("2m is under Datadog's hour");
    assert!(e.contains("lab_short_windows"), "{e}");
    assert!(
        parse(short, true).is_ok(),
        "allowed when the definition says so"
    );
    let e = parse(
        r#"burn_rate("a").over("7d").long_window("1h").short_window("2h") > 2"#,
        false,
    )
    .expect_err("short over long");
    assert!(e.contains("shorter than the long window"), "{e}");
    let q = parse(r#"error_budget("abc").over("7d") > 75"#, false).expect("budget alert");
    assert_eq!(q.measure, Measure::ErrorBudget);
    assert!(parse(r#"error_budget("abc").over("1d") > 75"#, false).is_err());
    assert!(parse(r#"error_budget("abc").over("7d") > 175"#, false).is_err());
}

#[test]
fn a_burn_rate_alert_needs_both_windows_and_a_reachable_threshold() {
    use crate::monitors::slo_alert::{parse, SloReading};
    let q = parse(
        r#"burn_rate("a").over("7d").long_window("1h").short_window("5m") > 10"#,
        false,
    )
    .expect("valid");
    // 99% target: 5% bad burns 5x; 20% bad burns 20x. The alert takes the smaller.
    let value = q
        .value(|secs| {
            Ok(SloReading {
                target: 99.0,
                good: if secs == 3600 { 95.0 } else { 80.0 },
                total: 100.0,
            })
        })
        .expect("read");
    assert!((value.expect("a value") - 5.0).abs() < 1e-9);
    // A 95% target burns at most 20x: a threshold of 30 is refused, as Datadog does.
    let q = parse(
        r#"burn_rate("a").over("7d").long_window("1h").short_window("5m") > 30"#,
        false,
    )
    .expect("valid");
    let e = q
        .value(|_| {
            Ok(SloReading {
                target: 95.0,
                good: 1.0,
                total: 1.0,
            })
        })
        .expect_err("unreachable");
    assert!(e.contains("most a 95% target can burn"), "{e}");
}

#[test]
fn the_labs_slos_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../compose/slos");
    let loaded = super::loader::load_dir(&dir).expect("compose/slos");
    assert!(loaded.refused.is_empty(), "{:?}", loaded.refused);
    let ids: Vec<&str> = loaded.slos.iter().map(|s| s.id()).collect();
    assert_eq!(
        ids,
        [
            "demo-service-availability",
            "demo-service-latency",
            "inventory-availability",
            "inventory-latency"
        ]
    );
}

#[test]
fn the_labs_slo_alerts_name_lab_slos_within_datadogs_rate_bound() {
    use crate::monitors::definition::Rule;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../compose");
    let slos = super::loader::load_dir(&root.join("slos")).expect("compose/slos");
    let monitors =
        crate::monitors::loader::load_dir(&root.join("monitors")).expect("compose/monitors");
    assert!(monitors.refused.is_empty(), "{:?}", monitors.refused);
    let mut alerts = 0;
    for m in &monitors.monitors {
        let Rule::Slo(q) = &m.rule else { continue };
        alerts += 1;
        let name = &m.monitor.name;
        let slo = slos
            .slos
            .iter()
            .find(|s| s.id() == q.slo_id)
            .unwrap_or_else(|| panic!("{name:?} names SLO {} not in compose/slos", q.slo_id));
        let t = slo
            .threshold(Some(&q.timeframe))
            .unwrap_or_else(|| panic!("{name:?}: SLO {} has no {}", q.slo_id, q.timeframe));
        q.check_rate_bound(t.target)
            .unwrap_or_else(|e| panic!("{name:?}: {e}"));
    }
    assert!(alerts >= 6, "{alerts} slo alerts in compose/monitors");
    // The bound itself: a 99% target burns at most 100 times too fast.
    let q = crate::monitors::slo_alert::parse(
        r#"burn_rate("a").over("7d").long_window("1h").short_window("5m") > 100.5"#,
        false,
    )
    .expect("valid alone");
    assert!(q.check_rate_bound(99.0).is_err());
    assert!(q.check_rate_bound(99.9).is_ok());
}
