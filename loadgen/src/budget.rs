//! Expectations on SLOs' error budgets, judged on agent-lite's SLO history: each SLO found
//! before the run (by id, then by name), its budget read once the phase it follows has ended
//! and that phase's last spans had time to reach agent-lite, and a verdict that gives the
//! figures it was made on. Pure but for the reading, which the caller brings.

use crate::agent::{SloHistory, SloView};
use crate::expect::{RunTimes, Verdict};
use crate::scenario::{BudgetExpectation, Scenario};

/// Wait after a phase's end before its budget is read: the tracer flushes its last spans
/// (about a second) and agent-lite counts them into 10 s buckets of trace metrics.
pub const SETTLE_SECS: f64 = 20.0;

/// The SLO an expectation names, as agent-lite has it, with the threshold counted against.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedSlo {
    pub id: String,
    pub name: String,
    pub timeframe: String,
    pub target: f64,
}

/// The SLO of each expectation, in order; every problem at once, with the SLOs loaded.
pub fn resolve(
    budgets: &[BudgetExpectation],
    slos: &[SloView],
) -> Result<Vec<ResolvedSlo>, String> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for b in budgets {
        let wanted = b.slo.0.trim();
        let found = slos
            .iter()
            .find(|s| s.id == wanted)
            .or_else(|| slos.iter().find(|s| s.name == wanted))
            .or_else(|| {
                let mut same = slos.iter().filter(|s| s.name.eq_ignore_ascii_case(wanted));
                match (same.next(), same.next()) {
                    (Some(s), None) => Some(s),
                    _ => None,
                }
            });
        let Some(slo) = found else {
            let known: Vec<String> = slos
                .iter()
                .map(|s| format!("{} ({:?})", s.id, s.name))
                .collect();
            problems.push(format!(
                "line {}: no {} in agent-lite (its SLOs: {})",
                b.line,
                b.slo,
                if known.is_empty() {
                    "none: is AGENT_LITE_SLOS_DIR set?".to_owned()
                } else {
                    known.join(", ")
                }
            ));
            continue;
        };
        let threshold = match &b.timeframe {
            Some(t) => slo.thresholds.iter().find(|th| th.timeframe == *t),
            None => slo.thresholds.first(),
        };
        match threshold {
            Some(th) => out.push(ResolvedSlo {
                id: slo.id.clone(),
                name: slo.name.clone(),
                timeframe: th.timeframe.clone(),
                target: th.target,
            }),
            None => {
                let has: Vec<&str> = slo
                    .thresholds
                    .iter()
                    .map(|t| t.timeframe.as_str())
                    .collect();
                problems.push(format!(
                    "line {}: {} has no {} threshold (it has {})",
                    b.line,
                    b.slo,
                    b.timeframe.as_deref().unwrap_or("first"),
                    if has.is_empty() {
                        "none".into()
                    } else {
                        has.join(", ")
                    }
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

/// The range the budget is counted over, in epoch seconds: from the start of `since` (or of
/// the run) to the planned end of `after`, or to the run's end if it stopped before.
pub fn range(b: &BudgetExpectation, times: &RunTimes) -> (f64, f64) {
    let from = b
        .since
        .and_then(|i| times.phase_starts.get(i).copied())
        .unwrap_or(times.start);
    let planned = times
        .phase_ends
        .get(b.after)
        .copied()
        .unwrap_or(f64::INFINITY);
    (from, times.end.map_or(planned, |end| planned.min(end)))
}

/// Width of the buckets agent-lite counts trace metrics in.
pub const BUCKET_SECS: i64 = 10;

/// The range asked of the SLO's history (whole seconds): the whole buckets inside [`range`].
/// The history counts every bucket that starts in the range, so one that straddles the
/// phase's end would bring in up to 10 s of the next phase (an error burst's first seconds
/// in the calm before it). A range too short to hold a whole bucket is rounded outwards.
pub fn query_range(b: &BudgetExpectation, times: &RunTimes) -> (i64, i64) {
    let (from, to) = range(b, times);
    let bucket = BUCKET_SECS as f64;
    let first = ((from / bucket).ceil() * bucket) as i64;
    let end = ((to / bucket).floor() * bucket) as i64;
    if end > first {
        (first, end)
    } else {
        (from.floor() as i64, to.ceil() as i64)
    }
}

/// When the budget can be read (epoch seconds).
pub fn due(b: &BudgetExpectation, times: &RunTimes) -> f64 {
    range(b, times).1 + SETTLE_SECS
}

/// The budget left for the resolved timeframe, from a history.
pub fn remaining(slo: &ResolvedSlo, h: &SloHistory) -> Option<f64> {
    h.overall
        .error_budget_remaining
        .get(&slo.timeframe)
        .copied()
        .flatten()
}

/// Judges `b` on the history read over its range (None: not read yet).
pub fn judge(
    s: &Scenario,
    b: &BudgetExpectation,
    slo: &ResolvedSlo,
    history: Option<&SloHistory>,
    times: &RunTimes,
) -> Verdict {
    let planned = times
        .phase_ends
        .get(b.after)
        .copied()
        .unwrap_or(f64::INFINITY);
    if let Some(end) = times.end.filter(|end| *end + 0.5 < planned) {
        return Verdict::Failed {
            why: format!(
                "the run stopped before the end of phase '{}' ({})",
                s.phases.get(b.after).map_or("?", |p| p.name.as_str()),
                times.relative(end)
            ),
        };
    }
    let Some(h) = history else {
        return Verdict::Pending;
    };
    match remaining(slo, h) {
        None => Verdict::Failed {
            why: format!(
                "agent-lite's history of SLO {} gives no error_budget_remaining for {}",
                slo.id, slo.timeframe
            ),
        },
        Some(left) if b.holds(left) => Verdict::Passed {
            at: Some(range(b, times).1),
        },
        Some(left) => Verdict::Failed {
            why: format!(
                "{left:.1}% of the {} error budget was left, not {}",
                slo.timeframe,
                b.bounds()
            ),
        },
    }
}

/// The figures behind a verdict, as the report shows them.
pub fn observed(
    s: &Scenario,
    b: &BudgetExpectation,
    slo: &ResolvedSlo,
    history: Option<&SloHistory>,
    times: &RunTimes,
) -> Vec<String> {
    let Some(h) = history else {
        return Vec::new();
    };
    let (from, _) = range(b, times);
    let since = match b.since {
        Some(i) => format!(
            "the start of '{}'",
            s.phases.get(i).map_or("?", |p| p.name.as_str())
        ),
        None => "the run's start".into(),
    };
    let left = remaining(slo, h).map_or("none".into(), |v| format!("{v:.1}%"));
    let sli = h
        .overall
        .sli_value
        .map_or("no event".into(), |v| format!("SLI {v:.2}%"));
    let counts = h
        .agent_lite
        .as_ref()
        .map(|c| {
            format!(
                ": {} good of {} {}",
                c.good,
                c.total,
                c.unit.as_deref().unwrap_or("events")
            )
        })
        .unwrap_or_default();
    vec![format!(
        "{} error budget left {left} (target {}%, {sli}{counts}) from {since} ({}) to the end of '{}'",
        slo.timeframe,
        slo.target,
        times.relative(from),
        s.phases.get(b.after).map_or("?", |p| p.name.as_str())
    )]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{SloCounts, SloOverall, SloThreshold};
    use crate::scenario::parse::parse;
    use std::collections::BTreeMap;

    const SCENARIO: &str = r#"
name = "t"
[traffic]
rate = 10
[[phase]]
name = "calm"
duration = "30s"
[[phase]]
name = "burst"
duration = "30s"
error_burst = { share = 0.5 }
[[phase]]
name = "recovery"
duration = "60s"

[[expect]]
slo = "Demo availability"
after = "burst"
budget_below = 0

[[expect]]
slo = "demo-availability"
since = "recovery"
after = "recovery"
timeframe = "30d"
budget_above = 50
"#;

    fn times() -> RunTimes {
        RunTimes {
            start: 1000.0,
            phase_starts: vec![1000.0, 1030.0, 1060.0],
            phase_ends: vec![1030.0, 1060.0, 1120.0],
            phase_names: vec!["calm".into(), "burst".into(), "recovery".into()],
            end: Some(1120.0),
        }
    }

    fn slos() -> Vec<SloView> {
        let th = |timeframe: &str, target| SloThreshold {
            timeframe: timeframe.into(),
            target,
        };
        vec![SloView {
            id: "demo-availability".into(),
            name: "demo availability".into(),
            thresholds: vec![th("7d", 98.0), th("30d", 99.0)],
        }]
    }

    fn history(left: &[(&str, f64)], good: f64, total: f64) -> SloHistory {
        SloHistory {
            overall: SloOverall {
                sli_value: Some(100.0 * good / total),
                error_budget_remaining: left
                    .iter()
                    .map(|(t, v)| ((*t).to_owned(), Some(*v)))
                    .collect::<BTreeMap<_, _>>(),
            },
            agent_lite: Some(SloCounts {
                good,
                total,
                unit: Some("events".into()),
            }),
        }
    }

    #[test]
    fn slos_are_found_by_id_or_name_with_the_timeframe_counted() {
        let s = parse("t.toml", SCENARIO).unwrap_or_else(|e| panic!("{e}"));
        let r = resolve(&s.budgets, &slos()).expect("resolved");
        assert_eq!(r[0].id, "demo-availability", "by name, ignoring case");
        assert_eq!(
            (r[0].timeframe.as_str(), r[0].target),
            ("7d", 98.0),
            "the first"
        );
        assert_eq!((r[1].timeframe.as_str(), r[1].target), ("30d", 99.0));

        let mut missing = s.budgets.clone();
        missing[0].slo.0 = "inventory".into();
        missing[1].timeframe = Some("90d".into());
        let err = resolve(&missing, &slos()).unwrap_err();
        assert!(err.contains("no SLO \"inventory\" in agent-lite (its SLOs: demo-availability (\"demo availability\"))"), "{err}");
        assert!(
            err.contains("has no 90d threshold (it has 7d, 30d)"),
            "{err}"
        );
        let none = resolve(&s.budgets, &[]).unwrap_err();
        assert!(none.contains("AGENT_LITE_SLOS_DIR"), "{none}");
    }

    #[test]
    fn the_budget_is_read_over_its_range_and_compared() {
        let s = parse("t.toml", SCENARIO).unwrap_or_else(|e| panic!("{e}"));
        let r = resolve(&s.budgets, &slos()).expect("resolved");
        let t = times();
        assert_eq!(range(&s.budgets[0], &t), (1000.0, 1060.0));
        assert_eq!(range(&s.budgets[1], &t), (1060.0, 1120.0));
        assert_eq!(due(&s.budgets[0], &t), 1060.0 + SETTLE_SECS);
        assert_eq!(query_range(&s.budgets[0], &t), (1000, 1060));
        let mut odd = t.clone();
        odd.phase_starts = vec![1003.5, 1033.5, 1063.5];
        odd.phase_ends = vec![1033.5, 1063.5, 1123.5];
        odd.end = Some(1123.5);
        // Whole buckets only: [1040, 1060) of 'burst' [1033.5, 1063.5).
        let mut burst_only = s.budgets[0].clone();
        burst_only.since = Some(1);
        assert_eq!(query_range(&burst_only, &odd), (1040, 1060));
        assert_eq!(judge(&s, &s.budgets[0], &r[0], None, &t), Verdict::Pending);

        let spent = history(&[("7d", -150.0), ("30d", -400.0)], 450.0, 600.0);
        assert_eq!(
            judge(&s, &s.budgets[0], &r[0], Some(&spent), &t),
            Verdict::Passed { at: Some(1060.0) }
        );
        let kept = history(&[("7d", 40.0), ("30d", 10.0)], 596.0, 600.0);
        match judge(&s, &s.budgets[0], &r[0], Some(&kept), &t) {
            Verdict::Failed { why } => {
                assert_eq!(why, "40.0% of the 7d error budget was left, not under 0%")
            }
            v => panic!("{v:?}"),
        }
        // The second reads the 30d threshold.
        assert!(matches!(
            judge(&s, &s.budgets[1], &r[1], Some(&kept), &t),
            Verdict::Failed { .. }
        ));
        let seen = observed(&s, &s.budgets[0], &r[0], Some(&kept), &t);
        assert_eq!(
            seen,
            ["7d error budget left 40.0% (target 98%, SLI 99.33%: 596 good of 600 events) from the run's start (+0s into 'calm') to the end of 'burst'"]
        );
    }

    #[test]
    fn a_run_stopped_before_the_phase_ended_fails_it() {
        let s = parse("t.toml", SCENARIO).unwrap_or_else(|e| panic!("{e}"));
        let r = resolve(&s.budgets, &slos()).expect("resolved");
        let mut t = times();
        t.end = Some(1045.0);
        match judge(&s, &s.budgets[0], &r[0], None, &t) {
            Verdict::Failed { why } => assert!(
                why.contains("the run stopped before the end of phase 'burst' (+15s into 'burst')"),
                "{why}"
            ),
            v => panic!("{v:?}"),
        }
    }
}
