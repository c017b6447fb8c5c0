//! An expectation on an SLO's error budget: how much of it is left at the end of a phase,
//! as Datadog's SLO history reports it (`error_budget_remaining` of
//! `GET /api/v1/slo/{id}/history`), over the range from the start of a phase (the run's start
//! by default) to the end of another.
//!
//! Counting from the run's start, not over the SLO's whole 7 days, keeps the verdict about
//! what the run did: a lab that ran for hours before would otherwise dilute an error burst,
//! and one started a minute ago would make any error look like a disaster.

use super::Scenario;

/// The SLO named by its id (`demo-service-availability`) or its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SloRef(pub String);

impl std::fmt::Display for SloRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SLO {:?}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BudgetExpectation {
    pub slo: SloRef,
    /// The SLO's threshold whose target the budget is counted against (`7d`, `30d`, `90d`);
    /// the SLO's first threshold when not given.
    pub timeframe: Option<String>,
    /// The range starts at this phase's start; at the run's start when None.
    pub since: Option<usize>,
    /// The range ends at this phase's end.
    pub after: usize,
    /// Percent of the budget left, strictly under this (it may go negative: overspent).
    pub below: Option<f64>,
    /// Percent of the budget left, strictly over this.
    pub above: Option<f64>,
    /// Line of its `[[expect]]` in the file, for reports.
    pub line: usize,
}

/// Timeframes an SLO threshold can have in Datadog.
pub const TIMEFRAMES: [&str; 3] = ["7d", "30d", "90d"];

impl BudgetExpectation {
    /// `under 0%`, `over 50%`, `between 10% and 60%`.
    pub fn bounds(&self) -> String {
        let pct = |v: f64| format!("{v}%");
        match (self.above, self.below) {
            (Some(a), Some(b)) => format!("between {} and {}", pct(a), pct(b)),
            (Some(a), None) => format!("over {}", pct(a)),
            (None, Some(b)) => format!("under {}", pct(b)),
            (None, None) => "any".into(),
        }
    }

    /// Whether `remaining` (percent) is within the bounds.
    pub fn holds(&self, remaining: f64) -> bool {
        self.above.is_none_or(|a| remaining > a) && self.below.is_none_or(|b| remaining < b)
    }
}

impl Scenario {
    /// A label for a budget expectation, as reports and JUnit name it; `name` is the SLO's
    /// name when known, `timeframe` the one counted when resolved.
    pub fn describe_budget(
        &self,
        b: &BudgetExpectation,
        name: Option<&str>,
        timeframe: Option<&str>,
    ) -> String {
        let phase = |i: usize| self.phases.get(i).map_or("?", |p| p.name.as_str());
        let slo = match name {
            Some(n) if n != b.slo.0 => format!("SLO {:?} ({n})", b.slo.0),
            _ => b.slo.to_string(),
        };
        let timeframe = timeframe
            .or(b.timeframe.as_deref())
            .map(|t| format!("{t} "))
            .unwrap_or_default();
        let since = match b.since {
            Some(i) => format!("phase '{}'", phase(i)),
            None => "the run's start".into(),
        };
        format!(
            "{slo} has {} of its {timeframe}error budget left at the end of phase '{}' (counted from {since})",
            b.bounds(),
            phase(b.after)
        )
    }
}
