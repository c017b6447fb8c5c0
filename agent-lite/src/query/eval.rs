//! Evaluation of a parsed query against the store, in Datadog's order: select the series of
//! the metric that match the scope, split them into `by` groups, roll each series up in time
//! (native 10 s points unless `.rollup()` widens them), then aggregate the group in space.
//! Distributions are different: the sketches of a group are merged per interval before a
//! percentile is read, which is what makes `p95:` exact to the sketch's accuracy rather
//! than an average of percentiles.

use std::collections::BTreeMap;

use sketches_ddsketch::DDSketch;

use super::ast::{Aggregator, BinOp, Expr, MetricQuery, Modifier, RollupMethod, Scope, TagFilter};
use crate::store::{Kind, Point, Series as StoredSeries, SeriesKey, Store, RESOLUTION_SECS};

/// One line of the answer: a group of a metric query, or the result of arithmetic on them.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The metric's name (for arithmetic, the expression).
    pub metric: String,
    /// The query that produced this line, with the group's tags in its scope.
    pub expression: String,
    /// The space aggregator, when the line came from one metric query.
    pub aggr: Option<String>,
    /// The scope and the group's tags, comma-separated (`*` when neither).
    pub scope: String,
    /// The `by` tags of this group, `key:value` (`key:N/A` when a series lacked the tag).
    pub tag_set: Vec<String>,
    /// Seconds between points.
    pub interval: i64,
    /// (start of the interval in seconds, value), sorted by time.
    pub points: Vec<(i64, f64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("'{aggregator}:' needs a distribution, but '{metric}' is a {kind} metric")]
    PercentileOfNonDistribution {
        aggregator: String,
        metric: String,
        kind: &'static str,
    },
    #[error("'{metric}' has series of different types ({a} and {b}) in one group")]
    MixedKinds {
        metric: String,
        a: &'static str,
        b: &'static str,
    },
    #[error("a query needs at least one metric; a number alone has no points")]
    NoMetric,
    #[error("the time range is empty: from ({from}) is after to ({to})")]
    EmptyRange { from: i64, to: i64 },
}

/// The time frame of an evaluation: the points in `[from, to]`, in native or rolled-up
/// intervals aligned on the epoch (a graph), or all in one interval starting at `from` and
/// rolled up with `window` (a monitor's time aggregation, applied to each query before any
/// arithmetic between them, as Datadog evaluates `sum(last_5m):a.as_count() / b.as_count()`).
#[derive(Debug, Clone, Copy)]
struct Frame {
    from: i64,
    to: i64,
    window: Option<RollupMethod>,
}

impl Frame {
    fn interval_of(&self, ts: i64, interval: i64) -> i64 {
        match self.window {
            Some(_) => self.from,
            None => interval_of(ts, interval),
        }
    }
}

/// Evaluates `expr` over the points whose interval starts in `[from, to]` (seconds).
pub fn evaluate(expr: &Expr, store: &Store, from: i64, to: i64) -> Result<Vec<Series>, EvalError> {
    evaluate_frame(
        expr,
        store,
        Frame {
            from,
            to,
            window: None,
        },
    )
}

/// Evaluates `expr` with each metric query reduced to one value per group over `[from, to]`
/// by `method` (sketches merged over the whole window for percentiles), then the arithmetic.
pub fn evaluate_window(
    expr: &Expr,
    store: &Store,
    from: i64,
    to: i64,
    method: RollupMethod,
) -> Result<Vec<Series>, EvalError> {
    evaluate_frame(
        expr,
        store,
        Frame {
            from,
            to,
            window: Some(method),
        },
    )
}

fn evaluate_frame(expr: &Expr, store: &Store, frame: Frame) -> Result<Vec<Series>, EvalError> {
    if frame.from > frame.to {
        return Err(EvalError::EmptyRange {
            from: frame.from,
            to: frame.to,
        });
    }
    match operand(expr, store, frame)? {
        Operand::Scalar(_) => Err(EvalError::NoMetric),
        Operand::Lines(lines) => Ok(lines),
    }
}

enum Operand {
    Scalar(f64),
    Lines(Vec<Series>),
}

fn operand(expr: &Expr, store: &Store, frame: Frame) -> Result<Operand, EvalError> {
    match expr {
        Expr::Number(n) => Ok(Operand::Scalar(*n)),
        Expr::Metric(q) => metric_query(q, store, frame).map(Operand::Lines),
        Expr::Binary { op, lhs, rhs } => {
            let l = operand(lhs, store, frame)?;
            let r = operand(rhs, store, frame)?;
            Ok(combine(*op, l, r))
        }
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Count => "count",
        Kind::Gauge => "gauge",
        Kind::Distribution => "distribution",
    }
}

/// Whether a count metric reads as a count per interval when the query says neither
/// `.as_count()` nor `.as_rate()`. Datadog's own default follows the metric's type: trace
/// metrics and the Agent's internal counters are COUNT (shown per interval), while DogStatsD
/// counters reach Datadog as RATE (shown per second).
fn counts_by_default(metric: &str) -> bool {
    metric.starts_with("trace.") || metric.starts_with("datadog.")
}

fn metric_query(q: &MetricQuery, store: &Store, frame: Frame) -> Result<Vec<Series>, EvalError> {
    let mut as_count = counts_by_default(&q.metric);
    let mut rollup: Option<(RollupMethod, Option<u32>)> = None;
    for m in &q.modifiers {
        match m {
            Modifier::AsCount => as_count = true,
            Modifier::AsRate => as_count = false,
            Modifier::Rollup { method, seconds } => rollup = Some((*method, *seconds)),
        }
    }
    let interval = match frame.window {
        Some(_) => frame.to - frame.from + RESOLUTION_SECS,
        None => rollup
            .and_then(|(_, s)| s)
            .map_or(RESOLUTION_SECS, |s| i64::from(s).max(RESOLUTION_SECS)),
    };

    // Group the matching series by the values of their `by` tags.
    let mut groups: BTreeMap<Vec<String>, Vec<(&SeriesKey, &StoredSeries)>> = BTreeMap::new();
    for (key, series) in store.series_named(&q.metric) {
        if !scope_matches(&q.scope, &key.tags) {
            continue;
        }
        let tag_set = q
            .group_by
            .iter()
            .map(|k| format!("{k}:{}", key.tag(k).unwrap_or("N/A")))
            .collect();
        groups.entry(tag_set).or_default().push((key, series));
    }

    let mut out = Vec::with_capacity(groups.len());
    for (tag_set, members) in groups {
        let kind = members[0].1.kind;
        if let Some(other) = members.iter().find(|(_, s)| s.kind != kind) {
            return Err(EvalError::MixedKinds {
                metric: q.metric.clone(),
                a: kind_name(kind),
                b: kind_name(other.1.kind),
            });
        }
        let points = match (kind, q.aggregator) {
            (Kind::Distribution, agg) => distribution_points(&members, agg, interval, frame),
            (k, Aggregator::Percentile(_)) => {
                return Err(EvalError::PercentileOfNonDistribution {
                    aggregator: q.aggregator.name(),
                    metric: q.metric.clone(),
                    kind: kind_name(k),
                })
            }
            (k, agg) => {
                let per_value = if k == Kind::Count && !as_count {
                    1.0 / RESOLUTION_SECS as f64
                } else {
                    1.0
                };
                // Counts add up over a wider interval; rates and gauges average.
                let default_method = if k == Kind::Count && as_count {
                    RollupMethod::Sum
                } else {
                    RollupMethod::Avg
                };
                let method = frame
                    .window
                    .or(rollup.map(|(m, _)| m))
                    .unwrap_or(default_method);
                value_points(&members, agg, method, per_value, interval, frame)
            }
        };
        let scope = scope_text(&q.scope, &tag_set);
        let mut expression = q.clone();
        expression.scope = if scope == "*" {
            Scope::All
        } else {
            Scope::Filter(TagFilter::Tag(scope.clone()))
        };
        expression.group_by.clear();
        out.push(Series {
            metric: q.metric.clone(),
            expression: expression.to_string(),
            aggr: Some(q.aggregator.name()),
            scope,
            tag_set,
            interval,
            points,
        });
    }
    Ok(out)
}

fn interval_of(ts: i64, interval: i64) -> i64 {
    ts - ts.rem_euclid(interval)
}

fn in_range<'a>(
    series: &'a StoredSeries,
    from: i64,
    to: i64,
) -> impl Iterator<Item = (&'a i64, &'a Point)> + 'a {
    series.points.range(from..=to)
}

/// Time rollup per series, then space aggregation per interval.
fn value_points(
    members: &[(&SeriesKey, &StoredSeries)],
    agg: Aggregator,
    method: RollupMethod,
    per_value: f64,
    interval: i64,
    frame: Frame,
) -> Vec<(i64, f64)> {
    // interval start -> the rolled-up value of each series that has points there
    let mut by_time: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (_, series) in members {
        let mut rolled: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for (ts, p) in in_range(series, frame.from, frame.to) {
            rolled
                .entry(frame.interval_of(*ts, interval))
                .or_default()
                .push(p.scalar() * per_value);
        }
        for (t, values) in rolled {
            let v = match method {
                RollupMethod::Avg => values.iter().sum::<f64>() / values.len() as f64,
                RollupMethod::Sum => values.iter().sum(),
                RollupMethod::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
                RollupMethod::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                RollupMethod::Count => values.len() as f64,
            };
            by_time.entry(t).or_default().push(v);
        }
    }
    by_time
        .into_iter()
        .map(|(t, values)| {
            let v = match agg {
                Aggregator::Sum => values.iter().sum(),
                Aggregator::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
                Aggregator::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                Aggregator::Count => values.len() as f64,
                // Percentiles were refused before this point; average as the fallback.
                Aggregator::Avg | Aggregator::Percentile(_) => {
                    values.iter().sum::<f64>() / values.len() as f64
                }
            };
            (t, v)
        })
        .collect()
}

/// Sketches merged per interval across the whole group, then read.
fn distribution_points(
    members: &[(&SeriesKey, &StoredSeries)],
    agg: Aggregator,
    interval: i64,
    frame: Frame,
) -> Vec<(i64, f64)> {
    let mut merged: BTreeMap<i64, DDSketch> = BTreeMap::new();
    for (_, series) in members {
        for (ts, p) in in_range(series, frame.from, frame.to) {
            let Point::Sketch(sketch) = p else { continue };
            match merged.entry(frame.interval_of(*ts, interval)) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(sketch.as_ref().clone());
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    // The store builds every sketch with one configuration, so merging cannot
                    // fail; should it, the interval keeps what it had rather than failing the query.
                    let _ = o.get_mut().merge(sketch);
                }
            }
        }
    }
    merged
        .into_iter()
        .filter_map(|(t, s)| {
            let v = match agg {
                Aggregator::Percentile(p) => s.quantile(p / 100.0).ok().flatten(),
                Aggregator::Avg => s.sum().map(|sum| sum / s.count().max(1) as f64),
                Aggregator::Sum => s.sum(),
                Aggregator::Min => s.min(),
                Aggregator::Max => s.max(),
                Aggregator::Count => Some(s.count() as f64),
            }?;
            Some((t, v))
        })
        .collect()
}

pub fn scope_matches(scope: &Scope, tags: &[String]) -> bool {
    match scope {
        Scope::All => true,
        Scope::Filter(f) => filter_matches(f, tags),
    }
}

fn filter_matches(filter: &TagFilter, tags: &[String]) -> bool {
    match filter {
        TagFilter::Tag(p) => p == "*" || tags.iter().any(|t| glob(p, t)),
        TagFilter::Not(inner) => !filter_matches(inner, tags),
        TagFilter::And(parts) => parts.iter().all(|p| filter_matches(p, tags)),
        TagFilter::Or(parts) => parts.iter().any(|p| filter_matches(p, tags)),
    }
}

/// `*` matches any run of characters; everything else matches itself. Linear-time greedy
/// matching with one backtrack point, so a hostile pattern cannot blow up.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

fn scope_text(scope: &Scope, tag_set: &[String]) -> String {
    let mut parts = Vec::new();
    if let Scope::Filter(f) = scope {
        parts.push(f.to_string());
    }
    parts.extend(tag_set.iter().cloned());
    if parts.is_empty() {
        "*".to_owned()
    } else {
        parts.join(",")
    }
}

/// Arithmetic between operands. Lines are paired by tag set; a single ungrouped line pairs
/// with every line of the other side (as `a{*} / b{*} by {host}` does in Datadog). Points
/// are paired by time; a time present on one side only is left out.
fn combine(op: BinOp, l: Operand, r: Operand) -> Operand {
    match (l, r) {
        (Operand::Scalar(a), Operand::Scalar(b)) => {
            Operand::Scalar(op.apply(a, b).unwrap_or(f64::NAN))
        }
        (Operand::Lines(lines), Operand::Scalar(b)) => Operand::Lines(
            lines
                .into_iter()
                .map(|s| map_points(s, op, |v| op.apply(v, b), &b.to_string(), false))
                .collect(),
        ),
        (Operand::Scalar(a), Operand::Lines(lines)) => Operand::Lines(
            lines
                .into_iter()
                .map(|s| map_points(s, op, |v| op.apply(a, v), &a.to_string(), true))
                .collect(),
        ),
        (Operand::Lines(ls), Operand::Lines(rs)) => {
            let broadcast_l = ls.len() == 1 && ls[0].tag_set.is_empty();
            let broadcast_r = rs.len() == 1 && rs[0].tag_set.is_empty();
            let mut out = Vec::new();
            for l in &ls {
                for r in &rs {
                    if l.tag_set == r.tag_set || broadcast_l || broadcast_r {
                        out.push(pair(op, l, r));
                    }
                }
            }
            Operand::Lines(out)
        }
    }
}

fn map_points(
    mut s: Series,
    op: BinOp,
    f: impl Fn(f64) -> Option<f64>,
    number: &str,
    number_first: bool,
) -> Series {
    s.points = s
        .points
        .into_iter()
        .filter_map(|(t, v)| f(v).map(|v| (t, v)))
        .collect();
    s.expression = if number_first {
        format!("({number} {} {})", op.symbol(), s.expression)
    } else {
        format!("({} {} {number})", s.expression, op.symbol())
    };
    s.aggr = None;
    s
}

fn pair(op: BinOp, l: &Series, r: &Series) -> Series {
    let right: BTreeMap<i64, f64> = r.points.iter().copied().collect();
    let points = l
        .points
        .iter()
        .filter_map(|(t, a)| {
            let b = right.get(t)?;
            op.apply(*a, *b).map(|v| (*t, v))
        })
        .collect();
    let tag_set = if l.tag_set.is_empty() {
        r.tag_set.clone()
    } else {
        l.tag_set.clone()
    };
    let expression = format!("({} {} {})", l.expression, op.symbol(), r.expression);
    Series {
        metric: expression.clone(),
        scope: if l.tag_set.is_empty() {
            r.scope.clone()
        } else {
            l.scope.clone()
        },
        expression,
        aggr: None,
        tag_set,
        interval: l.interval.max(r.interval),
        points,
    }
}
