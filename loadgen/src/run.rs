//! `loadgen run`: everything checked before the first request (scenario, target, agent-lite
//! and its monitors, Docker), then goose's run with loadgen's timeline beside it (live
//! line, chaos actions, monitor changes), then the verdicts and the reports.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tokio::sync::watch;

use crate::agent::{AgentApi, SloHistory};
use crate::budget::{self, ResolvedSlo};
use crate::chaos::{self, docker::DockerChaos, postgres::PgChaos, Chaos};
use crate::cli::RunArgs;
use crate::expect::{self, Judged, Observation, RunTimes, Subject, Verdict};
use crate::plan::Plan;
use crate::report::{self, RunReport, Totals};
use crate::scenario::{MonitorState, Scenario, When};
use crate::traffic::{self, Engine};

/// Longest wait after the traffic for expectations whose window is still open.
const MAX_WAIT_AFTER: Duration = Duration::from_secs(600);
const POLL_MONITORS: Duration = Duration::from_secs(2);

fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The monitors and SLOs the expectations name, resolved before the run.
struct Checks {
    api: AgentApi,
    ids: Vec<(u64, String)>,
    initial: BTreeMap<u64, BTreeMap<String, MonitorState>>,
    /// The SLO of each budget expectation, in order.
    slos: Vec<ResolvedSlo>,
}

/// Returns whether every expectation passed (true also without --check).
pub async fn run(args: RunArgs, s: Scenario) -> anyhow::Result<bool> {
    let plan = Plan::new(&s, args.duration);
    if plan.end.is_infinite() && args.check && s.expectations.iter().any(|e| e.when == When::Never)
    {
        anyhow::bail!(
            "scenario '{}' runs until stopped, so its `never` expectations could never be judged: give --duration",
            s.name
        );
    }

    // --- before any traffic ----------------------------------------------------------------
    let checks = if args.check {
        Some(prepare_checks(&args.agent, &s).await?)
    } else {
        None
    };
    let (docker, docker_warnings) = if s.needs_docker() && !args.skip_docker {
        let (d, w) = DockerChaos::prepare(&s, args.compose_project.clone()).await?;
        (Some(Arc::new(d)), w)
    } else {
        (None, Vec::new())
    };
    for w in &docker_warnings {
        elog!("loadgen: warning: {w}");
    }
    let postgres = args
        .postgres
        .as_deref()
        .map(PgChaos::new)
        .transpose()?
        .map(Arc::new);
    check_target(&args.target).await?;
    let goose_html = match &args.report_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the report folder {}", dir.display()))?;
            Some(dir.join("goose.html"))
        }
        None => None,
    };
    let (actions, skipped) = chaos::schedule(&s, &plan, docker.as_deref(), postgres.is_some());
    for a in &skipped {
        elog!("loadgen: skipped: {a}");
    }
    let engine = Arc::new(Engine::new(&s, plan.clone(), &args.target)?);
    let phase_names: Vec<String> = s.phases.iter().map(|p| p.name.clone()).collect();
    let chaos = Chaos::new(actions, docker, postgres, phase_names.clone(), args.quiet);

    elog!(
        "loadgen: scenario '{}' ({}) against {}: {} phases, {}, {} users",
        s.name,
        s.source,
        args.target,
        s.phases.len(),
        if plan.end.is_finite() {
            format!("{:.0}s", plan.end)
        } else {
            "until stopped (Ctrl-C)".into()
        },
        plan.pool
    );

    // --- the run ---------------------------------------------------------------------------
    let (stop_tx, stop_rx) = watch::channel(false);
    let finished_by_us = Arc::new(AtomicBool::new(false));
    let monitor_names: BTreeMap<u64, String> = checks
        .as_ref()
        .map(|c| c.ids.iter().cloned().collect())
        .unwrap_or_default();
    let driver = tokio::spawn(drive(
        Arc::clone(&engine),
        chaos,
        stop_rx,
        Arc::clone(&finished_by_us),
        args.quiet,
        phase_names.clone(),
        checks.as_ref().map(|_| args.agent.clone()),
        monitor_names,
    ));
    let config = traffic::goose_config(&args.target, &plan, s.timeout, goose_html.as_deref());
    let goose = traffic::run_goose(Arc::clone(&engine), config, s.timeout);
    tokio::pin!(goose);
    let mut driver = driver;
    let (goose_result, driven) = tokio::select! {
        g = &mut goose => {
            engine.finish();
            let _ = stop_tx.send(true);
            (g, (&mut driver).await)
        }
        // The timeline ends only when told to: if it failed, goose must not run on unseen.
        d = &mut driver => {
            engine.finish();
            goose::trigger_killswitch("the timeline task ended");
            ((&mut goose).await, d)
        }
    };
    let (mut chaos, times) = driven.context("the timeline task failed")?;
    let ended = epoch_now();
    chaos.cleanup(engine.elapsed().unwrap_or(0.0)).await;
    goose_result.context("goose stopped with an error")?;
    let Some(mut times) = times else {
        anyhow::bail!("goose ended before the run started");
    };
    times.end = Some(ended);
    let ran = ended - times.start;
    let ended_by = if !finished_by_us.load(Ordering::SeqCst) {
        "stopped (Ctrl-C or SIGTERM)".to_owned()
    } else if args.duration.is_some() && s.total().is_none_or(|t| args.duration < Some(t)) {
        "ended at --duration".to_owned()
    } else {
        "completed".to_owned()
    };

    // --- verdicts --------------------------------------------------------------------------
    let judged = match &checks {
        Some(c) => judge_all(&s, c, &times, args.skip_docker && s.needs_docker()).await?,
        None => Vec::new(),
    };

    // --- reports ---------------------------------------------------------------------------
    let stats = engine.stats().phases();
    let phases: Vec<_> = (0..s.phases.len())
        .filter(|i| plan.phases[*i].start < ran)
        .map(|i| {
            let pp = &plan.phases[i];
            let ran_s = (pp.end.min(ran) - pp.start).max(0.0);
            report::phase_report(&s, &plan, i, &stats[i], ran_s)
        })
        .collect();
    let totals = stats.iter().fold(Totals::default(), |t, p| Totals {
        requests: t.requests + p.traffic.count,
        errors: t.errors + p.traffic.errors,
        burns: t.burns + p.endpoints.get("GET /burn").map_or(0, |e| e.count),
    });
    let started_at = chrono::DateTime::from_timestamp(times.start as i64, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default();
    let r = RunReport {
        scenario: s.name.clone(),
        description: s.description.clone(),
        source: s.source.clone(),
        target: args.target.clone(),
        started_at,
        started_epoch_s: times.start,
        duration_s: ran,
        ended_by,
        users: plan.pool,
        totals,
        phases,
        chaos: chaos.events(),
        skipped_actions: skipped,
        expectations: judged.clone(),
        seconds: engine.stats().seconds(),
        goose_html: goose_html.as_ref().map(|_| "goose.html".to_owned()),
    };
    oprint!("{}", report::summary(&r));
    oprint!("{}", report::expectations_text(&judged));
    if let Some(dir) = &args.report_dir {
        report::write_json(dir, &r)?;
        report::write_html(dir, &r)?;
        olog!(
            "reports: {} (JSON), {} (summary), {}",
            dir.join("report.json").display(),
            dir.join("report.html").display(),
            goose_html.as_ref().filter(|p| p.exists()).map_or(
                "goose wrote no HTML report".into(),
                |p| format!("{} (goose)", p.display())
            )
        );
    }
    if let Some(path) = &args.junit {
        crate::junit::write(
            path,
            &s.name,
            &judged,
            Duration::from_secs_f64(ran.max(0.0)),
        )?;
        olog!("JUnit: {}", path.display());
    }
    Ok(judged
        .iter()
        .all(|j| matches!(j.verdict, Verdict::Passed { .. } | Verdict::Skipped { .. })))
}

async fn prepare_checks(agent: &str, s: &Scenario) -> anyhow::Result<Checks> {
    let api = AgentApi::new(agent)?;
    let monitors = api.monitors().await.with_context(|| {
        format!("--check needs agent-lite's monitor API at {agent} (set it with --agent or LOADGEN_AGENT)")
    })?;
    let ids = expect::resolve(&s.expectations, &monitors).map_err(|e| {
        anyhow::anyhow!(
            "scenario '{}' expects monitors agent-lite does not have:\n{e}",
            s.name
        )
    })?;
    let initial = monitors
        .iter()
        .filter(|m| ids.iter().any(|(id, _)| *id == m.id))
        .map(|m| (m.id, m.group_states()))
        .collect();
    let slos = if s.budgets.is_empty() {
        Vec::new()
    } else {
        let list = api.slos().await.with_context(|| {
            format!(
                "--check needs agent-lite's SLO API at {agent} for the scenario's SLO expectations"
            )
        })?;
        budget::resolve(&s.budgets, &list).map_err(|e| {
            anyhow::anyhow!(
                "scenario '{}' expects SLOs agent-lite does not have:\n{e}",
                s.name
            )
        })?
    };
    Ok(Checks {
        api,
        ids,
        initial,
        slos,
    })
}

/// The demo service must answer before any traffic: a wrong --target is said at once, not
/// as a run full of errors.
async fn check_target(target: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .context("cannot build the HTTP client")?;
    let url = format!("{target}/healthz");
    let res = http.get(&url).send().await.with_context(|| {
        format!(
            "the demo service does not answer at {url} (set it with --target or LOADGEN_TARGET)"
        )
    })?;
    if !res.status().is_success() {
        anyhow::bail!("the demo service answers {url} with {}", res.status());
    }
    Ok(())
}

/// The timeline beside goose: waits for goose's start, then every 100 ms runs the chaos due,
/// every second prints the live line, every 2 s looks at the monitors; at the end of the
/// scenario it stops goose. Hands the chaos back (for the cleanup) with the run's times.
#[allow(clippy::too_many_arguments)]
async fn drive(
    engine: Arc<Engine>,
    mut chaos: Chaos,
    mut stop: watch::Receiver<bool>,
    finished_by_us: Arc<AtomicBool>,
    quiet: bool,
    phase_names: Vec<String>,
    agent: Option<String>,
    monitors: BTreeMap<u64, String>,
) -> (Chaos, Option<RunTimes>) {
    let mut sigterm =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    // goose starts the clock once it is set up.
    let t0 = loop {
        if let Some(t) = engine.started_at() {
            break t;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = stop.changed() => return (chaos, None),
        }
    };
    let start_epoch = epoch_now() - t0.elapsed().as_secs_f64();
    let plan = engine.plan();
    let times = RunTimes {
        start: start_epoch,
        phase_starts: plan.phases.iter().map(|p| start_epoch + p.start).collect(),
        phase_ends: plan.phases.iter().map(|p| start_epoch + p.end).collect(),
        phase_names: phase_names.clone(),
        end: None,
    };
    let api = agent.and_then(|a| AgentApi::new(&a).ok());
    let mut last_states: BTreeMap<u64, MonitorState> = BTreeMap::new();
    let mut next_poll = 0.0;
    let mut next_line = 1u64;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
            Some(_) = async { match sigterm.as_mut() { Some(s) => s.recv().await, None => None } } => {
                elog!("loadgen: SIGTERM: stopping");
                goose::trigger_killswitch("SIGTERM received");
            }
        }
        let now = t0.elapsed().as_secs_f64();
        chaos.run_due(now);
        if now >= next_line as f64 {
            let sec = next_line - 1;
            next_line += 1;
            let live = engine.stats().live(sec);
            if !quiet {
                let (phase, left) = match plan.phase_at(now) {
                    Some(i) => (
                        phase_names[i].as_str(),
                        plan.phases[i]
                            .end
                            .is_finite()
                            .then(|| plan.phases[i].end - now),
                    ),
                    None => ("(ending)", Some(0.0)),
                };
                elog!("{}", crate::progress::line(sec + 1, phase, left, &live));
            }
        }
        if let Some(api) = api.as_ref().filter(|_| now >= next_poll) {
            next_poll = now + POLL_MONITORS.as_secs_f64();
            if let Ok(list) = api.monitors().await {
                for m in list.iter().filter(|m| monitors.contains_key(&m.id)) {
                    let state = m.overall();
                    let before = last_states.insert(m.id, state);
                    if before.is_some_and(|b| b != state) && !quiet {
                        elog!(
                            "[{:>6.1}s] monitor {:?}: {} -> {} ({})",
                            now,
                            m.name,
                            before.map_or("?", |b| b.name()),
                            state.name(),
                            times.relative(epoch_now())
                        );
                    }
                }
            }
        }
        if now >= plan.end && !finished_by_us.swap(true, Ordering::SeqCst) {
            engine.stop();
            goose::trigger_killswitch("the scenario is over");
        }
    }
    (chaos, Some(times))
}

/// Waits while an undecided expectation's window is open (the monitors judge data already
/// sent a little later; an SLO's budget is read once its phase's spans are in), then judges
/// every expectation: monitors on their histories, budgets on the SLOs' histories. The
/// verdicts come in the file's order.
async fn judge_all(
    s: &Scenario,
    c: &Checks,
    times: &RunTimes,
    docker_skipped: bool,
) -> anyhow::Result<Vec<Judged>> {
    let skipped_phases: Vec<usize> = if docker_skipped {
        s.phases
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.containers.is_empty() || p.agent_outage.is_some())
            .map(|(i, _)| i)
            .collect()
    } else {
        Vec::new()
    };
    let skipped_why = |phase: usize| Verdict::Skipped {
        why: format!(
            "the Docker actions of phase '{}' were skipped (--skip-docker)",
            s.phases[phase].name
        ),
    };
    let deadline = epoch_now() + MAX_WAIT_AFTER.as_secs_f64();
    let mut readings: BTreeMap<usize, SloHistory> = BTreeMap::new();
    let mut announced = false;
    loop {
        let now = epoch_now();
        let mut observations = BTreeMap::new();
        for (id, _) in &c.ids {
            if observations.contains_key(id) {
                continue;
            }
            let history = c
                .api
                .history(*id)
                .await
                .with_context(|| format!("reading the history of monitor {id}"))?;
            let initial = c.initial.get(id).cloned().unwrap_or_default();
            observations.insert(*id, Observation::new(initial, &history));
        }
        for (i, (b, slo)) in s.budgets.iter().zip(&c.slos).enumerate() {
            if readings.contains_key(&i) || now < budget::due(b, times) {
                continue;
            }
            let (from, to) = budget::query_range(b, times);
            let h = c
                .api
                .slo_history(&slo.id, from, to)
                .await
                .with_context(|| format!("reading the history of SLO {}", slo.id))?;
            readings.insert(i, h);
        }
        let mut judged: Vec<Judged> = s
            .expectations
            .iter()
            .zip(&c.ids)
            .map(|(e, (id, name))| {
                let obs = &observations[id];
                let verdict = match e.when {
                    When::Within { phase, .. } if skipped_phases.contains(&phase) => {
                        skipped_why(phase)
                    }
                    _ => expect::judge(e, times, obs, now),
                };
                Judged {
                    expectation: expect::label(s, e, name),
                    line: e.line,
                    subject: Subject::Monitor {
                        monitor_id: *id,
                        monitor_name: name.clone(),
                    },
                    verdict,
                    observed: expect::observed(obs, e.group.as_deref(), times),
                }
            })
            .collect();
        for (i, (b, slo)) in s.budgets.iter().zip(&c.slos).enumerate() {
            let reading = readings.get(&i);
            let first = b.since.unwrap_or(0);
            let verdict = match skipped_phases
                .iter()
                .find(|p| (first..=b.after).contains(p))
            {
                Some(p) => skipped_why(*p),
                None => budget::judge(s, b, slo, reading, times),
            };
            judged.push(Judged {
                expectation: s.describe_budget(b, Some(&slo.name), Some(&slo.timeframe)),
                line: b.line,
                subject: Subject::Slo {
                    slo_id: slo.id.clone(),
                    slo_name: slo.name.clone(),
                },
                verdict,
                observed: budget::observed(s, b, slo, reading, times),
            });
        }
        judged.sort_by_key(|j| j.line);
        let pending = judged
            .iter()
            .filter(|j| j.verdict == Verdict::Pending)
            .count();
        if pending == 0 || now >= deadline {
            return Ok(judged);
        }
        if !announced {
            let until = s
                .expectations
                .iter()
                .map(|e| expect::window(e, times).1)
                .chain(s.budgets.iter().map(|b| budget::due(b, times)))
                .filter(|t| t.is_finite())
                .fold(now, f64::max);
            elog!(
                "loadgen: waiting up to {:.0}s for {pending} expectation(s) whose window is still open",
                (until - now).min(MAX_WAIT_AFTER.as_secs_f64()),
            );
            announced = true;
        }
        tokio::time::sleep(POLL_MONITORS).await;
    }
}

/// Where a scenario argument points: a file, or a built-in name.
pub fn load(arg: &str) -> Result<Scenario, LoadError> {
    let path = PathBuf::from(arg);
    if path.is_file() {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| LoadError::Io(format!("cannot read {arg}: {e}")))?;
        return crate::scenario::parse::parse(arg, &text).map_err(LoadError::Scenario);
    }
    if let Some(b) = crate::scenario::builtin::find(arg) {
        return b.parse().map_err(LoadError::Scenario);
    }
    Err(LoadError::Io(format!(
        "no scenario file {arg} and no built-in scenario of that name (built-ins: {})",
        crate::scenario::builtin::names().join(", ")
    )))
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{0}")]
    Scenario(crate::scenario::parse::ScenarioError),
    #[error("{0}")]
    Io(String),
}
