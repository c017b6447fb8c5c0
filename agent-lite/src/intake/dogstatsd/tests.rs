use proptest::prelude::*;

use super::parser::{parse_line, Line, MetricType, ParseError};
use crate::store::events::{AlertType, Priority};

fn metric(line: &str) -> super::parser::Metric<'_> {
    match parse_line(line) {
        Ok(Line::Metric(m)) => m,
        other => panic!("{line:?}: {other:?}"),
    }
}

#[test]
fn metric_lines_of_every_type() {
    for (line, kind) in [
        ("page.views:1|c", MetricType::Count),
        ("fuel.level:0.5|g", MetricType::Gauge),
        ("song.length:240|h", MetricType::Histogram),
        ("latency:12.5|d", MetricType::Distribution),
        ("db.query:320|ms", MetricType::Timer),
        ("users.uniques:1234|s", MetricType::Set),
    ] {
        assert_eq!(metric(line).kind, kind, "{line}");
    }
}

#[test]
fn optional_fields_in_any_order() {
    let m = metric("req:2|c|#env:dev,service:web|@0.5|T1700000000|c:abc123");
    assert_eq!(m.name, "req");
    assert_eq!(m.values, vec!["2"]);
    assert_eq!(m.sample_rate, 0.5);
    assert_eq!(m.tags, vec!["env:dev", "service:web"]);
    assert_eq!(m.timestamp, Some(1_700_000_000));
    assert_eq!(m.container, Some("abc123"));
    let m = metric("req:2|c|c:abc|T5|@1|#a");
    assert_eq!(
        (m.container, m.timestamp, m.tags),
        (Some("abc"), Some(5), vec!["a"])
    );
}

#[test]
fn several_values_in_one_line() {
    assert_eq!(metric("lat:1:2:3|h|#a:b").values, vec!["1", "2", "3"]);
}

#[test]
fn events_and_service_checks() {
    let Ok(Line::Event(e)) =
        parse_line("_e{21,36}:An exception occurred|Cannot parse CSV file from 10.0.0.17|t:warning|#err_type:bad_file|p:low|h:web1")
    else {
        panic!("not an event");
    };
    assert_eq!(e.title, "An exception occurred");
    assert_eq!(e.text, "Cannot parse CSV file from 10.0.0.17");
    assert_eq!(
        (e.alert_type, e.priority, e.host),
        (AlertType::Warning, Priority::Low, Some("web1"))
    );
    assert_eq!(e.tags, vec!["err_type:bad_file"]);

    let Ok(Line::ServiceCheck(c)) =
        parse_line("_sc|Redis connection|2|#env:dev|m:Redis connection timed out after 10s")
    else {
        panic!("not a service check");
    };
    assert_eq!((c.name, c.status), ("Redis connection", 2));
    assert_eq!(
        c.message.as_deref(),
        Some("Redis connection timed out after 10s")
    );
}

#[test]
fn bad_lines_are_refused_with_a_reason() {
    for (line, reason) in [
        ("novalue|c", "no_value"),
        ("notype:1", "no_type"),
        (":1|c", "empty_name"),
        ("x:1|q", "unknown_type"),
        ("x:abc|c", "bad_value"),
        ("x:NaN|g", "bad_value"),
        ("x:1|c|@2", "bad_sample_rate"),
        ("x:1|c|@0", "bad_sample_rate"),
        ("x:1|c|Tsoon", "bad_timestamp"),
        ("_e{5,4}:ab|cd", "bad_event"),
        ("_e{x,4}:title|text", "bad_event"),
        ("_e{2,40}:ab|short", "bad_event"),
        ("_sc|name|7", "bad_service_check"),
        ("_sc||0", "bad_service_check"),
    ] {
        let err: ParseError = parse_line(line).expect_err(line);
        assert_eq!(err.reason(), reason, "{line}: {err}");
    }
}

proptest! {
    /// Whatever the bytes, the parser answers (no panic), and a well-formed count reads back.
    #[test]
    fn never_panics(line in "\\PC{0,80}") {
        let _ = parse_line(&line);
    }

    #[test]
    fn counts_round_trip(name in "[a-z][a-z0-9_.]{0,30}", v in -1.0e9f64..1.0e9, tags in proptest::collection::vec("[a-z]{1,8}:[a-z0-9]{1,8}", 0..5)) {
        let line = format!("{name}:{v}|c|#{}", tags.join(","));
        let m = metric(&line);
        prop_assert_eq!(m.name, name.as_str());
        prop_assert_eq!(m.values[0].parse::<f64>().ok(), Some(v));
        prop_assert_eq!(m.tags, tags.iter().map(String::as_str).collect::<Vec<_>>());
    }
}
