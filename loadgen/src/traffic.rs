//! The traffic, with goose as the engine: goose launches the users (at the hatch rate),
//! runs their loop, makes and counts the requests and writes its HTML report. What goose
//! does not do, loadgen adds inside goose's one transaction:
//!
//! - **The open model.** goose is a closed model (each user sends when its previous answer
//!   came) and `--throttle-requests` only caps the rate, for the whole run. Here every user
//!   asks a shared schedule for the next request due (each phase's rate, the CPU spike's
//!   `/burn` calls), waits for its time and sends it: the rate holds when the service slows,
//!   as real users keep arriving. In a closed-model phase the first N users send back to
//!   back and the others wait.
//! - **Latency without coordinated omission.** Each request's latency is measured from the
//!   time it was *due*, not from when a user got round to it (wrk2's method), into HDR
//!   histograms (`stats`).
//! - **The chaos mix.** The error and latency bursts change which endpoint each request hits.
//! - **One HTTP client for all users**, with idle connections dropped after 2 s, before
//!   actix's 5 s keep-alive closes them: goose 0.19.0 (the newest on crates.io) counts a
//!   request sent on a connection the server just closed as a failure, which would show as
//!   errors that the service never made.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::goose::{GooseMethod, GooseRequest, GooseUser, Transaction, TransactionFunction};
use goose::metrics::GooseCoordinatedOmissionMitigation;
use goose::prelude::{GooseAttack, TransactionResult};
use rand::Rng;

use crate::plan::Plan;
use crate::scenario::{Mix, Scenario};
use crate::stats::{Outcome, Stats};

/// A user claims a request this long before it is due, then sleeps until its time.
const HORIZON: f64 = 0.010;
/// Longest a transaction keeps sending before it hands back to goose's loop (which checks
/// for the end of the run between transactions).
const BATCH: Duration = Duration::from_millis(50);
/// Longest sleep of an idle user, so it sees a new phase and goose's stop quickly.
const IDLE_MAX: Duration = Duration::from_millis(200);

/// Which endpoint a request hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Root,
    Slow(Option<u64>),
    Error,
    Burn(u64),
}

impl Kind {
    pub fn path(self) -> String {
        match self {
            Kind::Root => "/".into(),
            Kind::Slow(None) => "/slow".into(),
            Kind::Slow(Some(ms)) => format!("/slow?ms={ms}"),
            Kind::Error => "/error".into(),
            Kind::Burn(ms) => format!("/burn?ms={ms}"),
        }
    }

    /// goose's request name and loadgen's endpoint key.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Root => "GET /",
            Kind::Slow(_) => "GET /slow",
            Kind::Error => "GET /error",
            Kind::Burn(_) => "GET /burn",
        }
    }
}

/// A phase's choice of endpoint: the bursts' shares first, the calm mix for the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chooser {
    pub error_share: f64,
    pub burst_slow_share: f64,
    pub burst_slow_ms: Option<u64>,
    pub mix: Mix,
    pub slow_ms: Option<u64>,
}

impl Chooser {
    pub fn for_phase(p: &crate::scenario::Phase) -> Self {
        Self {
            error_share: p.error_burst.map_or(0.0, |b| b.share.0),
            burst_slow_share: p.latency_burst.map_or(0.0, |b| b.share.0),
            burst_slow_ms: p.latency_burst.and_then(|b| b.ms.map(|m| m.0)),
            mix: p.traffic.mix,
            slow_ms: p.traffic.slow_ms,
        }
    }

    /// A draw for this request; no random number when only one endpoint can come out.
    pub fn pick_now(&self) -> Kind {
        if self.error_share == 0.0 && self.burst_slow_share == 0.0 {
            match (self.mix.root, self.mix.slow, self.mix.error) {
                (_, 0, 0) => return Kind::Root,
                (0, _, 0) => return Kind::Slow(self.slow_ms),
                (0, 0, _) => return Kind::Error,
                _ => {}
            }
        }
        self.pick(rand::rng().random::<f64>())
    }

    /// `r` uniform in [0, 1).
    pub fn pick(&self, r: f64) -> Kind {
        if r < self.error_share {
            return Kind::Error;
        }
        if r < self.error_share + self.burst_slow_share {
            return Kind::Slow(self.burst_slow_ms.or(self.slow_ms));
        }
        let rest = 1.0 - self.error_share - self.burst_slow_share;
        let x = if rest > 0.0 {
            (r - self.error_share - self.burst_slow_share) / rest
        } else {
            0.0
        };
        let total = f64::from(self.mix.total().max(1));
        let root = f64::from(self.mix.root) / total;
        let slow = f64::from(self.mix.slow) / total;
        if x < root {
            Kind::Root
        } else if x < root + slow {
            Kind::Slow(self.slow_ms)
        } else {
            Kind::Error
        }
    }
}

/// One request to send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Job {
    pub phase: usize,
    pub kind: Kind,
    /// When it is due, in seconds from the start (open model); None: now (closed model).
    pub due: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    Send(Job),
    Idle(Duration),
}

/// Where the schedule stands in the current phase.
#[derive(Debug, Default)]
struct Cursor {
    phase: usize,
    traffic: u64,
    burns: u64,
}

pub struct Engine {
    pub plan: Plan,
    choosers: Vec<Chooser>,
    /// Each phase's URLs, parsed once: goose's `get_request_builder` joins and parses the
    /// URL on every request, a cost that shows at tens of thousands a second.
    urls: Vec<Vec<(Kind, reqwest::Url)>>,
    pub stats: Stats,
    clock: OnceLock<Instant>,
    cursor: Mutex<Cursor>,
    client: reqwest::Client,
    trace_headers: bool,
    stopping: AtomicBool,
    finished: AtomicBool,
}

impl Engine {
    pub fn new(s: &Scenario, plan: Plan, target: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_idle_timeout(Duration::from_secs(2))
            .timeout(s.timeout)
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .user_agent(concat!(
                "loadgen/",
                env!("CARGO_PKG_VERSION"),
                " (goose 0.19)"
            ))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
        let choosers: Vec<Chooser> = s.phases.iter().map(Chooser::for_phase).collect();
        let urls = choosers
            .iter()
            .zip(&plan.phases)
            .map(|(c, p)| {
                let mut kinds = vec![
                    Kind::Root,
                    Kind::Error,
                    Kind::Slow(c.slow_ms),
                    Kind::Slow(c.burst_slow_ms.or(c.slow_ms)),
                ];
                if p.burn.is_some() {
                    kinds.push(Kind::Burn(p.burn_ms));
                }
                kinds
                    .into_iter()
                    .filter_map(|k| {
                        Some((
                            k,
                            reqwest::Url::parse(&format!("{target}{}", k.path())).ok()?,
                        ))
                    })
                    .collect()
            })
            .collect();
        Ok(Self {
            choosers,
            urls,
            stats: Stats::new(s.phases.len()),
            plan,
            clock: OnceLock::new(),
            cursor: Mutex::new(Cursor::default()),
            client,
            trace_headers: s.trace_headers,
            stopping: AtomicBool::new(false),
            finished: AtomicBool::new(false),
        })
    }

    /// The run's start: when goose has set up and is about to launch the users.
    pub fn start_clock(&self) -> Instant {
        *self.clock.get_or_init(Instant::now)
    }

    pub fn started_at(&self) -> Option<Instant> {
        self.clock.get().copied()
    }

    /// Seconds since the start.
    pub fn elapsed(&self) -> Option<f64> {
        self.clock.get().map(|t| t.elapsed().as_secs_f64())
    }

    /// Users stop taking requests (goose is being stopped).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// The next request for user `user` at `now` seconds from the start.
    pub fn next(&self, user: usize, now: f64) -> Next {
        if self.stopping.load(Ordering::Relaxed) {
            return Next::Idle(IDLE_MAX);
        }
        let Some(phase) = self.plan.phase_at(now) else {
            return Next::Idle(IDLE_MAX);
        };
        let p = &self.plan.phases[phase];
        // A closed-model phase without burns needs no schedule: no lock on the hot path.
        if let (None, None, Some(n)) = (p.burn, p.traffic, p.users) {
            if user < n {
                return Next::Send(Job {
                    phase,
                    kind: self.choosers[phase].pick_now(),
                    due: None,
                });
            }
            let wait = (p.end - now).clamp(0.001, IDLE_MAX.as_secs_f64());
            return Next::Idle(Duration::from_secs_f64(wait));
        }
        let mut c = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        if c.phase != phase {
            if phase > c.phase {
                self.count_unsent(&c, now);
            }
            *c = Cursor {
                phase,
                traffic: 0,
                burns: 0,
            };
        }
        let in_phase = now - p.start;
        let mut wait = f64::INFINITY;
        if let Some(b) = p.burn {
            let due = b.due(c.burns);
            if due < b.end {
                if due <= in_phase + HORIZON {
                    c.burns += 1;
                    return Next::Send(Job {
                        phase,
                        kind: Kind::Burn(p.burn_ms),
                        due: Some(p.start + due),
                    });
                }
                wait = wait.min(due - in_phase - HORIZON);
            }
        }
        let chooser = &self.choosers[phase];
        if let Some(t) = p.traffic {
            let due = t.due(c.traffic);
            if due < t.end {
                if due <= in_phase + HORIZON {
                    c.traffic += 1;
                    drop(c);
                    return Next::Send(Job {
                        phase,
                        kind: chooser.pick_now(),
                        due: Some(p.start + due),
                    });
                }
                wait = wait.min(due - in_phase - HORIZON);
            }
        }
        drop(c);
        if let Some(n) = p.users {
            if user < n {
                return Next::Send(Job {
                    phase,
                    kind: chooser.pick_now(),
                    due: None,
                });
            }
        }
        wait = wait.min(p.end - now);
        let wait = Duration::from_secs_f64(wait.clamp(0.001, IDLE_MAX.as_secs_f64()));
        Next::Idle(wait)
    }

    /// Requests of the cursor's phase due before `now` (seconds from the start; the phase's
    /// end at most) but never sent.
    fn count_unsent(&self, c: &Cursor, now: f64) {
        let Some(p) = self.plan.phases.get(c.phase) else {
            return;
        };
        let len = p.end.min(now) - p.start;
        if !len.is_finite() || len <= 0.0 {
            return;
        }
        let due =
            p.traffic.map_or(0, |t| t.due_before(len)) + p.burn.map_or(0, |b| b.due_before(len));
        let sent = c.traffic + c.burns;
        if due > sent {
            self.stats.add_unsent(c.phase, due - sent);
        }
    }

    /// Stops the users and counts the last phase's unsent requests (once).
    pub fn finish(&self) {
        self.stop();
        if self.finished.swap(true, Ordering::SeqCst) {
            return;
        }
        let now = self.elapsed().unwrap_or(0.0);
        let c = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        self.count_unsent(&c, now);
    }

    /// goose's transaction: one request, or a short wait.
    async fn tick(&self, user: &mut GooseUser) -> TransactionResult {
        let Some(t0) = self.started_at() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            return Ok(());
        };
        // Several requests a transaction while they keep coming (up to BATCH): goose's loop
        // between two transactions costs more than a request at full speed.
        let began = Instant::now();
        loop {
            let now = t0.elapsed().as_secs_f64();
            match self.next(user.weighted_users_index, now) {
                Next::Idle(d) => {
                    tokio::time::sleep(d).await;
                    return Ok(());
                }
                Next::Send(job) => self.send(user, t0, job).await?,
            }
            if began.elapsed() >= BATCH {
                return Ok(());
            }
        }
    }

    async fn send(&self, user: &mut GooseUser, t0: Instant, job: Job) -> TransactionResult {
        let start = match job.due {
            Some(due) => {
                let at = t0 + Duration::from_secs_f64(due);
                tokio::time::sleep_until(at.into()).await;
                at
            }
            None => Instant::now(),
        };
        let known = self
            .urls
            .get(job.phase)
            .and_then(|u| u.iter().find(|(k, _)| *k == job.kind))
            .map(|(_, url)| url.clone());
        let mut builder = match known {
            Some(url) => user.client.get(url),
            None => user.get_request_builder(&GooseMethod::Get, &job.kind.path())?,
        };
        if self.trace_headers {
            // The request starts its trace here, as an instrumented client would; sampling
            // priority 1 (auto keep), so the service keeps it.
            let mut rng = rand::rng();
            builder = builder
                .header(
                    "x-datadog-trace-id",
                    (rng.random::<u64>() >> 1).max(1).to_string(),
                )
                .header(
                    "x-datadog-parent-id",
                    (rng.random::<u64>() >> 1).max(1).to_string(),
                )
                .header("x-datadog-sampling-priority", "1");
        }
        let request = GooseRequest::builder()
            .name(job.kind.name())
            .set_request_builder(builder)
            .build();
        let outcome = match user.request(request).await?.response {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read the body: the latency is the whole answer's, and the connection goes
                // back to the pool only once its body is read.
                match response.bytes().await {
                    Ok(_) => Outcome::Status(status),
                    Err(_) => Outcome::Transport,
                }
            }
            Err(_) => Outcome::Transport,
        };
        let end = Instant::now();
        self.stats.record(
            job.phase,
            job.kind.name(),
            matches!(job.kind, Kind::Burn(_)),
            end.duration_since(t0),
            end.duration_since(start),
            outcome,
        );
        Ok(())
    }
}

/// goose's configuration, built here rather than from the command line: goose must not
/// read loadgen's arguments. Its telnet and WebSocket controllers are off (nobody steers a
/// scenario from outside, and their ports would clash between runs), and so are its
/// coordinated-omission backfill (loadgen measures from due times itself) and its console
/// tables (loadgen prints its own).
pub fn goose_config(
    target: &str,
    plan: &Plan,
    timeout: Duration,
    html_report: Option<&std::path::Path>,
) -> GooseConfiguration {
    let mut c = GooseConfiguration::default();
    c.host = Some(target.to_owned());
    c.users = Some(plan.pool);
    c.increase_rate = Some(format!("{:.3}", plan.hatch_rate));
    c.no_telnet = true;
    c.websocket = false;
    c.no_print_metrics = true;
    c.no_error_summary = false;
    c.no_transaction_metrics = true;
    c.no_scenario_metrics = true;
    c.co_mitigation = Some(GooseCoordinatedOmissionMitigation::Disabled);
    c.timeout = Some(format!("{}", timeout.as_secs().max(1)));
    c.quiet = 1;
    if let Some(p) = html_report {
        c.report_file = vec![p.display().to_string()];
    }
    c
}

/// Runs goose until the run's end (the driver triggers goose's killswitch) or Ctrl-C.
pub async fn run_goose(
    engine: Arc<Engine>,
    config: GooseConfiguration,
    timeout: Duration,
) -> anyhow::Result<goose::metrics::GooseMetrics> {
    let e = Arc::clone(&engine);
    let test_start: TransactionFunction = Arc::new(move |_user| {
        let e = Arc::clone(&e);
        Box::pin(async move {
            e.start_clock();
            Ok(())
        })
    });
    let e = Arc::clone(&engine);
    let share_client: TransactionFunction = Arc::new(move |user| {
        let e = Arc::clone(&e);
        Box::pin(async move {
            user.client = e.client.clone();
            Ok(())
        })
    });
    let e = Arc::clone(&engine);
    let tick: TransactionFunction = Arc::new(move |user| {
        let e = Arc::clone(&e);
        Box::pin(async move { e.tick(user).await })
    });
    let scenario = goose::goose::Scenario::new("lab")
        .register_transaction(
            Transaction::new(share_client)
                .set_name("shared client")
                .set_on_start(),
        )
        .register_transaction(Transaction::new(tick).set_name("traffic"));
    let metrics = GooseAttack::initialize_with_config(config)?
        // One client built by goose for all users (not one each), replaced at once by
        // loadgen's own, which has the pool settings goose's builder does not expose.
        .set_client_builder_without_cookies(
            GooseClientBuilder::new().without_cookies().timeout(timeout),
        )?
        .test_start(Transaction::new(test_start).set_name("start the clock"))
        .register_scenario(scenario)
        .execute()
        .await?;
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse::parse;

    fn engine(toml: &str) -> Engine {
        let s = parse("t.toml", toml).unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::new(&s, None);
        Engine::new(&s, plan, "http://127.0.0.1:9").unwrap()
    }

    #[test]
    fn the_chooser_gives_bursts_their_share() {
        let c = Chooser {
            error_share: 0.3,
            burst_slow_share: 0.2,
            burst_slow_ms: Some(1500),
            mix: Mix {
                root: 1,
                slow: 0,
                error: 0,
            },
            slow_ms: None,
        };
        assert_eq!(c.pick(0.1), Kind::Error);
        assert_eq!(c.pick(0.4), Kind::Slow(Some(1500)));
        assert_eq!(c.pick(0.9), Kind::Root);
        let calm = Chooser {
            error_share: 0.0,
            burst_slow_share: 0.0,
            burst_slow_ms: None,
            mix: Mix {
                root: 90,
                slow: 5,
                error: 5,
            },
            slow_ms: Some(700),
        };
        assert_eq!(calm.pick(0.5), Kind::Root);
        assert_eq!(calm.pick(0.92), Kind::Slow(Some(700)));
        assert_eq!(calm.pick(0.99), Kind::Error);
    }

    #[test]
    fn the_open_model_hands_out_requests_on_schedule() {
        let e = engine(
            "name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"10s\"\ntraffic = { rate = 10 }\n",
        );
        // At 0.25 s, the requests due at 0, 0.1 and 0.2 s go out, each with its due time.
        let mut dues = Vec::new();
        while let Next::Send(j) = e.next(0, 0.25) {
            dues.push(j.due.unwrap());
        }
        assert_eq!(dues.len(), 3, "{dues:?}");
        assert!((dues[2] - 0.2).abs() < 1e-9);
        // Then nothing until 0.3 s (less the horizon).
        match e.next(0, 0.25) {
            Next::Idle(d) => assert!(d <= Duration::from_millis(50), "{d:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn late_requests_keep_their_due_time_and_unsent_ones_are_counted() {
        let e = engine(
            "name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"1s\"\ntraffic = { rate = 10 }\n[[phase]]\nname = \"b\"\nduration = \"1s\"\ntraffic = { rate = 10 }\n",
        );
        // The users were all busy until 0.55 s: the request due at 0 is late, and keeps 0.
        match e.next(0, 0.55) {
            Next::Send(j) => assert_eq!(j.due, Some(0.0)),
            other => panic!("{other:?}"),
        }
        // Phase b starts: the 9 requests of phase a never sent are counted.
        assert!(matches!(e.next(0, 1.0), Next::Send(Job { phase: 1, .. })));
        assert_eq!(e.stats.phases()[0].unsent, 9);
    }

    #[test]
    fn the_closed_model_sends_with_the_first_users_only() {
        let e = engine(
            "name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"10s\"\ntraffic = { users = 2 }\n",
        );
        assert!(matches!(e.next(1, 0.5), Next::Send(Job { due: None, .. })));
        assert!(matches!(e.next(2, 0.5), Next::Idle(_)));
    }

    #[test]
    fn a_cpu_spike_adds_burns_at_their_rate() {
        let e = engine(
            "name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"10s\"\ntraffic = { rate = 1 }\ncpu_spike = { percent = 50, cores = 2, burn_ms = 100 }\n",
        );
        // 50% of 2 cores, 100 ms burns: 10 a second.
        let mut burns = 0;
        while let Next::Send(j) = e.next(3, 1.0) {
            if matches!(j.kind, Kind::Burn(100)) {
                burns += 1;
            }
        }
        assert_eq!(burns, 11, "burns due at 0.0, 0.1, ..., 1.0 s");
    }
}
