//! A monitor in Datadog's API shape, as `GET /api/v1/monitor/{id}` returns it and as Datadog
//! exports it, so that a file written here can be pasted into a real account and back.
//! Fields agent-lite does not act on (`include_tags`, `escalation_message`, ...) are kept
//! as they came, so nothing is lost on the way through.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::monitor_query::{self, Comparator, MonitorQuery};
use super::slo_alert::{self, SloAlertQuery};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Monitor {
    #[serde(default)]
    pub id: u64,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub query: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub priority: Option<u8>,
    #[serde(default)]
    pub options: Options,
    /// Everything else Datadog puts in a monitor (created, creator, multi, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Options {
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default)]
    pub require_full_window: Option<bool>,
    #[serde(default)]
    pub notify_no_data: bool,
    /// Minutes without data before NO DATA; Datadog's default is twice the window.
    #[serde(default)]
    pub no_data_timeframe: Option<f64>,
    /// Seconds the evaluation looks back, for metrics that arrive late.
    #[serde(default)]
    pub evaluation_delay: Option<f64>,
    /// Minutes between two notifications while a group stays in ALERT or NO DATA.
    #[serde(default)]
    pub renotify_interval: Option<f64>,
    /// Seconds a new group waits before it is evaluated.
    #[serde(default)]
    pub new_group_delay: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Thresholds {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_recovery: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_recovery: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a monitor evaluates: a metric query, or an SLO's burn rate or budget.
#[derive(Debug, Clone)]
pub enum Rule {
    Metric(MonitorQuery),
    Slo(SloAlertQuery),
}

/// A monitor ready to evaluate: its definition, its parsed query and settled thresholds.
#[derive(Debug, Clone)]
pub struct Checked {
    pub monitor: Monitor,
    pub rule: Rule,
    pub critical: f64,
    pub window_secs: i64,
}

impl Monitor {
    /// Parses and checks everything evaluation needs; the error says what and where.
    pub fn check(self) -> Result<Checked, String> {
        if !matches!(
            self.kind.as_str(),
            "metric alert" | "query alert" | "slo alert"
        ) {
            return Err(format!(
                "type {:?} is not supported: agent-lite evaluates \"metric alert\", \"query alert\" and \"slo alert\" monitors",
                self.kind
            ));
        }
        if self.name.trim().is_empty() {
            return Err("name is empty".into());
        }
        let (rule, threshold, cmp, window_secs) = if self.kind == "slo alert" {
            let lab = self
                .options
                .extra
                .get("lab_short_windows")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let q = slo_alert::parse(&self.query, lab).map_err(|e| format!("query: {e}"))?;
            let (t, c, w) = (q.threshold, q.comparator, q.window_secs());
            (Rule::Slo(q), t, c, w)
        } else {
            let q = monitor_query::parse(&self.query).map_err(|e| format!("query: {e}"))?;
            let (t, c, w) = (q.threshold, q.comparator, q.window_secs);
            (Rule::Metric(q), t, c, w)
        };
        let t = &self.options.thresholds;
        let critical = match t.critical {
            None => threshold,
            Some(c) if c == threshold => c,
            Some(c) => {
                return Err(format!(
                    "options.thresholds.critical ({c}) differs from the query's threshold ({threshold}); Datadog requires them equal"
                ))
            }
        };
        // A warning or a recovery threshold must sit on the safe side of what it relaxes.
        let safe_side = |name: &str, value: Option<f64>, of: f64, of_name: &str| match value {
            Some(v) if !cmp.before(v, of) => Err(format!(
                "options.thresholds.{name} ({v}) must be {} {of_name} ({of}) for a '{}' monitor",
                cmp.safe_word(),
                cmp.symbol()
            )),
            _ => Ok(()),
        };
        safe_side("warning", t.warning, critical, "critical")?;
        safe_side(
            "critical_recovery",
            t.critical_recovery,
            critical,
            "critical",
        )?;
        if let Some(w) = t.warning {
            safe_side("warning_recovery", t.warning_recovery, w, "warning")?;
        } else if t.warning_recovery.is_some() {
            return Err("options.thresholds.warning_recovery needs a warning threshold".into());
        }
        // At most a year: longer means nothing to a monitor, and keeps the evaluation's time
        // arithmetic far from overflowing (no_data_timeframe = 1e300 did, found with the
        // monitor fuzz target).
        const YEAR_MINUTES: f64 = 365.0 * 24.0 * 60.0;
        const YEAR_SECS: f64 = YEAR_MINUTES * 60.0;
        for (name, v, max, unit) in [
            (
                "no_data_timeframe",
                self.options.no_data_timeframe,
                YEAR_MINUTES,
                "minutes",
            ),
            (
                "evaluation_delay",
                self.options.evaluation_delay,
                YEAR_SECS,
                "seconds",
            ),
            (
                "renotify_interval",
                self.options.renotify_interval,
                YEAR_MINUTES,
                "minutes",
            ),
            (
                "new_group_delay",
                self.options.new_group_delay,
                YEAR_SECS,
                "seconds",
            ),
        ] {
            if v.is_some_and(|v| !(0.0..=max).contains(&v)) {
                return Err(format!(
                    "options.{name} must be a number of {unit} from 0 to {max} (a year)"
                ));
            }
        }
        Ok(Checked {
            monitor: self,
            rule,
            critical,
            window_secs,
        })
    }
}

impl Checked {
    pub fn id(&self) -> u64 {
        self.monitor.id
    }

    pub fn comparator(&self) -> Comparator {
        match &self.rule {
            Rule::Metric(q) => q.comparator,
            Rule::Slo(q) => q.comparator,
        }
    }

    /// Whether the monitor has groups (`by {...}`); an slo alert has none.
    pub fn is_grouped(&self) -> bool {
        matches!(&self.rule, Rule::Metric(q) if q.is_grouped())
    }

    pub fn require_full_window(&self) -> bool {
        self.monitor.options.require_full_window.unwrap_or(false)
    }

    pub fn evaluation_delay_secs(&self) -> i64 {
        self.monitor.options.evaluation_delay.unwrap_or(0.0) as i64
    }

    pub fn no_data_secs(&self) -> i64 {
        self.monitor
            .options
            .no_data_timeframe
            .map_or(2 * self.window_secs, |m| (m * 60.0) as i64)
    }

    pub fn renotify_secs(&self) -> Option<i64> {
        self.monitor
            .options
            .renotify_interval
            .filter(|m| *m > 0.0)
            .map(|m| (m * 60.0) as i64)
    }

    pub fn new_group_delay_secs(&self) -> i64 {
        self.monitor.options.new_group_delay.unwrap_or(0.0) as i64
    }
}
