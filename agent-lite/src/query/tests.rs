//! Table tests of the parser (real Datadog queries and bad ones), property tests (no input
//! panics; printing a query and parsing it back gives the same tree) and evaluation over a
//! small store.

use proptest::prelude::*;

use super::ast::{Aggregator, BinOp, Expr, MetricQuery, Modifier, RollupMethod, Scope, TagFilter};
use super::{evaluate, parse, parse_list, v1_query};
use crate::store::{new_sketch, Limits, SeriesKey, Store};

fn metric(q: &str) -> MetricQuery {
    match parse(q) {
        Ok(Expr::Metric(m)) => m,
        other => panic!("{q}: expected a metric query, got {other:?}"),
    }
}

fn tag(t: &str) -> TagFilter {
    TagFilter::Tag(t.to_owned())
}

#[test]
fn queries_as_datadog_users_write_them() {
    let m = metric(
        "sum:trace.http.server.request.hits{service:demo-service,env:dev} by {resource_name,http.status_code}.as_count()",
    );
    assert_eq!(m.aggregator, Aggregator::Sum);
    assert_eq!(m.metric, "trace.http.server.request.hits");
    assert_eq!(
        m.scope,
        Scope::Filter(TagFilter::And(vec![
            tag("service:demo-service"),
            tag("env:dev")
        ]))
    );
    assert_eq!(m.group_by, ["resource_name", "http.status_code"]);
    assert_eq!(m.modifiers, [Modifier::AsCount]);

    let m = metric("p95:trace.http.server.request{service:demo-service}");
    assert_eq!(m.aggregator, Aggregator::Percentile(95.0));
    assert_eq!(
        metric("p99.9:x{*}").aggregator,
        Aggregator::Percentile(99.9)
    );

    let m = metric("system.load.1{*}");
    assert_eq!(
        (m.aggregator, m.explicit_aggregator, m.scope),
        (Aggregator::Avg, false, Scope::All)
    );
    assert_eq!(metric("avg:system.cpu.user{}").scope, Scope::All);

    // `by` before or after the modifiers, no space before `{`, `!` and wildcards.
    let m = metric(
        "max:container.cpu.usage{!container_name:agent*,env:dev}.as_rate() by{container_name}",
    );
    assert_eq!(
        m.scope,
        Scope::Filter(TagFilter::And(vec![
            TagFilter::Not(Box::new(tag("container_name:agent*"))),
            tag("env:dev"),
        ]))
    );
    assert_eq!(m.group_by, ["container_name"]);
    assert_eq!(m.modifiers, [Modifier::AsRate]);

    let m = metric("avg:system.cpu.user{host:a OR host:b AND NOT env:prod}.rollup(max, 60)");
    assert_eq!(
        m.scope,
        Scope::Filter(TagFilter::Or(vec![
            tag("host:a"),
            TagFilter::And(vec![
                tag("host:b"),
                TagFilter::Not(Box::new(tag("env:prod")))
            ]),
        ]))
    );
    assert_eq!(
        m.modifiers,
        [Modifier::Rollup {
            method: RollupMethod::Max,
            seconds: Some(60)
        }]
    );
    // Tag values keep their colons, slashes and spaces-free punctuation.
    assert_eq!(
        metric("sum:x{resource_name:get_/api/v1,url:http://a:80/}").scope,
        Scope::Filter(TagFilter::And(vec![
            tag("resource_name:get_/api/v1"),
            tag("url:http://a:80/")
        ]))
    );
}

#[test]
fn arithmetic_between_queries_as_monitors_use_it() {
    let e = parse(
        "sum:trace.x.errors{service:a}.as_count() / sum:trace.x.hits{service:a}.as_count() * 100",
    )
    .unwrap();
    let Expr::Binary {
        op: BinOp::Mul,
        lhs,
        rhs,
    } = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*rhs, Expr::Number(100.0));
    assert!(matches!(*lhs, Expr::Binary { op: BinOp::Div, .. }));
    assert_eq!(parse("-2").unwrap(), Expr::Number(-2.0));
    assert_eq!(parse("1.5e3 - 2").unwrap().to_string(), "(1500 - 2)");
    assert_eq!(parse_list("a{*}, b{*} by {host}").unwrap().len(), 2);
}

#[test]
fn bad_queries_say_what_and_where() {
    for (query, column, words) in [
        ("", 1, "expected a metric query"),
        ("avg:", 5, "metric name"),
        ("median:x{*}", 1, "unknown aggregator 'median'"),
        ("p0:x{*}", 1, "unknown aggregator"),
        ("p101:x{*}", 1, "unknown aggregator"),
        ("avg:x", 6, "'{'"),
        ("avg:x{a:b", 10, "closing the scope"),
        ("avg:x{a:b} by resource", 15, "'{' after 'by'"),
        ("avg:x{a:b} by {}", 16, "tag key"),
        (
            "avg:x{a:b}.as_cnt()",
            12,
            "unsupported function '.as_cnt()'",
        ),
        ("avg:x{a:b}.rollup(median)", 19, "unknown rollup method"),
        ("avg:x{a:b}.rollup(sum, 0)", 24, "positive number"),
        ("avg:x{,a:b}", 7, "expected a tag"),
        ("avg:x{a:b,}", 11, "expected a tag"),
        ("avg:x{a:b} by {h} by {h}", 19, "'by' given twice"),
        ("avg:x{*} avg:y{*}", 10, "an operator"),
        ("avg:x..y{*}", 5, "empty segment"),
        ("avg:9x{*}", 5, "metric name"),
        ("1.2.3", 1, "invalid number"),
        ("(avg:x{*}", 10, "')'"),
        ("avg:x{*} /", 11, "expected a metric query"),
        ("avg:x{é}}", 9, "an operator"),
    ] {
        let err = parse(query).expect_err(query);
        assert_eq!(err.column, column, "{query:?}: {err}");
        assert!(err.to_string().contains(words), "{query:?}: {err}");
    }
    let deep = format!("{}x{{*}}{}", "(".repeat(100), ")".repeat(100));
    assert!(parse(&deep).unwrap_err().message.contains("nested deeper"));
    let long = format!("x{{{}}}", "a".repeat(5000));
    assert!(parse(&long).unwrap_err().message.contains("longer than"));
}

// Generated trees for the round-trip property.
fn arb_tag() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.-]{0,6}(:[a-z0-9_./*-]{1,6})?"
}

fn arb_filter() -> impl Strategy<Value = TagFilter> {
    let leaf = arb_tag().prop_map(TagFilter::Tag);
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| TagFilter::Not(Box::new(f))),
            prop::collection::vec(inner.clone(), 2..4).prop_map(TagFilter::And),
            prop::collection::vec(inner, 2..4).prop_map(TagFilter::Or),
        ]
    })
}

fn arb_metric() -> impl Strategy<Value = MetricQuery> {
    (
        prop_oneof![
            Just(Aggregator::Avg),
            Just(Aggregator::Sum),
            Just(Aggregator::Min),
            Just(Aggregator::Max),
            Just(Aggregator::Count),
            (1u32..=100).prop_map(|p| Aggregator::Percentile(f64::from(p))),
        ],
        any::<bool>(),
        "[a-z][a-z0-9_]{0,5}(\\.[a-z0-9_]{1,5}){0,3}",
        prop::option::of(arb_filter()),
        prop::collection::vec("[a-z][a-z0-9_.]{0,5}", 0..3),
        prop::collection::vec(
            prop_oneof![
                Just(Modifier::AsCount),
                Just(Modifier::AsRate),
                (
                    prop_oneof![
                        Just(RollupMethod::Avg),
                        Just(RollupMethod::Sum),
                        Just(RollupMethod::Max)
                    ],
                    prop::option::of(1u32..3600)
                )
                    .prop_map(|(method, seconds)| Modifier::Rollup { method, seconds }),
            ],
            0..3,
        ),
    )
        .prop_map(
            |(aggregator, explicit, metric, filter, group_by, modifiers)| MetricQuery {
                // Without a prefix the aggregator is avg, so only avg can be implicit.
                aggregator: if explicit {
                    aggregator
                } else {
                    Aggregator::Avg
                },
                explicit_aggregator: explicit,
                metric,
                scope: filter.map_or(Scope::All, |f| match f {
                    // A bare `*` scope prints as `{*}` and parses back as All.
                    TagFilter::Tag(t) if t == "*" => Scope::All,
                    f => Scope::Filter(f),
                }),
                group_by,
                modifiers,
            },
        )
}

fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        arb_metric().prop_map(Expr::Metric),
        (0u32..10_000).prop_map(|n| Expr::Number(f64::from(n) / 4.0)),
    ];
    leaf.prop_recursive(3, 8, 2, |inner| {
        (
            prop_oneof![
                Just(BinOp::Add),
                Just(BinOp::Sub),
                Just(BinOp::Mul),
                Just(BinOp::Div)
            ],
            inner.clone(),
            inner,
        )
            .prop_map(|(op, l, r)| Expr::Binary {
                op,
                lhs: Box::new(l),
                rhs: Box::new(r),
            })
    })
}

proptest! {
    #[test]
    fn no_input_makes_the_parser_panic(s in "\\PC{0,80}") {
        let _ = parse(&s);
    }

    #[test]
    fn near_miss_queries_never_panic(s in "[a-z0-9:{}(),.!* /+-]{0,60}") {
        let _ = parse_list(&s);
    }

    #[test]
    fn printed_queries_parse_back_to_the_same_tree(e in arb_expr()) {
        let text = e.to_string();
        let back = parse(&text).map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
        prop_assert_eq!(back, e, "{}", text);
    }
}

// Evaluation.

fn key(name: &str, tags: &[&str]) -> SeriesKey {
    SeriesKey::new(name, tags.iter().map(|t| t.to_string()).collect())
}

/// (tag set, points) of each line of the answer.
type Lines = Vec<(Vec<String>, Vec<(i64, f64)>)>;

fn points(store: &Store, q: &str, from: i64, to: i64) -> Lines {
    let e = parse(q).unwrap();
    evaluate(&e, store, from, to)
        .unwrap()
        .into_iter()
        .map(|s| (s.tag_set, s.points))
        .collect()
}

fn hits_store() -> Store {
    let mut s = Store::new(Limits::default());
    s.add_count(
        key("trace.op.hits", &["service:a", "resource_name:get_/"]),
        1000,
        4.0,
    );
    s.add_count(
        key("trace.op.hits", &["service:a", "resource_name:get_/slow"]),
        1000,
        6.0,
    );
    s.add_count(
        key("trace.op.hits", &["service:a", "resource_name:get_/slow"]),
        1010,
        2.0,
    );
    s.add_count(
        key("trace.op.hits", &["service:b", "resource_name:get_/"]),
        1000,
        100.0,
    );
    s.add_count(
        key("trace.op.errors", &["service:a", "resource_name:get_/slow"]),
        1000,
        3.0,
    );
    s.add_count(key("app.requests", &["service:a"]), 1000, 50.0);
    s
}

#[test]
fn scope_group_and_space_aggregation() {
    let s = hits_store();
    assert_eq!(
        points(&s, "sum:trace.op.hits{service:a}.as_count()", 990, 1020),
        [(vec![], vec![(1000, 10.0), (1010, 2.0)])]
    );
    assert_eq!(
        points(
            &s,
            "sum:trace.op.hits{service:a} by {resource_name}",
            990,
            1020
        ),
        [
            (vec!["resource_name:get_/".to_string()], vec![(1000, 4.0)]),
            (
                vec!["resource_name:get_/slow".to_string()],
                vec![(1000, 6.0), (1010, 2.0)]
            ),
        ],
        "trace metrics are counts per interval by default"
    );
    assert_eq!(
        points(&s, "avg:trace.op.hits{!service:b}", 1000, 1000),
        [(vec![], vec![(1000, 5.0)])]
    );
    assert_eq!(
        points(&s, "max:trace.op.hits{service:a OR service:b}", 1000, 1000),
        [(vec![], vec![(1000, 100.0)])]
    );
    assert_eq!(
        points(&s, "count:trace.op.hits{resource_name:get_*}", 1000, 1000),
        [(vec![], vec![(1000, 3.0)])]
    );
    assert_eq!(
        points(&s, "sum:trace.op.hits{*} by {host}", 1000, 1000)[0].0,
        ["host:N/A"]
    );
    assert!(points(&s, "sum:trace.op.hits{service:nope}", 0, 9999).is_empty());
    assert!(points(&s, "sum:no.such.metric{*}", 0, 9999).is_empty());
}

#[test]
fn dogstatsd_counts_are_rates_unless_asked_as_counts() {
    let s = hits_store();
    assert_eq!(
        points(&s, "sum:app.requests{*}", 1000, 1000),
        [(vec![], vec![(1000, 5.0)])]
    );
    assert_eq!(
        points(&s, "sum:app.requests{*}.as_count()", 1000, 1000),
        [(vec![], vec![(1000, 50.0)])]
    );
    assert_eq!(
        points(&s, "sum:trace.op.hits{service:b}.as_rate()", 1000, 1000),
        [(vec![], vec![(1000, 10.0)])]
    );
}

#[test]
fn rollup_widens_intervals() {
    let s = hits_store();
    assert_eq!(
        points(
            &s,
            "sum:trace.op.hits{service:a}.rollup(sum, 60)",
            960,
            1079
        ),
        [(vec![], vec![(960, 12.0)])]
    );
    assert_eq!(
        points(
            &s,
            "sum:trace.op.hits{service:a}.rollup(count, 60)",
            960,
            1079
        ),
        [(vec![], vec![(960, 3.0)])],
        "count: points per series in the interval, summed over the two series"
    );
}

#[test]
fn error_rate_is_errors_over_hits_per_group() {
    let s = hits_store();
    let got = points(
        &s,
        "sum:trace.op.errors{service:a} by {resource_name}.as_count() / sum:trace.op.hits{service:a} by {resource_name}.as_count() * 100",
        1000,
        1000,
    );
    assert_eq!(
        got,
        [(
            vec!["resource_name:get_/slow".to_string()],
            vec![(1000, 50.0)]
        )]
    );
    // One ungrouped line pairs with every group of the other side.
    let got = points(
        &s,
        "sum:trace.op.hits{service:a} by {resource_name} / sum:trace.op.hits{service:a}",
        1000,
        1000,
    );
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].1, [(1000, 0.4)]);
    // Division by zero leaves a gap rather than infinity.
    let got = points(&s, "sum:trace.op.hits{*} / 0", 1000, 1000);
    assert!(got[0].1.is_empty());
}

#[test]
fn percentiles_merge_the_sketches_of_a_group() {
    let mut s = Store::new(Limits::default());
    for (service, range) in [("a", 1..=50), ("b", 51..=100)] {
        let mut sketch = new_sketch();
        for ms in range {
            sketch.add(f64::from(ms) / 1000.0);
        }
        s.merge_sketch(
            key("trace.op", &[&format!("service:{service}")]),
            1000,
            &sketch,
        );
    }
    let p95 = points(&s, "p95:trace.op{*}", 1000, 1000)[0].1[0].1;
    assert!(
        (p95 - 0.095).abs() <= 0.095 * 0.02,
        "p95 of both services together: {p95}"
    );
    let max = points(&s, "max:trace.op{service:a}", 1000, 1000)[0].1[0].1;
    assert!((max - 0.05).abs() < 1e-9, "{max}");
    assert_eq!(
        points(&s, "count:trace.op{*}", 1000, 1000)[0].1,
        [(1000, 100.0)]
    );
    let err = evaluate(
        &parse("p95:trace.op.hits{*}").unwrap(),
        &hits_store(),
        0,
        9999,
    )
    .unwrap_err();
    assert!(err.to_string().contains("needs a distribution"), "{err}");
}

#[test]
fn v1_response_has_datadogs_shape() {
    let s = hits_store();
    let r = v1_query(
        &s,
        "sum:trace.op.hits{service:a} by {resource_name}.as_count()",
        990,
        1020,
    )
    .unwrap();
    assert_eq!(r["status"], "ok");
    assert_eq!(r["res_type"], "time_series");
    assert_eq!(r["from_date"], 990_000);
    assert_eq!(r["group_by"], serde_json::json!(["resource_name"]));
    let first = &r["series"][0];
    assert_eq!(first["metric"], "trace.op.hits");
    assert_eq!(first["scope"], "service:a,resource_name:get_/");
    assert_eq!(first["tag_set"], serde_json::json!(["resource_name:get_/"]));
    assert_eq!(first["pointlist"], serde_json::json!([[1_000_000.0, 4.0]]));
    assert_eq!(first["aggr"], "sum");
    assert_eq!(first["length"], 1);
    let err = v1_query(&s, "median:x{*}", 0, 1).unwrap_err();
    assert!(err.to_string().contains("column 1"), "{err}");
}

/// Found by fuzzing: `from` and `to` come from the URL, and the answer's milliseconds
/// overflowed for times beyond ±292 million years.
#[test]
fn any_range_a_url_can_carry_is_answered() {
    let s = hits_store();
    let q = "sum:trace.op.hits{*} by {resource_name}.as_count()";
    let r = v1_query(&s, q, i64::MIN, i64::MAX).unwrap();
    assert_eq!(r["from_date"], i64::MIN);
    assert_eq!(r["to_date"], i64::MAX);
    assert!(!r["series"].as_array().unwrap().is_empty());
}
