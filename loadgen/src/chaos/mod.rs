//! The chaos actions on the run's timeline: the local CPU burner, the Docker actions
//! (container kill, crash, restart, stop, start; agent outage) and the database slowdown
//! (a table lock held in PostgreSQL), with the follow-ups that
//! bring things back (a killed container started again, the agent after its outage). Every
//! action done is logged for the live output and the report; at the end, whatever loadgen
//! stopped is started again, even when the run was cut short.

pub mod cpu;
pub mod docker;
pub mod postgres;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use crate::plan::{host_cores, Plan};
use crate::scenario::{ContainerVerb, LockMode, Scenario};
use docker::DockerChaos;
use postgres::PgChaos;

/// Kill (Docker's) and a crash Docker will not restart: the container is started again
/// after this long unless the scenario says `down_for`.
const DEFAULT_DOWN_FOR: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Container {
        verb: ContainerVerb,
        service: String,
    },
    /// Start a container loadgen stopped or killed.
    StartAgain {
        service: String,
    },
    AgentDown {
        service: String,
    },
    BurnStart {
        percent: f64,
        cores: f64,
        ramp: Duration,
    },
    BurnStop,
    DbLock {
        table: String,
        mode: LockMode,
        hold: Duration,
    },
}

impl Action {
    fn describe(&self) -> String {
        match self {
            Action::Container { verb, service } => format!("{verb:?} {service}").to_lowercase(),
            Action::StartAgain { service } => format!("start {service} again"),
            Action::AgentDown { service } => format!("agent outage: stop {service}"),
            Action::BurnStart { percent, cores, .. } => {
                format!("local CPU burner on, target {percent}% of {cores} cores")
            }
            Action::BurnStop => "local CPU burner off".into(),
            Action::DbLock { table, mode, hold } => format!(
                "database slowdown: lock {table} in {} mode for {hold:?}",
                mode.sql()
            )
            .to_lowercase(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    /// Seconds from the run's start.
    pub at: f64,
    pub phase: usize,
    pub action: Action,
}

/// One thing done, for the live output and the report.
#[derive(Debug, Clone, Serialize)]
pub struct ChaosEvent {
    /// Seconds from the run's start.
    pub t: f64,
    pub phase: String,
    pub action: String,
    pub ok: bool,
    pub result: String,
}

/// Every action of the scenario with its time; Docker actions only when `docker` is given,
/// table locks only when a PostgreSQL is (else they are listed in the second value, as
/// skipped).
pub fn schedule(
    s: &Scenario,
    plan: &Plan,
    docker: Option<&DockerChaos>,
    postgres: bool,
) -> (Vec<Scheduled>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for (i, (p, pp)) in s.phases.iter().zip(&plan.phases).enumerate() {
        let push = |out: &mut Vec<Scheduled>, at: f64, action: Action| {
            if at < plan.end {
                out.push(Scheduled {
                    at,
                    phase: i,
                    action,
                });
            }
        };
        if let Some(c) = p.cpu_spike.filter(|c| c.local) {
            let start = pp.start + c.at.secs_f64();
            let end = c
                .duration
                .map_or(pp.end, |d| (start + d.secs_f64()).min(pp.end));
            let cores = c.cores.map_or_else(host_cores, |c| c.0);
            push(
                &mut out,
                start,
                Action::BurnStart {
                    percent: c.percent.0,
                    cores,
                    ramp: c.ramp.0,
                },
            );
            if end.is_finite() {
                out.push(Scheduled {
                    at: end.min(plan.end),
                    phase: i,
                    action: Action::BurnStop,
                });
            }
        }
        if let Some(l) = &p.db_lock {
            if postgres {
                push(
                    &mut out,
                    pp.start + l.at.secs_f64(),
                    Action::DbLock {
                        table: l.table.clone(),
                        mode: l.mode,
                        hold: l.duration.0,
                    },
                );
            } else {
                skipped.push(format!(
                    "lock of {} in phase '{}' (no --postgres)",
                    l.table, p.name
                ));
            }
        }
        let Some(d) = docker else {
            skipped.extend(p.containers.iter().map(|c| {
                format!("{:?} {} in phase '{}'", c.action, c.service, p.name).to_lowercase()
            }));
            skipped.extend(
                p.agent_outage
                    .iter()
                    .map(|o| format!("agent outage ({}) in phase '{}'", o.service, p.name)),
            );
            continue;
        };
        for c in &p.containers {
            let at = pp.start + c.at.secs_f64();
            push(
                &mut out,
                at,
                Action::Container {
                    verb: c.action,
                    service: c.service.clone(),
                },
            );
            let again = match c.action {
                ContainerVerb::Kill => Some(c.down_for.map_or(DEFAULT_DOWN_FOR, |d| d.0)),
                ContainerVerb::Crash if !d.crash_reaches_process(&c.service) => {
                    Some(c.down_for.map_or(DEFAULT_DOWN_FOR, |d| d.0))
                }
                ContainerVerb::Stop => c.down_for.map(|d| d.0),
                _ => None,
            };
            if let Some(after) = again {
                push(
                    &mut out,
                    at + after.as_secs_f64(),
                    Action::StartAgain {
                        service: c.service.clone(),
                    },
                );
            }
        }
        if let Some(o) = &p.agent_outage {
            let at = pp.start + o.at.secs_f64();
            push(
                &mut out,
                at,
                Action::AgentDown {
                    service: o.service.clone(),
                },
            );
            push(
                &mut out,
                at + o.duration.secs_f64(),
                Action::StartAgain {
                    service: o.service.clone(),
                },
            );
        }
    }
    out.sort_by(|a, b| a.at.total_cmp(&b.at));
    (out, skipped)
}

/// Runs the scheduled actions as their time comes.
pub struct Chaos {
    queue: std::collections::VecDeque<Scheduled>,
    docker: Option<Arc<DockerChaos>>,
    postgres: Option<Arc<PgChaos>>,
    /// Locks held: aborting one drops its connection, which releases the lock.
    locks: Vec<tokio::task::AbortHandle>,
    burner: Option<cpu::LocalBurner>,
    /// Services loadgen took down and has not started again.
    down: Arc<Mutex<BTreeSet<String>>>,
    pub log: Arc<Mutex<Vec<ChaosEvent>>>,
    phase_names: Vec<String>,
    quiet: bool,
}

impl Chaos {
    pub fn new(
        actions: Vec<Scheduled>,
        docker: Option<Arc<DockerChaos>>,
        postgres: Option<Arc<PgChaos>>,
        phase_names: Vec<String>,
        quiet: bool,
    ) -> Self {
        Self {
            queue: actions.into(),
            docker,
            postgres,
            locks: Vec::new(),
            burner: None,
            down: Arc::default(),
            log: Arc::default(),
            phase_names,
            quiet,
        }
    }

    /// Starts every action due at `now` (seconds from the start); Docker calls run in the
    /// background so the timeline does not wait for them.
    pub fn run_due(&mut self, now: f64) {
        while self.queue.front().is_some_and(|a| a.at <= now) {
            let Some(a) = self.queue.pop_front() else {
                break;
            };
            let phase = self.phase_names.get(a.phase).cloned().unwrap_or_default();
            let what = a.action.describe();
            match a.action {
                Action::BurnStart {
                    percent,
                    cores,
                    ramp,
                } => {
                    if let Some(b) = self.burner.take() {
                        b.stop();
                    }
                    self.burner = Some(cpu::LocalBurner::start(percent, cores, host_cores(), ramp));
                    self.record(now, phase, what, Ok("on".into()));
                }
                Action::BurnStop => {
                    if let Some(b) = self.burner.take() {
                        b.stop();
                    }
                    self.record(now, phase, what, Ok("off".into()));
                }
                Action::Container { verb, service } => {
                    self.docker_task(now, phase, what, service, verb)
                }
                Action::StartAgain { service } => {
                    self.docker_task(now, phase, what, service, ContainerVerb::Start)
                }
                Action::AgentDown { service } => {
                    self.docker_task(now, phase, what, service, ContainerVerb::Stop)
                }
                Action::DbLock { table, mode, hold } => {
                    self.lock_task(now, phase, what, table, mode, hold)
                }
            }
        }
    }

    fn docker_task(
        &self,
        now: f64,
        phase: String,
        what: String,
        service: String,
        verb: ContainerVerb,
    ) {
        let Some(docker) = self.docker.clone() else {
            return;
        };
        let (down, log, quiet) = (Arc::clone(&self.down), Arc::clone(&self.log), self.quiet);
        tokio::spawn(async move {
            let result = docker.act(verb, &service).await;
            if result.is_ok() {
                let mut down = down.lock().unwrap_or_else(|e| e.into_inner());
                match verb {
                    ContainerVerb::Kill | ContainerVerb::Stop => {
                        down.insert(service.clone());
                    }
                    ContainerVerb::Crash if !docker.crash_reaches_process(&service) => {
                        down.insert(service.clone());
                    }
                    ContainerVerb::Start | ContainerVerb::Restart => {
                        down.remove(&service);
                    }
                    ContainerVerb::Crash => {}
                }
            }
            let event = event(now, phase, what, result.map_err(|e| format!("{e:#}")));
            announce(&event, quiet);
            log.lock().unwrap_or_else(|e| e.into_inner()).push(event);
        });
    }

    /// Takes the lock in the background: an event when it is taken (or could not be), and
    /// one when it is released, at the time it is.
    fn lock_task(
        &mut self,
        now: f64,
        phase: String,
        what: String,
        table: String,
        mode: LockMode,
        hold: Duration,
    ) {
        let Some(pg) = self.postgres.clone() else {
            return;
        };
        let (log, quiet) = (Arc::clone(&self.log), self.quiet);
        let push = move |t: f64, what: String, result: Result<String, String>| {
            let event = event(t, phase.clone(), what, result);
            announce(&event, quiet);
            log.lock().unwrap_or_else(|e| e.into_inner()).push(event);
        };
        let task = tokio::spawn(async move {
            match pg.lock(&table, mode, hold).await {
                Err(e) => push(now, what, Err(format!("{e:#}"))),
                Ok(release) => {
                    push(now, what, Ok(format!("{table} locked")));
                    let result = release.await.map_err(|e| format!("{e:#}"));
                    push(now + hold.as_secs_f64(), format!("release {table}"), result);
                }
            }
        });
        self.locks.push(task.abort_handle());
    }

    fn record(&self, now: f64, phase: String, what: String, result: Result<String, String>) {
        let event = event(now, phase, what, result);
        announce(&event, self.quiet);
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event);
    }

    /// Stops the burner and starts again what loadgen took down.
    pub async fn cleanup(&mut self, now: f64) {
        if let Some(b) = self.burner.take() {
            b.stop();
        }
        for lock in self.locks.drain(..) {
            lock.abort();
        }
        let down: Vec<String> =
            std::mem::take(&mut *self.down.lock().unwrap_or_else(|e| e.into_inner()))
                .into_iter()
                .collect();
        let Some(docker) = self.docker.clone() else {
            return;
        };
        for service in down {
            let result = docker
                .ensure_running(&service)
                .await
                .map(|r| r.unwrap_or_else(|| "already running".into()))
                .map_err(|e| format!("{e:#}"));
            self.record(
                now,
                "end of run".into(),
                format!("start {service} again"),
                result,
            );
        }
    }

    pub fn events(&self) -> Vec<ChaosEvent> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn event(t: f64, phase: String, action: String, result: Result<String, String>) -> ChaosEvent {
    let (ok, result) = match result {
        Ok(r) => (true, r),
        Err(e) => (false, e),
    };
    ChaosEvent {
        t,
        phase,
        action,
        ok,
        result,
    }
}

fn announce(e: &ChaosEvent, quiet: bool) {
    if quiet && e.ok {
        return;
    }
    elog!(
        "[{:>6.1}s] chaos: {}: {}{}",
        e.t,
        e.action,
        if e.ok { "" } else { "FAILED: " },
        e.result
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse::parse;

    #[test]
    fn docker_actions_are_skipped_without_docker_and_the_burner_is_timed() {
        let s = parse(
            "t.toml",
            r#"
name = "t"
[traffic]
rate = 5
[[phase]]
name = "calm"
duration = "10s"
[[phase]]
name = "spike"
duration = "30s"
cpu_spike = { percent = 80, at = "5s", duration = "20s", local = true }
container = [{ action = "kill", service = "demo-service", at = "2s" }]
agent_outage = { duration = "5s" }
"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::new(&s, None);
        let (actions, skipped) = schedule(&s, &plan, None, false);
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(skipped[0].contains("kill demo-service"), "{skipped:?}");
        assert_eq!(actions.len(), 2);
        assert!((actions[0].at - 15.0).abs() < 1e-9);
        assert!(matches!(actions[0].action, Action::BurnStart { percent, .. } if percent == 80.0));
        assert!((actions[1].at - 35.0).abs() < 1e-9);
        assert_eq!(actions[1].action, Action::BurnStop);
    }
}
