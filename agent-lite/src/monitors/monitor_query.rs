//! A metric monitor's query: `<time aggregation>(<window>):<metric query> <comparator> <number>`,
//! e.g. `avg(last_5m):avg:system.cpu.user{*} by {host} > 80`.
//!
//! Hand-written around the metric query parser: the frame is three tokens, and errors must
//! carry the column in the whole query, which the user pastes from Datadog.

use std::fmt;

use crate::query::ast::{Aggregator, Expr, RollupMethod};
use crate::query::parser;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeAggregation {
    Avg,
    Sum,
    Min,
    Max,
    /// `percentile(window)` on a `pNN:` query, or `pNN(window)` on a distribution.
    Percentile(Option<u32>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparator {
    Above,
    AboveOrEqual,
    Below,
    BelowOrEqual,
}

impl Comparator {
    /// Whether `value` is past `threshold` in the alerting direction.
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparator::Above => value > threshold,
            Comparator::AboveOrEqual => value >= threshold,
            Comparator::Below => value < threshold,
            Comparator::BelowOrEqual => value <= threshold,
        }
    }

    /// Whether `a` is strictly on the safe side of `b`.
    pub fn before(self, a: f64, b: f64) -> bool {
        match self {
            Comparator::Above | Comparator::AboveOrEqual => a < b,
            Comparator::Below | Comparator::BelowOrEqual => a > b,
        }
    }

    pub fn safe_word(self) -> &'static str {
        match self {
            Comparator::Above | Comparator::AboveOrEqual => "below",
            Comparator::Below | Comparator::BelowOrEqual => "above",
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Comparator::Above => ">",
            Comparator::AboveOrEqual => ">=",
            Comparator::Below => "<",
            Comparator::BelowOrEqual => "<=",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub shift_secs: i64,
    /// `pct_change`: the difference as a percent of the earlier value.
    pub percent: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MonitorQuery {
    pub time_aggregation: TimeAggregation,
    pub window_secs: i64,
    /// `change(...)`/`pct_change(...)`: the value is compared with the one `shift_secs` ago.
    pub change: Option<Change>,
    pub expr: Expr,
    pub comparator: Comparator,
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// 1-based column in the monitor's query.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at column {}: {}", self.column, self.message)
    }
}

const SUPPORTED: &str = "supported: [change|pct_change(]avg|sum|min|max|percentile|pNN(last_<N>s|m|h|d|w)[,last_<N>m)]:<metric query> >|>=|<|<= <number>";

fn err(column: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        column,
        message: format!("{} ({SUPPORTED})", message.into()),
    }
}

pub fn parse(query: &str) -> Result<MonitorQuery, QueryError> {
    let lead = query.len() - query.trim_start().len();
    // `change(avg(last_5m),last_5m):` and `pct_change(...)` wrap the time aggregation.
    let (change_kind, frame) = if query[lead..].starts_with("change(") {
        (Some(false), lead + "change(".len())
    } else if query[lead..].starts_with("pct_change(") {
        (Some(true), lead + "pct_change(".len())
    } else {
        (None, lead)
    };
    let open = query[frame..].find('(').map(|i| frame + i).ok_or_else(|| {
        err(
            frame + 1,
            "expected a time aggregation such as avg(last_5m):",
        )
    })?;
    let agg_text = query[frame..open].trim();
    let time_aggregation = match agg_text {
        "avg" => TimeAggregation::Avg,
        "sum" => TimeAggregation::Sum,
        "min" => TimeAggregation::Min,
        "max" => TimeAggregation::Max,
        "percentile" => TimeAggregation::Percentile(None),
        p if p.len() > 1 && p.starts_with('p') => match p[1..].parse::<u32>() {
            Ok(n) if (1..=100).contains(&n) => TimeAggregation::Percentile(Some(n)),
            _ => return Err(err(frame + 1, format!("unknown time aggregation {p:?}"))),
        },
        other => {
            return Err(err(
                frame + 1,
                format!("unknown time aggregation {other:?}"),
            ))
        }
    };
    let close = query[open..]
        .find(')')
        .map(|i| open + i)
        .ok_or_else(|| err(open + 1, "the time window is not closed with ')'"))?;
    let window_secs = window(&query[open + 1..close]).ok_or_else(|| {
        err(
            open + 2,
            format!("unknown window {:?}", &query[open + 1..close]),
        )
    })?;
    let mut rest_start = close + 1;
    let change = match change_kind {
        None => None,
        Some(percent) => {
            if !query[rest_start..].starts_with(',') {
                return Err(err(
                    rest_start + 1,
                    "expected ',' and the shift, as change(avg(last_5m),last_5m)",
                ));
            }
            let shift_end = query[rest_start..]
                .find(')')
                .map(|i| rest_start + i)
                .ok_or_else(|| err(rest_start + 1, "change( is not closed with ')'"))?;
            let shift_secs = window(&query[rest_start + 1..shift_end]).ok_or_else(|| {
                err(
                    rest_start + 2,
                    format!("unknown shift {:?}", &query[rest_start + 1..shift_end]),
                )
            })?;
            rest_start = shift_end + 1;
            Some(Change {
                shift_secs,
                percent,
            })
        }
    };
    if !query[rest_start..].starts_with(':') {
        return Err(err(rest_start + 1, "expected ':' after the time window"));
    }
    let expr_start = rest_start + 1;
    // Metric queries never contain '<' or '>', so the last one is the comparator.
    let cmp_at = query[expr_start..]
        .rfind(['<', '>'])
        .map(|i| expr_start + i)
        .ok_or_else(|| {
            err(
                query.len() + 1,
                "expected a comparator and a threshold, such as '> 80'",
            )
        })?;
    let cmp_start = cmp_at;
    let (comparator, cmp_len) = comparator_at(&query[cmp_at..]);
    let threshold_text = query[cmp_start + cmp_len..].trim();
    let threshold: f64 = threshold_text
        .parse()
        .ok()
        .filter(|t: &f64| t.is_finite())
        .ok_or_else(|| {
            err(
                cmp_start + cmp_len + 1,
                format!("the threshold {threshold_text:?} is not a number"),
            )
        })?;
    let expr_text = &query[expr_start..cmp_start];
    // Datadog's functions (anomalies, forecast, outliers, abs, timeshift, ...) wrap a query
    // in `name(`; the metric parser would call it a metric without a scope.
    let trimmed = expr_text.trim_start();
    if let Some(paren) = trimmed.find('(') {
        let name = &trimmed[..paren];
        if !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.contains(':')
        {
            return Err(err(
                expr_start + (expr_text.len() - trimmed.len()) + 1,
                format!("the function {name}() is not supported; agent-lite evaluates metric queries and arithmetic between them"),
            ));
        }
    }
    let mut expr = parser::parse(expr_text).map_err(|e| QueryError {
        column: expr_start + e.column,
        message: e.message,
    })?;
    if let TimeAggregation::Percentile(Some(p)) = time_aggregation {
        // `p95(last_5m):trace.x{..}`: the percentile of the distribution over the window.
        set_percentile(&mut expr, p);
    }
    Ok(MonitorQuery {
        time_aggregation,
        window_secs,
        change,
        expr,
        comparator,
        threshold,
    })
}

/// The comparator at the start of `text`, which begins with '<' or '>', and its length.
fn comparator_at(text: &str) -> (Comparator, usize) {
    let or_equal = text[1..].starts_with('=');
    match (text.starts_with('<'), or_equal) {
        (true, true) => (Comparator::BelowOrEqual, 2),
        (true, false) => (Comparator::Below, 1),
        (false, true) => (Comparator::AboveOrEqual, 2),
        (false, false) => (Comparator::Above, 1),
    }
}

fn set_percentile(expr: &mut Expr, p: u32) {
    match expr {
        Expr::Metric(q) => q.aggregator = Aggregator::Percentile(f64::from(p)),
        Expr::Binary { lhs, rhs, .. } => {
            set_percentile(lhs, p);
            set_percentile(rhs, p);
        }
        Expr::Number(_) => {}
    }
}

/// `last_5m`, `last_1h`, `last_30s`, `last_1d`, `last_1w`.
fn window(text: &str) -> Option<i64> {
    let spec = text.trim().strip_prefix("last_")?;
    let unit = spec.chars().last()?;
    let n: i64 = spec[..spec.len() - unit.len_utf8()].parse().ok()?;
    let unit_secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    // Checked: `last_99999999999999w` overflowed (found with the monitor fuzz target).
    let secs = n.checked_mul(unit_secs)?;
    (10..=7 * 86_400).contains(&secs).then_some(secs)
}

impl TimeAggregation {
    /// How each metric query is reduced over the window.
    pub fn rollup(self) -> RollupMethod {
        match self {
            TimeAggregation::Avg => RollupMethod::Avg,
            TimeAggregation::Sum => RollupMethod::Sum,
            TimeAggregation::Min => RollupMethod::Min,
            TimeAggregation::Max => RollupMethod::Max,
            // Sketches are merged over the window whatever the method.
            TimeAggregation::Percentile(_) => RollupMethod::Avg,
        }
    }
}

impl MonitorQuery {
    /// A multi-alert monitor: one state per `by` group.
    pub fn is_grouped(&self) -> bool {
        fn grouped(e: &Expr) -> bool {
            match e {
                Expr::Metric(q) => !q.group_by.is_empty(),
                Expr::Binary { lhs, rhs, .. } => grouped(lhs) || grouped(rhs),
                Expr::Number(_) => false,
            }
        }
        grouped(&self.expr)
    }
}
