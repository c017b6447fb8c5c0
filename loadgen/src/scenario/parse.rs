//! Scenario files (TOML) into a [`Scenario`]. Every error names the file, the line and the
//! field: the TOML parser gives the byte span, `serde_path_to_error` the field's path, and
//! the checks that span several fields (the phase an expectation names, two loads at once)
//! keep the span of their table with `serde_spanned`.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_spanned::Spanned;

use super::budget::TIMEFRAMES;
use super::duration::{Dur, PhaseLength};
use super::{
    AgentOutage, BudgetExpectation, ContainerAction, CpuSpike, DbLock, ErrorBurst, Expectation,
    LatencyBurst, Load, Mix, MonitorRef, MonitorState, Phase, Scenario, SloRef, Traffic, When,
};

/// A scenario refused: where and why (boxed: errors travel in `Result`s, kept small).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError(Box<ErrorDetail>);

impl std::ops::Deref for ScenarioError {
    type Target = ErrorDetail;
    fn deref(&self) -> &ErrorDetail {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// The field's path, `phase[1].traffic.rate` (indices from 0).
    pub field: Option<String>,
    pub message: String,
    /// The line of the file, to show under the message.
    pub excerpt: Option<String>,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scenario {}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
            if let Some(col) = self.column {
                write!(f, ", column {col}")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, ", field `{field}`")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(line), Some(text)) = (self.line, &self.excerpt) {
            write!(f, "\n{line:>5} | {text}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Line and column (from 1) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, col)
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn error(
        &self,
        span: Option<std::ops::Range<usize>>,
        field: Option<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        let (line, column) = match span {
            Some(s) => {
                let (l, c) = line_col(self.text, s.start);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        let excerpt = line.and_then(|l| self.text.lines().nth(l - 1).map(|t| t.to_owned()));
        ScenarioError(Box::new(ErrorDetail {
            file: self.file.to_owned(),
            line,
            column,
            field: field.filter(|f| !f.is_empty() && f != "."),
            message: message.into(),
            excerpt,
        }))
    }
}

/// Parses and checks `text`, read from `file` (named in errors).
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let ctx = Ctx { file, text };
    let de = toml::Deserializer::parse(text).map_err(|e| ctx.error(e.span(), None, e.message()))?;
    let raw: RawScenario = serde_path_to_error::deserialize(de).map_err(|e| {
        // `Spanned` wrappers show in the path as a private key: not the user's business.
        let path = e
            .path()
            .to_string()
            .replace(".$__serde_spanned_private_value", "")
            .replace("$__serde_spanned_private_value", "");
        let inner = e.into_inner();
        ctx.error(inner.span(), Some(path), plain_types(inner.message()))
    })?;
    build(&ctx, raw)
}

/// serde names Rust types (`expected f64`); a scenario's author thinks in TOML values.
fn plain_types(message: &str) -> String {
    message
        .replace("expected f64", "expected a number")
        .replace("expected usize", "expected a whole number")
        .replace("expected u64", "expected a whole number")
        .replace("expected u32", "expected a whole number")
}

// ---------------------------------------------------------------------------------------
// The file's shape. Unknown keys are refused (a typo must not silently change a run).

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    users: Option<Spanned<usize>>,
    #[serde(default)]
    hatch_rate: Option<Spanned<f64>>,
    #[serde(default)]
    trace_headers: bool,
    #[serde(default)]
    timeout: Option<Dur>,
    /// Defaults for the phases' traffic.
    #[serde(default)]
    traffic: Option<Spanned<RawTraffic>>,
    #[serde(rename = "phase")]
    phases: Spanned<Vec<Spanned<RawPhase>>>,
    #[serde(rename = "expect", default)]
    expectations: Vec<Spanned<RawExpect>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawTraffic {
    #[serde(default)]
    rate: Option<Rate>,
    #[serde(default)]
    users: Option<Users>,
    #[serde(default)]
    mix: Option<Mix>,
    #[serde(default)]
    slow_ms: Option<SlowMs>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    name: String,
    duration: PhaseLength,
    #[serde(default)]
    traffic: Option<Spanned<RawTraffic>>,
    #[serde(default)]
    cpu_spike: Option<Spanned<CpuSpike>>,
    #[serde(default)]
    error_burst: Option<ErrorBurst>,
    #[serde(default)]
    latency_burst: Option<LatencyBurst>,
    #[serde(default)]
    container: Vec<Spanned<ContainerAction>>,
    #[serde(default)]
    agent_outage: Option<Spanned<AgentOutage>>,
    #[serde(default)]
    db_lock: Option<Spanned<DbLock>>,
}

/// One `[[expect]]`: on a monitor (`monitor`, `state`, `phase` with `within`, or `never`) or
/// on an SLO's error budget (`slo`, `after`, `budget_below`/`budget_above`, `since`,
/// `timeframe`); which keys go together is checked in `build_expect` and `build_budget`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    monitor: Option<RawMonitorRef>,
    #[serde(default)]
    slo: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    state: Option<StateName>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    within: Option<Dur>,
    #[serde(default)]
    never: bool,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    timeframe: Option<String>,
    #[serde(default)]
    budget_below: Option<f64>,
    #[serde(default)]
    budget_above: Option<f64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawMonitorRef {
    Id(u64),
    Name(String),
}

// ---------------------------------------------------------------------------------------
// Values checked as they are read, so their errors carry the value's own line.

macro_rules! bounded_number {
    ($name:ident, $t:ty, $check:expr, $what:expr) => {
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
        pub struct $name(pub $t);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <$t>::deserialize(d)?;
                let check: fn($t) -> bool = $check;
                if check(v) {
                    Ok($name(v))
                } else {
                    Err(serde::de::Error::custom(format!(
                        "{v} is out of range: {}",
                        $what
                    )))
                }
            }
        }
    };
}

bounded_number!(
    Percent,
    f64,
    |v| v > 0.0 && v <= 100.0,
    "a percent above 0 and at most 100"
);
bounded_number!(
    Cores,
    f64,
    |v| v > 0.0 && v <= 1024.0,
    "a number of cores above 0"
);
bounded_number!(
    Share,
    f64,
    |v| (0.0..=1.0).contains(&v),
    "a share from 0 to 1"
);
bounded_number!(
    Rate,
    f64,
    |v| v > 0.0 && v <= 1_000_000.0,
    "requests per second above 0 and at most 1000000"
);
bounded_number!(
    Users,
    usize,
    |v| (1..=100_000).contains(&v),
    "from 1 to 100000 users"
);
bounded_number!(
    BurnMs,
    u64,
    |v| (1..=2000).contains(&v),
    "from 1 to 2000 ms (the demo service's DEMO_BURN_MAX_MS default)"
);
bounded_number!(
    SlowMs,
    u64,
    |v| (1..=10_000).contains(&v),
    "from 1 to 10000 ms (the demo service's DEMO_SLOW_MAX_MS default)"
);

pub fn default_burn_ms() -> BurnMs {
    BurnMs(250)
}

pub fn default_agent_service() -> String {
    "agent-lite".into()
}

struct StateName(MonitorState);

impl<'de> Deserialize<'de> for StateName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        MonitorState::from_name(&s).map(StateName).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown state {s:?}: expected \"OK\", \"Warn\", \"Alert\" or \"No Data\""
            ))
        })
    }
}

// ---------------------------------------------------------------------------------------
// Checks across fields.

fn build(ctx: &Ctx, raw: RawScenario) -> Result<Scenario, ScenarioError> {
    let name = raw.name.trim().to_owned();
    if name.is_empty() {
        return Err(ctx.error(Some(0..0), Some("name".into()), "the scenario needs a name"));
    }
    if let Some(u) = &raw.users {
        if *u.get_ref() == 0 || *u.get_ref() > 100_000 {
            return Err(ctx.error(
                Some(u.span()),
                Some("users".into()),
                "the pool of users is from 1 to 100000",
            ));
        }
    }
    if let Some(h) = &raw.hatch_rate {
        if h.get_ref().is_nan() || *h.get_ref() <= 0.0 {
            return Err(ctx.error(
                Some(h.span()),
                Some("hatch_rate".into()),
                "users started per second must be above 0",
            ));
        }
    }
    let default_traffic = raw.traffic.map(|t| t.into_inner()).unwrap_or_default();
    if default_traffic.rate.is_some() && default_traffic.users.is_some() {
        return Err(ctx.error(
            None,
            Some("traffic".into()),
            "give either `rate` (open model) or `users` (closed model), not both",
        ));
    }
    let phases_span = raw.phases.span();
    let raw_phases = raw.phases.into_inner();
    if raw_phases.is_empty() {
        return Err(ctx.error(
            Some(phases_span),
            Some("phase".into()),
            "a scenario has at least one [[phase]]",
        ));
    }
    let count = raw_phases.len();
    let mut names = HashSet::new();
    let mut phases = Vec::with_capacity(count);
    for (i, spanned) in raw_phases.into_iter().enumerate() {
        let last = i + 1 == count;
        phases.push(build_phase(
            ctx,
            &default_traffic,
            &mut names,
            i,
            last,
            spanned,
        )?);
    }
    let mut expectations = Vec::new();
    let mut budgets = Vec::new();
    for (i, e) in raw.expectations.into_iter().enumerate() {
        let span = e.span();
        let at = Some(format!("expect[{i}]"));
        match (&e.get_ref().monitor, &e.get_ref().slo) {
            (Some(_), None) => expectations.push(build_expect(ctx, &phases, i, e)?),
            (None, Some(_)) => budgets.push(build_budget(ctx, &phases, i, e)?),
            (Some(_), Some(_)) => {
                return Err(ctx.error(
                    Some(span),
                    at,
                    "an [[expect]] is on a `monitor` or on an `slo`, not both",
                ))
            }
            (None, None) => {
                return Err(ctx.error(
                    Some(span),
                    at,
                    "name a `monitor` (its state within a time of a phase's start) or an `slo` (its error budget left after a phase)",
                ))
            }
        }
    }
    Ok(Scenario {
        name,
        description: raw.description.trim().to_owned(),
        source: ctx.file.to_owned(),
        users: raw.users.map(|u| u.into_inner()),
        hatch_rate: raw.hatch_rate.map(|h| h.into_inner()),
        trace_headers: raw.trace_headers,
        timeout: raw.timeout.map_or(Duration::from_secs(30), |t| t.0),
        phases,
        expectations,
        budgets,
    })
}

/// One `[[phase]]`: its name (unique), its length, its traffic over the defaults, and each
/// of its chaos actions checked against the phase.
fn build_phase(
    ctx: &Ctx,
    default_traffic: &RawTraffic,
    names: &mut HashSet<String>,
    i: usize,
    last: bool,
    spanned: Spanned<RawPhase>,
) -> Result<Phase, ScenarioError> {
    let span = spanned.span();
    let p = spanned.into_inner();
    let at = |field: &str| Some(format!("phase[{i}].{field}"));
    let pname = p.name.trim().to_owned();
    if pname.is_empty() {
        return Err(ctx.error(Some(span), at("name"), "a phase needs a name"));
    }
    if !names.insert(pname.clone()) {
        return Err(ctx.error(
            Some(span),
            at("name"),
            format!(
                "two phases are named {pname:?}: expectations name phases, so names are unique"
            ),
        ));
    }
    let duration = match p.duration {
        PhaseLength::For(d) => Some(d),
        PhaseLength::Forever if last => None,
        PhaseLength::Forever => {
            return Err(ctx.error(
                Some(span),
                at("duration"),
                "only the last phase can last \"forever\"",
            ))
        }
    };
    let traffic = resolve_traffic(ctx, default_traffic, p.traffic, i)?;
    let cpu_spike = p
        .cpu_spike
        .map(|c| build_cpu_spike(ctx, duration, i, c))
        .transpose()?;
    let shares =
        p.error_burst.map_or(0.0, |b| b.share.0) + p.latency_burst.map_or(0.0, |b| b.share.0);
    if shares > 1.0 {
        return Err(ctx.error(
            Some(span),
            at("error_burst"),
            format!("the shares of error_burst and latency_burst add up to {shares}, over 1"),
        ));
    }
    let containers = p
        .container
        .into_iter()
        .enumerate()
        .map(|(j, c)| build_container(ctx, duration, i, j, c))
        .collect::<Result<Vec<_>, _>>()?;
    let agent_outage = p
        .agent_outage
        .map(|o| build_agent_outage(ctx, duration, i, o))
        .transpose()?;
    let db_lock = p
        .db_lock
        .map(|l| build_db_lock(ctx, duration, i, l))
        .transpose()?;
    Ok(Phase {
        name: pname,
        duration,
        traffic,
        cpu_spike,
        error_burst: p.error_burst,
        latency_burst: p.latency_burst,
        containers,
        agent_outage,
        db_lock,
    })
}

/// A CPU spike fits in its phase; in a phase that lasts forever it has its own length.
fn build_cpu_spike(
    ctx: &Ctx,
    phase: Option<Duration>,
    i: usize,
    c: Spanned<CpuSpike>,
) -> Result<CpuSpike, ScenarioError> {
    let cspan = c.span();
    let c = c.into_inner();
    let at = |field: &str| Some(format!("phase[{i}].{field}"));
    if let Some(d) = phase {
        let end = c.at.0 + c.duration.map_or(Duration::ZERO, |d| d.0);
        if c.at.0 >= d || end > d {
            return Err(ctx.error(
                Some(cspan),
                at("cpu_spike"),
                format!(
                    "the spike (at {} for {}) does not fit in the phase's {}",
                    c.at,
                    c.duration.map_or("the rest".into(), |d| d.to_string()),
                    super::duration::format(d)
                ),
            ));
        }
    } else if c.duration.is_none() {
        return Err(ctx.error(
            Some(cspan),
            at("cpu_spike.duration"),
            "a CPU spike in a phase that lasts forever needs its own duration",
        ));
    }
    Ok(c)
}

/// A container action names its compose service and starts within the phase.
fn build_container(
    ctx: &Ctx,
    phase: Option<Duration>,
    i: usize,
    j: usize,
    c: Spanned<ContainerAction>,
) -> Result<ContainerAction, ScenarioError> {
    let cspan = c.span();
    let c = c.into_inner();
    if c.service.trim().is_empty() {
        return Err(ctx.error(
            Some(cspan),
            Some(format!("phase[{i}].container[{j}].service")),
            "name the compose service (label com.docker.compose.service)",
        ));
    }
    check_offset(
        ctx,
        phase,
        c.at,
        cspan,
        format!("phase[{i}].container[{j}].at"),
    )?;
    Ok(c)
}

/// agent-lite's outage starts within the phase and lasts.
fn build_agent_outage(
    ctx: &Ctx,
    phase: Option<Duration>,
    i: usize,
    o: Spanned<AgentOutage>,
) -> Result<AgentOutage, ScenarioError> {
    let ospan = o.span();
    let o = o.into_inner();
    check_offset(
        ctx,
        phase,
        o.at,
        ospan.clone(),
        format!("phase[{i}].agent_outage.at"),
    )?;
    if o.duration.0.is_zero() {
        return Err(ctx.error(
            Some(ospan),
            Some(format!("phase[{i}].agent_outage.duration")),
            "an outage lasts more than 0s",
        ));
    }
    Ok(o)
}

/// A table lock names a table PostgreSQL would take as an identifier (it is quoted in the
/// statement, so a name is never read as SQL), starts within the phase and lasts.
fn build_db_lock(
    ctx: &Ctx,
    phase: Option<Duration>,
    i: usize,
    l: Spanned<DbLock>,
) -> Result<DbLock, ScenarioError> {
    let lspan = l.span();
    let l = l.into_inner();
    let identifier = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let parts: Vec<&str> = l.table.trim().split('.').collect();
    if parts.len() > 2 || !parts.iter().all(|p| identifier(p)) {
        return Err(ctx.error(
            Some(lspan),
            Some(format!("phase[{i}].db_lock.table")),
            format!(
                "{:?} is not a table name: `name` or `schema.name`, letters, digits and _",
                l.table
            ),
        ));
    }
    check_offset(
        ctx,
        phase,
        l.at,
        lspan.clone(),
        format!("phase[{i}].db_lock.at"),
    )?;
    if l.duration.0.is_zero() {
        return Err(ctx.error(
            Some(lspan),
            Some(format!("phase[{i}].db_lock.duration")),
            "a lock is held for more than 0s",
        ));
    }
    Ok(l)
}

fn check_offset(
    ctx: &Ctx,
    phase: Option<Duration>,
    at: Dur,
    span: std::ops::Range<usize>,
    field: String,
) -> Result<(), ScenarioError> {
    match phase {
        Some(d) if at.0 >= d => Err(ctx.error(
            Some(span),
            Some(field),
            format!(
                "{at} is past the end of the phase ({})",
                super::duration::format(d)
            ),
        )),
        _ => Ok(()),
    }
}

/// A phase's traffic: its own fields over the scenario's `[traffic]` defaults. A phase that
/// gives `rate` or `users` chooses its model; one that gives neither keeps the default's.
fn resolve_traffic(
    ctx: &Ctx,
    default: &RawTraffic,
    own: Option<Spanned<RawTraffic>>,
    i: usize,
) -> Result<Traffic, ScenarioError> {
    let (span, own) = match own {
        Some(t) => (Some(t.span()), t.into_inner()),
        None => (None, RawTraffic::default()),
    };
    let field = Some(format!("phase[{i}].traffic"));
    if own.rate.is_some() && own.users.is_some() {
        return Err(ctx.error(
            span,
            field,
            "give either `rate` (open model) or `users` (closed model), not both",
        ));
    }
    let load = match (own.rate, own.users, default.rate, default.users) {
        (Some(r), _, _, _) => Load::Rate(r.0),
        (_, Some(u), _, _) => Load::Users(u.0),
        (_, _, Some(r), _) => Load::Rate(r.0),
        (_, _, _, Some(u)) => Load::Users(u.0),
        _ => {
            return Err(ctx.error(
                span,
                field,
                "no traffic: give `rate` (requests per second) or `users` here or in the scenario's [traffic]",
            ))
        }
    };
    let mix = own.mix.or(default.mix).unwrap_or_default();
    if mix.total() == 0 {
        return Err(ctx.error(
            span,
            Some(format!("phase[{i}].traffic.mix")),
            "the mix's weights add up to 0",
        ));
    }
    Ok(Traffic {
        load,
        mix,
        slow_ms: own.slow_ms.or(default.slow_ms).map(|s| s.0),
    })
}

fn build_expect(
    ctx: &Ctx,
    phases: &[Phase],
    i: usize,
    e: Spanned<RawExpect>,
) -> Result<Expectation, ScenarioError> {
    let span = e.span();
    let line = line_col(ctx.text, span.start).0;
    let e = e.into_inner();
    let at = |field: &str| Some(format!("expect[{i}].{field}"));
    let budget_keys = [
        ("after", e.after.is_some()),
        ("since", e.since.is_some()),
        ("timeframe", e.timeframe.is_some()),
        ("budget_below", e.budget_below.is_some()),
        ("budget_above", e.budget_above.is_some()),
    ];
    if let Some((key, _)) = budget_keys.iter().find(|(_, given)| *given) {
        return Err(ctx.error(
            Some(span),
            at(key),
            format!("`{key}` is for an SLO's error budget (`slo = \"...\"`), not a monitor"),
        ));
    }
    let monitor = match e.monitor {
        None => return Err(ctx.error(Some(span), at("monitor"), "name the monitor")),
        Some(RawMonitorRef::Id(id)) => MonitorRef::Id(id),
        Some(RawMonitorRef::Name(n)) if n.trim().is_empty() => {
            return Err(ctx.error(
                Some(span),
                at("monitor"),
                "name the monitor (or give its id)",
            ))
        }
        Some(RawMonitorRef::Name(n)) => match n.trim().parse::<u64>() {
            Ok(id) => MonitorRef::Id(id),
            Err(_) => MonitorRef::Name(n),
        },
    };
    let when =
        match (e.never, e.phase, e.within) {
            (true, None, None) => When::Never,
            (true, _, _) => {
                return Err(ctx.error(
                    Some(span),
                    at("never"),
                    "`never = true` covers the whole run: leave out `phase` and `within`",
                ))
            }
            (false, Some(phase), Some(within)) => {
                let idx = phase_index(ctx, phases, &phase, span.clone(), at("phase"))?;
                if within.0.is_zero() {
                    return Err(ctx.error(Some(span), at("within"), "`within` is more than 0s"));
                }
                When::Within {
                    phase: idx,
                    within: within.0,
                }
            }
            (false, None, _) => {
                return Err(ctx.error(
                    Some(span),
                    at("phase"),
                    "say when: `phase = \"...\"` with `within = \"60s\"`, or `never = true`",
                ))
            }
            (false, Some(_), None) => return Err(ctx.error(
                Some(span),
                at("within"),
                "`phase` needs `within`: how long after the phase's start the state must be seen",
            )),
        };
    Ok(Expectation {
        monitor,
        group: e
            .group
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty()),
        state: e.state.map_or(MonitorState::Alert, |s| s.0),
        when,
        line,
    })
}

/// The phase named `name`, or an error listing the phases.
fn phase_index(
    ctx: &Ctx,
    phases: &[Phase],
    name: &str,
    span: std::ops::Range<usize>,
    field: Option<String>,
) -> Result<usize, ScenarioError> {
    phases
        .iter()
        .position(|p| p.name == name.trim())
        .ok_or_else(|| {
            let known: Vec<&str> = phases.iter().map(|p| p.name.as_str()).collect();
            ctx.error(
                Some(span),
                field,
                format!("no phase is named {name:?} (phases: {})", known.join(", ")),
            )
        })
}

/// An expectation on an SLO's error budget: the SLO, the phase it is read after (one that
/// ends), bounds that some value can meet, and none of a monitor's keys.
fn build_budget(
    ctx: &Ctx,
    phases: &[Phase],
    i: usize,
    e: Spanned<RawExpect>,
) -> Result<BudgetExpectation, ScenarioError> {
    let span = e.span();
    let line = line_col(ctx.text, span.start).0;
    let e = e.into_inner();
    let at = |field: &str| Some(format!("expect[{i}].{field}"));
    let err = |field: &str, message: String| ctx.error(Some(span.clone()), at(field), message);
    let monitor_keys = [
        ("group", e.group.is_some()),
        ("state", e.state.is_some()),
        ("phase", e.phase.is_some()),
        ("within", e.within.is_some()),
        ("never", e.never),
    ];
    if let Some((key, _)) = monitor_keys.iter().find(|(_, given)| *given) {
        return Err(err(
            key,
            format!("`{key}` is for a monitor; an SLO's budget is read `after = \"<phase>\"`"),
        ));
    }
    let slo = e.slo.unwrap_or_default().trim().to_owned();
    if slo.is_empty() {
        return Err(err("slo", "name the SLO (its id or its name)".into()));
    }
    let Some(after_name) = e.after else {
        return Err(err(
            "after",
            "say when: `after = \"<phase>\"`, the phase at whose end the budget is read".into(),
        ));
    };
    let after = phase_index(ctx, phases, &after_name, span.clone(), at("after"))?;
    if phases[after].duration.is_none() {
        return Err(err(
            "after",
            format!("phase {after_name:?} lasts forever: it has no end to read the budget at"),
        ));
    }
    let since = e
        .since
        .map(|name| phase_index(ctx, phases, &name, span.clone(), at("since")))
        .transpose()?;
    if since.is_some_and(|s| s > after) {
        return Err(err(
            "since",
            format!(
                "phase {:?} starts after the end of phase {after_name:?}",
                phases[since.unwrap_or(0)].name
            ),
        ));
    }
    if let Some(t) = &e.timeframe {
        if !TIMEFRAMES.contains(&t.as_str()) {
            return Err(err(
                "timeframe",
                format!("{t:?} is not an SLO timeframe: 7d, 30d or 90d"),
            ));
        }
    }
    for (key, v) in [
        ("budget_below", e.budget_below),
        ("budget_above", e.budget_above),
    ] {
        if v.is_some_and(|v| !v.is_finite()) {
            return Err(err(
                key,
                "a percent of the error budget, a finite number".into(),
            ));
        }
    }
    match (e.budget_above, e.budget_below) {
        (None, None) => {
            return Err(err(
                "budget_below",
                "give `budget_below` or `budget_above` (percent of the error budget left; 100 is untouched, below 0 overspent)".into(),
            ))
        }
        (Some(a), _) if a >= 100.0 => {
            return Err(err(
                "budget_above",
                format!("{a} can never be passed: at most 100% of a budget is left"),
            ))
        }
        (Some(a), Some(b)) if a >= b => {
            return Err(err(
                "budget_above",
                format!("no value is over {a} and under {b}"),
            ))
        }
        _ => {}
    }
    Ok(BudgetExpectation {
        slo: SloRef(slo),
        timeframe: e.timeframe,
        since,
        after,
        below: e.budget_below,
        above: e.budget_above,
        line,
    })
}
