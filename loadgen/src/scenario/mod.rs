//! A scenario: phases of traffic on a timeline, each with its chaos actions, and the
//! expectations on monitors and SLOs that make it a test.
//!
//! - `parse`: the TOML file into these types, every error naming the file, line and field;
//! - `builtin`: the scenarios compiled into the binary (`baseline`, `bootcamp`, `quick`);
//! - `budget`: expectations on an SLO's error budget left after a phase;
//! - `duration`: `90s`, `1m30s`, `forever`.

pub mod budget;
pub mod builtin;
pub mod duration;
pub mod parse;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use budget::{BudgetExpectation, SloRef};
pub use duration::Dur;

/// A scenario ready to run: validated, phases in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Where it came from: a file path, or `built-in <name>`.
    pub source: String,
    /// Size of the pool of goose users (the most requests in flight at once); computed from
    /// the phases when not given.
    pub users: Option<usize>,
    /// Users started per second; all in the first second when not given.
    pub hatch_rate: Option<f64>,
    /// Send `x-datadog-trace-id`, `x-datadog-parent-id` and `x-datadog-sampling-priority`
    /// on every request, so each request's trace starts in the load generator.
    pub trace_headers: bool,
    /// Request timeout.
    pub timeout: Duration,
    pub phases: Vec<Phase>,
    /// Expectations on monitors' states.
    pub expectations: Vec<Expectation>,
    /// Expectations on SLOs' error budgets.
    pub budgets: Vec<BudgetExpectation>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub name: String,
    /// None: until stopped (only the last phase).
    pub duration: Option<Duration>,
    pub traffic: Traffic,
    pub cpu_spike: Option<CpuSpike>,
    pub error_burst: Option<ErrorBurst>,
    pub latency_burst: Option<LatencyBurst>,
    pub containers: Vec<ContainerAction>,
    pub agent_outage: Option<AgentOutage>,
    pub db_lock: Option<DbLock>,
}

/// Open model (a request rate, whatever the answers' speed) or closed model (N users each
/// sending as soon as its previous answer came).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    Rate(f64),
    Users(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Traffic {
    pub load: Load,
    pub mix: Mix,
    /// `/slow?ms=N` for the mix's slow requests; the service's own 0.5-1.5 s when None.
    pub slow_ms: Option<u64>,
}

/// Weights of the demo service's endpoints in calm traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    #[serde(rename = "/", default)]
    pub root: u32,
    #[serde(rename = "/slow", default)]
    pub slow: u32,
    #[serde(rename = "/error", default)]
    pub error: u32,
}

impl Default for Mix {
    fn default() -> Self {
        Self {
            root: 1,
            slow: 0,
            error: 0,
        }
    }
}

impl Mix {
    pub fn total(&self) -> u32 {
        self.root + self.slow + self.error
    }
}

/// Target CPU on the host, made by the demo service's `/burn` (so traces show the cause)
/// and, when `local`, topped up by burner threads of the load generator itself.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSpike {
    /// Percent of the cores below, 1-100.
    pub percent: parse::Percent,
    /// Cores the percent is of; the host's when not given.
    #[serde(default)]
    pub cores: Option<parse::Cores>,
    /// Start, from the phase's start.
    #[serde(default)]
    pub at: Dur,
    /// Length; to the end of the phase when not given.
    #[serde(default)]
    pub duration: Option<Dur>,
    /// Time to climb linearly to the target.
    #[serde(default)]
    pub ramp: Dur,
    /// Length of each `/burn?ms=` call.
    #[serde(default = "parse::default_burn_ms")]
    pub burn_ms: parse::BurnMs,
    /// Also burn locally, on threads of the load generator, up to the target measured on
    /// this host's /proc/stat.
    #[serde(default)]
    pub local: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBurst {
    /// Share of requests sent to `/error`, 0-1.
    pub share: parse::Share,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyBurst {
    /// Share of requests sent to `/slow`, 0-1.
    pub share: parse::Share,
    /// `/slow?ms=N`; the service's own 0.5-1.5 s when not given.
    #[serde(default)]
    pub ms: Option<parse::SlowMs>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerVerb {
    /// Docker's kill (SIGKILL). Docker counts it as a manual stop: no restart policy brings
    /// the container back, so `down_for` (default 10 s) later the load generator starts it.
    Kill,
    /// SIGKILL to the container's main process from the host, outside Docker's API, as a
    /// crash: Docker's restart policy restarts it and its restart count grows.
    Crash,
    /// Docker's restart (stop, then start).
    Restart,
    /// Docker's stop; started again after `down_for` when given.
    Stop,
    /// Docker's start.
    Start,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerAction {
    pub action: ContainerVerb,
    /// The compose service (label `com.docker.compose.service`).
    pub service: String,
    #[serde(default)]
    pub at: Dur,
    #[serde(default)]
    pub down_for: Option<Dur>,
}

/// agent-lite's container stopped for a while, then started (compose mode).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentOutage {
    #[serde(default = "parse::default_agent_service")]
    pub service: String,
    #[serde(default)]
    pub at: Dur,
    pub duration: Dur,
}

/// A lock held on a PostgreSQL table for a while: a database slowdown with a real cause.
/// The queries that need the table wait behind it (until the lock goes, or until their own
/// statement timeout), as they would behind a migration or a forgotten transaction.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbLock {
    /// The table, as `name` or `schema.name`.
    pub table: String,
    #[serde(default)]
    pub mode: LockMode,
    /// Start, from the phase's start.
    #[serde(default)]
    pub at: Dur,
    pub duration: Dur,
}

/// PostgreSQL's table lock modes that make a slowdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// Every query on the table waits, reads included (what `ALTER TABLE` takes).
    #[default]
    AccessExclusive,
    /// Writes wait, plain reads go on.
    Exclusive,
}

impl LockMode {
    pub fn sql(self) -> &'static str {
        match self {
            LockMode::AccessExclusive => "ACCESS EXCLUSIVE",
            LockMode::Exclusive => "EXCLUSIVE",
        }
    }
}

/// The states of Datadog's monitors, as agent-lite's API names them.
pub use agent_lite_api::MonitorState;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MonitorRef {
    Id(u64),
    Name(String),
}

impl std::fmt::Display for MonitorRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MonitorRef::Id(id) => write!(f, "monitor {id}"),
            MonitorRef::Name(n) => write!(f, "{n:?}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// In the state at some moment within `within` of the start of phase `phase`.
    Within { phase: usize, within: Duration },
    /// Never in the state while the scenario runs.
    Never,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub monitor: MonitorRef,
    /// One group (`host:lab`, `*`); the monitor's overall state when None.
    pub group: Option<String>,
    pub state: MonitorState,
    pub when: When,
    /// Line of its `[[expect]]` in the file, for reports.
    pub line: usize,
}

impl Scenario {
    /// The whole length; None when the last phase runs until stopped.
    pub fn total(&self) -> Option<Duration> {
        self.phases.iter().map(|p| p.duration).sum()
    }

    pub fn needs_docker(&self) -> bool {
        self.phases
            .iter()
            .any(|p| !p.containers.is_empty() || p.agent_outage.is_some())
    }

    /// A label for the expectation, as reports and JUnit name it; `name`, the monitor's name
    /// when known, joins an id.
    pub fn describe(&self, e: &Expectation, name: Option<&str>) -> String {
        let monitor = match (&e.monitor, name) {
            (MonitorRef::Id(id), Some(n)) => format!("monitor {id} {n:?}"),
            (m, _) => m.to_string(),
        };
        let group = e
            .group
            .as_ref()
            .map(|g| format!(" group {g}"))
            .unwrap_or_default();
        match e.when {
            When::Within { phase, within } => format!(
                "{monitor}{group} is {} within {} of the start of phase '{}'",
                e.state.name(),
                duration::format(within),
                self.phases.get(phase).map_or("?", |p| p.name.as_str())
            ),
            When::Never => format!("{monitor}{group} is never {}", e.state.name()),
        }
    }
}
