//! The numbers of an SLO over a time range, as Datadog computes them:
//!
//! - metric: the numerator's and the denominator's counts summed over the range; SLI = good /
//!   total. Each metric query is read per 10 s bucket, its groups summed, and a bucket where
//!   one side has no point counts 0 there (a count that did not happen), so that
//!   `hits - errors` keeps the hits of a bucket without errors;
//! - time_slice: the range cut into whole slices aligned on the epoch; a slice is good when
//!   the formula over it meets the threshold, and a slice without data counts as good, as
//!   Datadog counts missing data as uptime;
//! - monitor: seconds of uptime over the range; the SLO is down while any of its monitors (or
//!   of its `groups`) is in Alert; Warn and No Data are uptime, as in Datadog.
//!
//! Error budget remaining = 1 - bad / (total × (1 - target)), in percent: 100 with nothing
//! spent, 0 spent exactly, negative over. Pure: the store, the monitors and the range come in.

use std::collections::BTreeMap;

use super::definition::{CheckedSlo, Indicator};
use crate::monitors::evaluate::Status;
use crate::monitors::monitor_query::Comparator;
use crate::monitors::registry::Registry;
use crate::query::ast::{Expr, RollupMethod};
use crate::query::eval::{self, EvalError};
use crate::store::{Store, RESOLUTION_SECS};

/// Good and total over a range, with the per-interval detail when asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Computation {
    pub good: f64,
    pub total: f64,
    /// Start of each interval (seconds), with its good and total.
    pub intervals: Vec<(i64, f64, f64)>,
    /// Monitor SLOs: (ts, 0 up / 1 down) at each change, Datadog's `history`.
    pub transitions: Vec<(i64, u8)>,
    /// What could not be read (a monitor that does not exist, ...).
    pub errors: Vec<String>,
}

impl Computation {
    pub fn bad(&self) -> f64 {
        self.total - self.good
    }

    /// Percent good; none without any event.
    pub fn sli(&self) -> Option<f64> {
        (self.total > 0.0).then(|| 100.0 * self.good / self.total)
    }

    /// Percent of the error budget left for `target` (percent); 100 without any event.
    pub fn budget_remaining(&self, target: f64) -> f64 {
        budget_remaining(self.good, self.total, target)
    }

    /// Good over total of the bad: the share of events that were bad, 0 without any.
    pub fn bad_fraction(&self) -> f64 {
        if self.total > 0.0 {
            self.bad() / self.total
        } else {
            0.0
        }
    }

    /// The remaining budget after each interval, counted from the range's start.
    pub fn burn_down(&self, target: f64) -> Vec<(i64, f64)> {
        let (mut good, mut total) = (0.0, 0.0);
        self.intervals
            .iter()
            .map(|&(ts, g, t)| {
                good += g;
                total += t;
                (ts, budget_remaining(good, total, target))
            })
            .collect()
    }
}

pub fn budget_remaining(good: f64, total: f64, target: f64) -> f64 {
    let allowed = total * (1.0 - target / 100.0);
    if total <= 0.0 || allowed <= 0.0 {
        return 100.0;
    }
    100.0 * (1.0 - (total - good) / allowed)
}

/// The SLO over `[from, to)` (seconds); `interval` (a multiple of 10 s) cuts the detail.
pub fn compute(
    slo: &CheckedSlo,
    store: &Store,
    monitors: &Registry,
    from: i64,
    to: i64,
    interval: Option<i64>,
) -> Result<Computation, EvalError> {
    if from >= to {
        return Err(EvalError::EmptyRange { from, to });
    }
    match &slo.indicator {
        Indicator::Metric {
            numerator,
            denominator,
        } => metric(numerator, denominator, store, from, to, interval),
        Indicator::TimeSlice {
            expr,
            comparator,
            threshold,
            slice_secs,
        } => time_slice(expr, *comparator, *threshold, *slice_secs, store, from, to),
        Indicator::Monitor { ids, groups } => {
            Ok(monitor_uptime(ids, groups, monitors, from, to, interval))
        }
    }
}

/// One side of a metric SLO, per 10 s bucket.
enum Buckets {
    Constant(f64),
    Points(BTreeMap<i64, f64>),
}

fn buckets(expr: &Expr, store: &Store, from: i64, to: i64) -> Result<Buckets, EvalError> {
    Ok(match expr {
        Expr::Number(n) => Buckets::Constant(*n),
        Expr::Metric(_) => {
            let mut points = BTreeMap::new();
            // Points are stamped with their bucket's start: the last bucket of [from, to).
            for line in eval::evaluate(expr, store, from, to - 1)? {
                for (ts, v) in line.points {
                    *points.entry(ts).or_insert(0.0) += v;
                }
            }
            Buckets::Points(points)
        }
        Expr::Binary { op, lhs, rhs } => {
            let (l, r) = (
                buckets(lhs, store, from, to)?,
                buckets(rhs, store, from, to)?,
            );
            let apply = |a: f64, b: f64| op.apply(a, b).unwrap_or(0.0);
            match (l, r) {
                (Buckets::Constant(a), Buckets::Constant(b)) => Buckets::Constant(apply(a, b)),
                (Buckets::Points(p), Buckets::Constant(b)) => {
                    Buckets::Points(p.into_iter().map(|(t, a)| (t, apply(a, b))).collect())
                }
                (Buckets::Constant(a), Buckets::Points(p)) => {
                    Buckets::Points(p.into_iter().map(|(t, b)| (t, apply(a, b))).collect())
                }
                (Buckets::Points(l), Buckets::Points(r)) => {
                    let mut keys: Vec<i64> = l.keys().chain(r.keys()).copied().collect();
                    keys.sort_unstable();
                    keys.dedup();
                    let get = |m: &BTreeMap<i64, f64>, t| m.get(&t).copied().unwrap_or(0.0);
                    Buckets::Points(
                        keys.into_iter()
                            .map(|t| (t, apply(get(&l, t), get(&r, t))))
                            .collect(),
                    )
                }
            }
        }
    })
}

fn metric(
    numerator: &Expr,
    denominator: &Expr,
    store: &Store,
    from: i64,
    to: i64,
    interval: Option<i64>,
) -> Result<Computation, EvalError> {
    let points = |e: &Expr| -> Result<BTreeMap<i64, f64>, EvalError> {
        Ok(match buckets(e, store, from, to)? {
            Buckets::Points(p) => p,
            // A number alone has no events.
            Buckets::Constant(_) => return Err(EvalError::NoMetric),
        })
    };
    let (good, total) = (points(numerator)?, points(denominator)?);
    let mut out = Computation {
        good: good.values().sum(),
        total: total.values().sum(),
        ..Computation::default()
    };
    if let Some(step) = interval {
        let mut per: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
        let mut start = from - from.rem_euclid(step);
        while start < to {
            per.insert(start, (0.0, 0.0));
            start += step;
        }
        for (ts, v) in good {
            per.entry(ts - ts.rem_euclid(step)).or_default().0 += v;
        }
        for (ts, v) in total {
            per.entry(ts - ts.rem_euclid(step)).or_default().1 += v;
        }
        out.intervals = per.into_iter().map(|(t, (g, n))| (t, g, n)).collect();
    }
    Ok(out)
}

/// The earliest point of any metric of `expr`: slices before it have no data.
fn first_point(expr: &Expr, store: &Store) -> Option<i64> {
    match expr {
        Expr::Number(_) => None,
        Expr::Metric(q) => store
            .series_named(&q.metric)
            .filter_map(|(_, s)| s.points.keys().next().copied())
            .min(),
        Expr::Binary { lhs, rhs, .. } => match (first_point(lhs, store), first_point(rhs, store)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
    }
}

fn time_slice(
    expr: &Expr,
    comparator: Comparator,
    threshold: f64,
    slice: i64,
    store: &Store,
    from: i64,
    to: i64,
) -> Result<Computation, EvalError> {
    let first = from + (slice - from.rem_euclid(slice)) % slice;
    let whole = ((to - first) / slice).max(0);
    let mut out = Computation {
        good: whole as f64,
        total: whole as f64,
        ..Computation::default()
    };
    // Slices before any data are good without a look: a 90-day range costs no more than
    // the store's retention.
    let data_from = first_point(expr, store).map(|p| p - p.rem_euclid(slice));
    let mut start = first;
    while start + slice <= to {
        let mut good = true;
        if data_from.is_some_and(|d| start >= d) {
            let lines = eval::evaluate_window(
                expr,
                store,
                start,
                start + slice - RESOLUTION_SECS,
                RollupMethod::Avg,
            )?;
            if let Some(v) = lines.first().and_then(|l| l.points.first()).map(|p| p.1) {
                good = comparator.holds(v, threshold);
            }
        }
        if !good {
            out.good -= 1.0;
        }
        out.intervals
            .push((start, if good { 1.0 } else { 0.0 }, 1.0));
        start += slice;
    }
    Ok(out)
}

/// Uptime of `ids` (narrowed to `groups`) over `[from, to)`, in seconds.
pub fn monitor_uptime(
    ids: &[u64],
    groups: &[String],
    monitors: &Registry,
    from: i64,
    to: i64,
    interval: Option<i64>,
) -> Computation {
    let mut out = Computation::default();
    // Every transition of the SLO's monitors, in time order.
    let mut changes = Vec::new();
    let mut since = to;
    for id in ids {
        match monitors.get(*id) {
            None => out.errors.push(format!("monitor {id} does not exist")),
            Some(e) => since = since.min(e.created),
        }
        for t in monitors.history.of(*id) {
            if groups.is_empty() || groups.contains(&t.group) {
                since = since.min(t.ts);
                changes.push(t);
            }
        }
    }
    changes.sort_by_key(|t| t.ts);
    // The range starts when the first monitor existed: before, there was nothing to be up.
    let from = from.max(since);
    let mut alerting: BTreeMap<(u64, String), bool> = BTreeMap::new();
    let mut down_spans: Vec<(i64, i64)> = Vec::new();
    let mut down_since: Option<i64> = None;
    let is_down = |a: &BTreeMap<(u64, String), bool>| a.values().any(|d| *d);
    for t in &changes {
        alerting.insert((t.monitor_id, t.group.clone()), t.to == Status::Alert);
        let ts = t.ts.clamp(from, to.max(from));
        match (down_since, is_down(&alerting)) {
            (None, true) => down_since = Some(ts),
            (Some(s), false) => {
                down_spans.push((s, ts));
                down_since = None;
            }
            _ => {}
        }
    }
    if let Some(s) = down_since {
        down_spans.push((s, to.max(from)));
    }
    let overlap = |a: i64, b: i64| -> f64 {
        down_spans
            .iter()
            .map(|&(s, e)| (e.min(b) - s.max(a)).max(0))
            .sum::<i64>() as f64
    };
    if from < to {
        out.total = (to - from) as f64;
        out.good = out.total - overlap(from, to);
    }
    // Datadog's history for a monitor SLO: 0 while up, 1 while down, at each change.
    out.transitions.push((from, 0));
    for &(s, e) in &down_spans {
        if e > s {
            out.transitions.push((s, 1));
            out.transitions.push((e, 0));
        }
    }
    if let Some(step) = interval {
        let mut start = from - from.rem_euclid(step);
        while start < to {
            let (a, b) = (start.max(from), (start + step).min(to));
            if b > a {
                let total = (b - a) as f64;
                out.intervals.push((start, total - overlap(a, b), total));
            }
            start += step;
        }
    }
    out
}
