//! An `slo alert` monitor's query, Datadog's two forms:
//!
//! - `burn_rate("<slo id>").over("<timeframe>").long_window("<w>").short_window("<w>") > N`:
//!   the rate at which the SLO spends its budget (bad share / allowed bad share), which must
//!   pass N over BOTH windows, as Datadog's multi-window burn-rate alerts do;
//! - `error_budget("<slo id>").over("<timeframe>") > N`: the percent of the timeframe's
//!   budget already spent.
//!
//! Datadog's bounds are kept: a long window from 1 h to 48 h, a short window shorter than it,
//! a burn rate threshold up to 1 / (1 - target). A lab scenario that lasts minutes cannot wait
//! for an hour's window, so `options.lab_short_windows: true` lets the windows go down to
//! 1 minute and 10 seconds: a definition that says so explicitly, and that a real Datadog
//! account refuses for its windows.
//!
//! Hand-written: the grammar is a chain of `name("argument")` calls, a comparator and a
//! number; Datadog publishes no parser for it.

use super::monitor_query::Comparator;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    BurnRate { long_secs: i64, short_secs: i64 },
    ErrorBudget,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloAlertQuery {
    pub slo_id: String,
    pub timeframe: String,
    pub measure: Measure,
    pub comparator: Comparator,
    pub threshold: f64,
}

const FORMS: &str = "burn_rate(\"<slo id>\").over(\"7d|30d|90d\").long_window(\"1h\").short_window(\"5m\") > N, or error_budget(\"<slo id>\").over(\"7d|30d|90d\") > N";

/// `5m`, `1h`, `2d` (and `30s` with the lab's short windows) in seconds.
fn window_secs(text: &str, lab: bool) -> Result<i64, String> {
    let (num, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = num
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 10_000)
        .ok_or_else(|| {
            format!("window {text:?} is not a number of minutes, hours or days such as 5m or 1h")
        })?;
    match unit {
        "s" if lab => Ok(n),
        "m" => Ok(n * 60),
        "h" => Ok(n * 3600),
        "d" => Ok(n * 86_400),
        _ => Err(format!(
            "window {text:?}: the unit is m, h or d{}",
            if lab { " (or s)" } else { "" }
        )),
    }
}

/// Splits `a("x").b("y")` into its calls.
fn calls(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    loop {
        let open = rest
            .find("(\"")
            .ok_or_else(|| format!("expected name(\"argument\") at {rest:?}"))?;
        let name = rest[..open].trim().to_owned();
        let after = &rest[open + 2..];
        let close = after
            .find("\")")
            .ok_or_else(|| format!("unclosed argument of {name}(...)"))?;
        out.push((name, after[..close].to_owned()));
        rest = after[close + 2..].trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        rest = rest
            .strip_prefix('.')
            .ok_or_else(|| format!("expected '.' between the calls at {rest:?}"))?;
    }
}

pub fn parse(query: &str, lab_short_windows: bool) -> Result<SloAlertQuery, String> {
    let ops = [(">=", Comparator::AboveOrEqual), (">", Comparator::Above)];
    let (at, len, comparator) = ops
        .iter()
        .find_map(|(s, c)| query.rfind(s).map(|i| (i, s.len(), *c)))
        .ok_or_else(|| format!("an slo alert compares with > or >= ({FORMS})"))?;
    let threshold: f64 = query[at + len..]
        .trim()
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .ok_or_else(|| {
            format!(
                "the threshold {:?} is not a number",
                query[at + len..].trim()
            )
        })?;
    let calls = calls(&query[..at]).map_err(|e| format!("{e} ({FORMS})"))?;
    let arg = |name: &str| {
        calls
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a.as_str())
    };
    let (kind, slo_id) = calls
        .first()
        .map(|(n, a)| (n.as_str(), a.clone()))
        .ok_or_else(|| format!("empty query ({FORMS})"))?;
    if slo_id.trim().is_empty() {
        return Err(format!("{kind}(\"\"): the SLO id is empty"));
    }
    let timeframe =
        arg("over").ok_or_else(|| format!("{kind}(...) needs .over(\"<timeframe>\") ({FORMS})"))?;
    if !matches!(timeframe, "7d" | "30d" | "90d") {
        return Err(format!(
            "over(\"{timeframe}\"): the timeframe is 7d, 30d or 90d, one of the SLO's"
        ));
    }
    for (name, _) in &calls[1..] {
        if !matches!(name.as_str(), "over" | "long_window" | "short_window") {
            return Err(format!("{name}(...) is not part of an slo alert ({FORMS})"));
        }
    }
    let measure = match kind {
        "error_budget" => {
            if arg("long_window").is_some() || arg("short_window").is_some() {
                return Err("error_budget(...) takes no windows; burn_rate(...) does".into());
            }
            if !(threshold > 0.0 && threshold <= 100.0) {
                return Err(format!("the threshold {threshold} is a percent of the budget spent: above 0, at most 100"));
            }
            Measure::ErrorBudget
        }
        "burn_rate" => {
            let long = arg("long_window").ok_or("burn_rate(...) needs .long_window(\"<w>\")")?;
            let short = arg("short_window").ok_or("burn_rate(...) needs .short_window(\"<w>\")")?;
            let long_secs = window_secs(long, lab_short_windows)?;
            let (min_long, min_short) = if lab_short_windows {
                (60, 10)
            } else {
                (3600, 60)
            };
            if !(min_long..=48 * 3600).contains(&long_secs) {
                return Err(format!(
                    "long_window(\"{long}\"): Datadog takes a long window from 1h to 48h{}",
                    if lab_short_windows {
                        " (1m to 48h with lab_short_windows)"
                    } else {
                        "; options.lab_short_windows: true allows down to 1m, for the lab only"
                    }
                ));
            }
            let short_secs = window_secs(short, lab_short_windows)?;
            if short_secs < min_short || short_secs >= long_secs {
                return Err(format!("short_window(\"{short}\") must be shorter than the long window ({long}) and at least {}", if lab_short_windows { "10s" } else { "1m" }));
            }
            if threshold <= 0.0 {
                return Err(format!(
                    "the burn rate threshold {threshold} must be above 0"
                ));
            }
            Measure::BurnRate {
                long_secs,
                short_secs,
            }
        }
        other => return Err(format!("{other}(...) is not an slo alert ({FORMS})")),
    };
    Ok(SloAlertQuery {
        slo_id,
        timeframe: timeframe.to_owned(),
        measure,
        comparator,
        threshold,
    })
}

/// What an SLO source reads for a window: the target of the alert's timeframe, and good and
/// total over the window (events, seconds or slices, as the SLO counts).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SloReading {
    pub target: f64,
    pub good: f64,
    pub total: f64,
}

impl SloReading {
    /// Percent of the error budget spent: bad over allowed bad (over 100 past the budget).
    pub fn budget_spent(&self) -> f64 {
        100.0 * (self.total - self.good) / (self.total * (1.0 - self.target / 100.0))
    }

    /// Bad share over the allowed bad share; none without events.
    pub fn burn_rate(&self) -> Option<f64> {
        (self.total > 0.0)
            .then(|| ((self.total - self.good) / self.total) / (1.0 - self.target / 100.0))
    }
}

impl SloAlertQuery {
    /// The monitor's value from the readings of its windows: the burn rate both windows
    /// reach (the smaller: both must pass the threshold), or the percent of budget spent.
    /// `read(from_secs_ago)` reads the SLO over `[now - secs, now)`.
    pub fn value(
        &self,
        mut read: impl FnMut(i64) -> Result<SloReading, String>,
    ) -> Result<Option<f64>, String> {
        match self.measure {
            Measure::BurnRate {
                long_secs,
                short_secs,
            } => {
                let long = read(long_secs)?;
                self.check_rate_bound(long.target)?;
                let short = read(short_secs)?;
                Ok(match (long.burn_rate(), short.burn_rate()) {
                    (Some(l), Some(s)) => Some(l.min(s)),
                    _ => None,
                })
            }
            Measure::ErrorBudget => {
                let r = read(self.timeframe_secs())?;
                Ok((r.total > 0.0).then(|| r.budget_spent()))
            }
        }
    }

    /// Datadog's bound on a burn-rate threshold: at most 1 / (1 - target), the rate at which
    /// every event is bad. The target is the SLO's, which the query alone does not know, so
    /// this is checked where both meet: each evaluation, and the lab's definitions' test.
    pub fn check_rate_bound(&self, target: f64) -> Result<(), String> {
        if !matches!(self.measure, Measure::BurnRate { .. }) {
            return Ok(());
        }
        let most = 1.0 / (1.0 - target / 100.0);
        if self.threshold > most + 1e-9 {
            return Err(format!(
                "the burn rate threshold {} is over the most a {target}% target can burn ({most:.1}), as Datadog refuses",
                self.threshold
            ));
        }
        Ok(())
    }

    pub fn timeframe_secs(&self) -> i64 {
        match self.timeframe.as_str() {
            "7d" => 7 * 86_400,
            "30d" => 30 * 86_400,
            _ => 90 * 86_400,
        }
    }

    pub fn window_secs(&self) -> i64 {
        match self.measure {
            Measure::BurnRate { long_secs, .. } => long_secs,
            Measure::ErrorBudget => self.timeframe_secs(),
        }
    }
}
