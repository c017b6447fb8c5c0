//! One evaluation of one monitor at one instant: the query over its window, per group, then
//! Datadog's state rules. Pure: the store and the clock come in, transitions go out, so tests
//! run it on synthetic time.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::definition::{Checked, Rule};
use super::monitor_query::Comparator;
use crate::query::eval::{self, EvalError};
use crate::store::{Store, RESOLUTION_SECS};

/// A monitor's or a group's state: the type agent-lite's API clients read too.
pub use agent_lite_api::MonitorState as Status;

/// What agent-lite remembers of a group between evaluations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    pub status: Status,
    /// When the group entered its status.
    pub since: i64,
    pub first_seen: i64,
    pub last_value: Option<f64>,
    pub last_notified: i64,
    pub last_triggered: Option<i64>,
}

impl GroupState {
    fn new(now: i64) -> Self {
        Self {
            status: Status::Ok,
            since: now,
            first_seen: now,
            last_value: None,
            last_notified: now,
            last_triggered: None,
        }
    }
}

/// A change of state, or a renotification of one that lasts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub monitor_id: u64,
    /// `*` for a monitor without groups, else the group's tags (`host:lab,env:dev`).
    pub group: String,
    pub from: Status,
    pub to: Status,
    pub ts: i64,
    pub value: Option<f64>,
    #[serde(default)]
    pub renotify: bool,
}

impl Transition {
    /// Datadog's `$ALERT_TRANSITION`.
    pub fn name(&self) -> &'static str {
        match (self.to, self.renotify) {
            (Status::Alert, false) => "Triggered",
            (Status::Alert, true) => "Re-Triggered",
            (Status::Warn, false) => "Warn",
            (Status::Warn, true) => "Re-Warn",
            (Status::NoData, false) => "No Data",
            (Status::NoData, true) => "Re-No Data",
            (Status::Ok, _) => "Recovered",
        }
    }
}

/// The whole-window value and the span of data of one group.
#[derive(Debug, Default, Clone, Copy)]
struct Reading {
    value: Option<f64>,
    first_point: Option<i64>,
    last_point: Option<i64>,
}

/// Evaluates `m` at `now`, updating `states`; returns the transitions to notify.
pub fn evaluate(
    m: &Checked,
    store: &Store,
    now: i64,
    states: &mut BTreeMap<String, GroupState>,
) -> Result<Vec<Transition>, EvalError> {
    let Rule::Metric(query) = &m.rule else {
        // An slo alert is read through the SLOs: [`evaluate_value`].
        return Ok(Vec::new());
    };
    let at = now - m.evaluation_delay_secs();
    let window_from = at - m.window_secs;
    // Points are stamped with the start of their 10 s bucket: the window's last whole
    // bucket starts 10 s before `at`.
    let to = at - RESOLUTION_SECS;
    let mut readings: HashMap<String, Reading> = HashMap::new();
    let method = query.time_aggregation.rollup();
    for line in eval::evaluate_window(&query.expr, store, window_from, to, method)? {
        readings.entry(group_name(&line.tag_set)).or_default().value =
            line.points.first().map(|p| p.1);
    }
    if let Some(change) = query.change {
        // The same window `shift` earlier; a group without a value then has no change.
        let shift = change.shift_secs;
        let mut before: HashMap<String, f64> = HashMap::new();
        for line in
            eval::evaluate_window(&query.expr, store, window_from - shift, to - shift, method)?
        {
            if let Some(p) = line.points.first() {
                before.insert(group_name(&line.tag_set), p.1);
            }
        }
        for (group, r) in readings.iter_mut() {
            r.value = match (r.value, before.get(group)) {
                (Some(now), Some(&then)) if change.percent => {
                    (then != 0.0).then(|| (now - then) / then.abs() * 100.0)
                }
                (Some(now), Some(&then)) => Some(now - then),
                _ => None,
            };
        }
    }
    // Where each group's data starts and stops, for require_full_window and no data.
    let lookback = m.no_data_secs().max(m.window_secs) + 3 * RESOLUTION_SECS;
    for line in eval::evaluate(&query.expr, store, at - lookback, to)? {
        let r = readings.entry(group_name(&line.tag_set)).or_default();
        r.first_point = line.points.first().map(|p| p.0);
        r.last_point = line.points.last().map(|p| p.0);
    }
    if !query.is_grouped() {
        readings.entry("*".into()).or_default();
    }
    for group in states.keys() {
        readings.entry(group.clone()).or_default();
    }

    let mut transitions = Vec::new();
    let mut groups: Vec<_> = readings.into_iter().collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    for (group, reading) in groups {
        let state = states
            .entry(group.clone())
            .or_insert_with(|| GroupState::new(now));
        if now - state.first_seen < m.new_group_delay_secs() {
            continue;
        }
        let silent = reading
            .last_point
            .is_none_or(|last| last + RESOLUTION_SECS <= at - m.no_data_secs());
        let target = if silent {
            // Without notify_no_data, a silent group keeps the state it had.
            if !m.monitor.options.notify_no_data || now - state.first_seen < m.no_data_secs() {
                continue;
            }
            Status::NoData
        } else {
            let Some(value) = reading.value else { continue };
            let full = reading
                .first_point
                .is_some_and(|first| first <= window_from + RESOLUTION_SECS);
            if m.require_full_window() && !full {
                continue;
            }
            state.last_value = Some(value);
            next_status(m, state.status, value)
        };
        transitions.extend(settle(m, &group, state, target, now));
    }
    Ok(transitions)
}

/// Moves a group to `target` at `now`: the transition to notify, or a renotification of a
/// state that lasts.
fn settle(
    m: &Checked,
    group: &str,
    state: &mut GroupState,
    target: Status,
    now: i64,
) -> Option<Transition> {
    let value = (target != Status::NoData)
        .then_some(state.last_value)
        .flatten();
    let transition = |from, renotify| Transition {
        monitor_id: m.id(),
        group: group.to_owned(),
        from,
        to: target,
        ts: now,
        value,
        renotify,
    };
    if target != state.status {
        let t = transition(state.status, false);
        state.status = target;
        state.since = now;
        state.last_notified = now;
        if target == Status::Alert {
            state.last_triggered = Some(now);
        }
        return Some(t);
    }
    let every = m.renotify_secs()?;
    if matches!(target, Status::Alert | Status::NoData) && now - state.last_notified >= every {
        state.last_notified = now;
        return Some(transition(target, true));
    }
    None
}

/// An slo alert's evaluation at `now`, from the value its SLO gave (none: no events in a
/// window, and the monitor keeps its state, or goes to No Data with `notify_no_data`).
pub fn evaluate_value(
    m: &Checked,
    value: Option<f64>,
    now: i64,
    states: &mut BTreeMap<String, GroupState>,
) -> Vec<Transition> {
    let state = states
        .entry("*".to_owned())
        .or_insert_with(|| GroupState::new(now));
    let target = match value {
        Some(v) => {
            state.last_value = Some(v);
            next_status(m, state.status, v)
        }
        None if m.monitor.options.notify_no_data && now - state.since >= m.no_data_secs() => {
            Status::NoData
        }
        None => return Vec::new(),
    };
    settle(m, "*", state, target, now).into_iter().collect()
}

fn group_name(tag_set: &[String]) -> String {
    if tag_set.is_empty() {
        "*".into()
    } else {
        tag_set.join(",")
    }
}

/// Datadog's thresholds: ALERT past critical, WARN past warning; a group already in ALERT (or
/// WARN) stays there until its value comes back past the recovery threshold, if one is set.
pub fn next_status(m: &Checked, prev: Status, value: f64) -> Status {
    let cmp: Comparator = m.comparator();
    let t = &m.monitor.options.thresholds;
    let past = |threshold: f64| cmp.holds(value, threshold);
    if past(m.critical) || (prev == Status::Alert && t.critical_recovery.is_some_and(past)) {
        return Status::Alert;
    }
    let warning = t.warning.is_some_and(past);
    let stays_warn = matches!(prev, Status::Warn | Status::Alert)
        && t.warning.is_some()
        && t.warning_recovery.is_some_and(past);
    if warning || stays_warn {
        Status::Warn
    } else {
        Status::Ok
    }
}
