//! Expectations judged against what the monitors did: each group's state through the run,
//! rebuilt from its state when the run began and its transitions since. Pure: the caller
//! fetches the states and histories and brings the clock.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::agent::{MonitorView, TransitionView};
use crate::scenario::{Expectation, MonitorRef, MonitorState, Scenario, When};

/// The run on the wall clock, in seconds since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct RunTimes {
    pub start: f64,
    pub phase_starts: Vec<f64>,
    /// Planned ends (infinite for a phase that lasts until stopped).
    pub phase_ends: Vec<f64>,
    pub phase_names: Vec<String>,
    /// When the traffic stopped (None while it runs).
    pub end: Option<f64>,
}

impl RunTimes {
    /// `t` (epoch seconds) as a person reads it: `+17s into 'error burst'`.
    pub fn relative(&self, t: f64) -> String {
        if t < self.start {
            return format!("{:.0}s before the run", self.start - t);
        }
        if let Some(end) = self.end {
            if t > end {
                return format!("{:.0}s after the run", t - end);
            }
        }
        let i = self.phase_starts.iter().rposition(|s| *s <= t).unwrap_or(0);
        format!(
            "+{:.0}s into '{}'",
            t - self.phase_starts.get(i).copied().unwrap_or(self.start),
            self.phase_names.get(i).map_or("?", String::as_str)
        )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub group: String,
    pub from: MonitorState,
    pub to: MonitorState,
    pub ts: f64,
    pub value: Option<f64>,
}

/// One monitor as the run saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// Each group's state when the run began.
    pub initial: BTreeMap<String, MonitorState>,
    pub transitions: Vec<Transition>,
}

impl Observation {
    pub fn new(initial: BTreeMap<String, MonitorState>, history: &[TransitionView]) -> Self {
        let mut transitions: Vec<Transition> = history
            .iter()
            .map(|t| Transition {
                group: normalize_group(&t.group),
                from: t.from,
                to: t.to,
                ts: t.ts as f64,
                value: t.value,
            })
            .collect();
        transitions.sort_by(|a, b| a.ts.total_cmp(&b.ts));
        Self {
            initial: initial
                .into_iter()
                .map(|(g, s)| (normalize_group(&g), s))
                .collect(),
            transitions,
        }
    }

    /// The state of `group` (or the worst of all groups) from `start` on: (since, state).
    pub fn timeline(&self, group: Option<&str>, start: f64) -> Vec<(f64, MonitorState)> {
        let mut states = self.initial.clone();
        let pick = |states: &BTreeMap<String, MonitorState>| match group {
            Some(g) => states.get(g).copied().unwrap_or(MonitorState::Ok),
            None => states
                .values()
                .copied()
                .max_by_key(|s| s.severity())
                .unwrap_or(MonitorState::Ok),
        };
        let mut out = vec![(start, pick(&states))];
        for t in self.transitions.iter().filter(|t| t.ts > start) {
            states.insert(t.group.clone(), t.to);
            let now = pick(&states);
            if out.last().is_some_and(|(_, s)| *s != now) {
                out.push((t.ts, now));
            }
        }
        out
    }
}

/// Tags in a fixed order, so `env:dev,host:lab` and `host:lab, env:dev` are one group.
pub fn normalize_group(g: &str) -> String {
    let mut tags: Vec<&str> = g
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    tags.sort_unstable();
    tags.join(",")
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    /// Seen in the state at `at` (epoch seconds).
    Passed {
        at: Option<f64>,
    },
    Failed {
        why: String,
    },
    /// Not decided yet: its window is still open.
    Pending,
    Skipped {
        why: String,
    },
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Passed { .. } => "PASSED",
            Verdict::Failed { .. } => "FAILED",
            Verdict::Pending => "PENDING",
            Verdict::Skipped { .. } => "SKIPPED",
        }
    }
}

/// The time window an expectation covers, in epoch seconds (its end may be in the future).
pub fn window(e: &Expectation, times: &RunTimes) -> (f64, f64) {
    match e.when {
        When::Within { phase, within } => {
            let s = times
                .phase_starts
                .get(phase)
                .copied()
                .unwrap_or(times.start);
            (s, s + within.as_secs_f64())
        }
        When::Never => (times.start, times.end.unwrap_or(f64::INFINITY)),
    }
}

/// Judges `e` at `now` (epoch seconds).
pub fn judge(e: &Expectation, times: &RunTimes, obs: &Observation, now: f64) -> Verdict {
    let group = e.group.as_deref().map(normalize_group);
    let line = obs.timeline(group.as_deref(), times.start);
    let (from, to) = window(e, times);
    // The state at the window's start, then every change inside it (up to now).
    let at_start = line
        .iter()
        .rev()
        .find(|(t, _)| *t <= from)
        .map(|(_, s)| *s)
        .unwrap_or(MonitorState::Ok);
    let mut seen = (at_start == e.state).then_some(from);
    if seen.is_none() {
        seen = line
            .iter()
            .find(|(t, s)| *t > from && *t <= to.min(now) && *s == e.state)
            .map(|(t, _)| *t);
    }
    let closed = now >= to;
    match e.when {
        When::Within { .. } => match seen {
            Some(at) => Verdict::Passed { at: Some(at) },
            None if closed => Verdict::Failed {
                why: format!(
                    "not {} within {:.0}s: it was {}{}",
                    e.state.name(),
                    to - from,
                    at_start.name(),
                    changes(&line, from, to, times)
                ),
            },
            None => Verdict::Pending,
        },
        When::Never => match seen {
            Some(at) => Verdict::Failed {
                why: format!("{} at {}", e.state.name(), times.relative(at)),
            },
            None if closed => Verdict::Passed { at: None },
            None => Verdict::Pending,
        },
    }
}

fn changes(line: &[(f64, MonitorState)], from: f64, to: f64, times: &RunTimes) -> String {
    let inside: Vec<String> = line
        .iter()
        .filter(|(t, _)| *t > from && *t <= to)
        .map(|(t, s)| format!("{} at {}", s.name(), times.relative(*t)))
        .collect();
    if inside.is_empty() {
        " throughout".into()
    } else {
        format!(", then {}", inside.join(", "))
    }
}

/// The monitor each expectation names, by id or by name (exact, then case-insensitive).
pub fn resolve(
    exps: &[Expectation],
    monitors: &[MonitorView],
) -> Result<Vec<(u64, String)>, String> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for e in exps {
        let found = match &e.monitor {
            MonitorRef::Id(id) => monitors.iter().find(|m| m.id == *id),
            MonitorRef::Name(n) => monitors.iter().find(|m| m.name == *n).or_else(|| {
                let mut same = monitors
                    .iter()
                    .filter(|m| m.name.eq_ignore_ascii_case(n.trim()));
                match (same.next(), same.next()) {
                    (Some(m), None) => Some(m),
                    _ => None,
                }
            }),
        };
        match found {
            Some(m) => out.push((m.id, m.name.clone())),
            None => {
                let hint = suggestions(&e.monitor, monitors);
                problems.push(format!(
                    "line {}: no monitor {} in agent-lite{hint}",
                    e.line, e.monitor
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems.join("\n"))
    }
}

fn suggestions(r: &MonitorRef, monitors: &[MonitorView]) -> String {
    let MonitorRef::Name(n) = r else {
        return String::new();
    };
    let words: Vec<String> = n
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 3)
        .map(str::to_lowercase)
        .collect();
    let mut close: Vec<&str> = monitors
        .iter()
        .filter(|m| {
            let name = m.name.to_lowercase();
            words.iter().filter(|w| name.contains(w.as_str())).count() * 2 >= words.len().max(1)
        })
        .map(|m| m.name.as_str())
        .collect();
    close.truncate(5);
    if close.is_empty() {
        format!(" ({} monitors loaded)", monitors.len())
    } else {
        format!("; did you mean: {}", close.join(" | "))
    }
}

/// What the report shows of one expectation.
#[derive(Debug, Clone, Serialize)]
pub struct Judged {
    pub expectation: String,
    pub line: usize,
    #[serde(flatten)]
    pub subject: Subject,
    pub verdict: Verdict,
    /// Transitions of the monitor (of the group, when one is named) during the run, or the
    /// SLO's figures over the range its budget was read on.
    pub observed: Vec<String>,
}

/// What an expectation is about, as the JSON report names it (`"kind": "monitor"`, with
/// `monitor_id` and `monitor_name`, or `"kind": "slo"`, with `slo_id` and `slo_name`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Monitor {
        monitor_id: u64,
        monitor_name: String,
    },
    Slo {
        slo_id: String,
        slo_name: String,
    },
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Monitor {
                monitor_id,
                monitor_name,
            } => write!(f, "monitor {monitor_name} (id {monitor_id})"),
            Subject::Slo { slo_id, slo_name } => write!(f, "SLO {slo_name} (id {slo_id})"),
        }
    }
}

/// The transitions worth showing beside a verdict.
pub fn observed(obs: &Observation, group: Option<&str>, times: &RunTimes) -> Vec<String> {
    let group = group.map(normalize_group);
    obs.transitions
        .iter()
        .filter(|t| t.ts >= times.start - 1.0)
        .filter(|t| group.as_ref().is_none_or(|g| *g == t.group))
        .map(|t| {
            format!(
                "{} -> {} at {} (group {}{})",
                t.from.name(),
                t.to.name(),
                times.relative(t.ts),
                t.group,
                t.value
                    .map(|v| format!(", value {v:.4}"))
                    .unwrap_or_default()
            )
        })
        .collect()
}

pub fn label(s: &Scenario, e: &Expectation, monitor_name: &str) -> String {
    s.describe(e, Some(monitor_name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn times() -> RunTimes {
        RunTimes {
            start: 1000.0,
            phase_starts: vec![1000.0, 1030.0, 1060.0],
            phase_ends: vec![1030.0, 1060.0, 1120.0],
            phase_names: vec!["calm".into(), "errors".into(), "recovery".into()],
            end: Some(1120.0),
        }
    }

    fn tr(group: &str, from: &str, to: &str, ts: i64) -> TransitionView {
        let state = |s: &str| MonitorState::from_name(s).expect("a state");
        TransitionView {
            group: group.into(),
            from: state(from),
            to: state(to),
            ts,
            value: None,
        }
    }

    fn within(state: MonitorState, phase: usize, secs: u64) -> Expectation {
        Expectation {
            monitor: MonitorRef::Id(1),
            group: None,
            state,
            when: When::Within {
                phase,
                within: Duration::from_secs(secs),
            },
            line: 1,
        }
    }

    #[test]
    fn a_transition_inside_the_window_passes() {
        let obs = Observation::new(
            BTreeMap::from([("*".into(), MonitorState::Ok)]),
            &[tr("*", "OK", "Alert", 1045), tr("*", "Alert", "OK", 1090)],
        );
        let e = within(MonitorState::Alert, 1, 30);
        assert_eq!(
            judge(&e, &times(), &obs, 2000.0),
            Verdict::Passed { at: Some(1045.0) }
        );
        // Too late for a 10 s window.
        let late = within(MonitorState::Alert, 1, 10);
        match judge(&late, &times(), &obs, 2000.0) {
            Verdict::Failed { why } => {
                assert!(
                    why.contains("not Alert within 10s: it was OK throughout"),
                    "{why}"
                )
            }
            v => panic!("{v:?}"),
        }
        // Still open: pending.
        assert_eq!(
            judge(&late, &times(), &Observation::default(), 1035.0),
            Verdict::Pending
        );
        let ok = within(MonitorState::Ok, 2, 60);
        assert_eq!(
            judge(&ok, &times(), &obs, 2000.0),
            Verdict::Passed { at: Some(1090.0) }
        );
    }

    #[test]
    fn a_state_held_at_the_window_start_passes() {
        let obs = Observation::new(
            BTreeMap::from([("*".into(), MonitorState::Alert)]),
            &[tr("*", "Alert", "OK", 1100)],
        );
        let e = within(MonitorState::Alert, 1, 5);
        assert_eq!(
            judge(&e, &times(), &obs, 2000.0),
            Verdict::Passed { at: Some(1030.0) }
        );
    }

    #[test]
    fn never_fails_on_any_moment_in_the_state() {
        let obs = Observation::new(BTreeMap::new(), &[tr("host:lab", "OK", "Alert", 1070)]);
        let mut e = within(MonitorState::Alert, 0, 1);
        e.when = When::Never;
        match judge(&e, &times(), &obs, 2000.0) {
            Verdict::Failed { why } => assert_eq!(why, "Alert at +10s into 'recovery'"),
            v => panic!("{v:?}"),
        }
        assert_eq!(
            judge(&e, &times(), &Observation::default(), 2000.0),
            Verdict::Passed { at: None }
        );
    }

    #[test]
    fn groups_are_told_apart_and_the_overall_state_is_the_worst() {
        let obs = Observation::new(
            BTreeMap::from([
                ("host:a".into(), MonitorState::Ok),
                ("host:b".into(), MonitorState::Ok),
            ]),
            &[
                tr("host:b", "OK", "Warn", 1040),
                tr("host:a", "OK", "Alert", 1050),
            ],
        );
        let mut e = within(MonitorState::Warn, 1, 30);
        e.group = Some("host:a".into());
        assert!(matches!(
            judge(&e, &times(), &obs, 2000.0),
            Verdict::Failed { .. }
        ));
        e.group = Some("host:b".into());
        assert!(matches!(
            judge(&e, &times(), &obs, 2000.0),
            Verdict::Passed { .. }
        ));
        let line = obs.timeline(None, 1000.0);
        assert_eq!(
            line,
            vec![
                (1000.0, MonitorState::Ok),
                (1040.0, MonitorState::Warn),
                (1050.0, MonitorState::Alert)
            ]
        );
        assert_eq!(normalize_group("host:lab, env:dev"), "env:dev,host:lab");
    }

    #[test]
    fn monitors_are_found_by_name_or_id_with_hints() {
        let m = |id, name: &str| MonitorView {
            id,
            name: name.into(),
            overall_state: None,
            state: Default::default(),
        };
        let monitors = vec![
            m(7, "demo-service error rate above 5%"),
            m(9, "High CPU usage"),
        ];
        let mut e = within(MonitorState::Alert, 0, 1);
        e.monitor = MonitorRef::Name("DEMO-SERVICE error rate above 5%".into());
        assert_eq!(resolve(&[e.clone()], &monitors).unwrap()[0].0, 7);
        e.monitor = MonitorRef::Id(9);
        assert_eq!(resolve(&[e.clone()], &monitors).unwrap()[0].0, 9);
        e.monitor = MonitorRef::Name("demo-service error rate above 50%".into());
        let err = resolve(&[e], &monitors).unwrap_err();
        assert!(
            err.contains("did you mean: demo-service error rate above 5%"),
            "{err}"
        );
    }

    #[test]
    fn times_read_relative_to_phases() {
        let t = times();
        assert_eq!(t.relative(1045.0), "+15s into 'errors'");
        assert_eq!(t.relative(990.0), "10s before the run");
        assert_eq!(t.relative(1130.0), "10s after the run");
    }
}
