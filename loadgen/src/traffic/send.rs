//! Sending: each goose user takes its next request from the schedule, waits for its due
//! time, sends it with the one shared client and records its latency from that due time.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use goose::goose::{GooseMethod, GooseRequest, GooseUser};
use goose::prelude::TransactionResult;
use rand::Rng;

use super::mix::{Chooser, Kind};
use super::schedule::{Job, Next, Schedule};
use crate::plan::Plan;
use crate::scenario::Scenario;
use crate::stats::{Outcome, Stats};

/// Longest a transaction keeps sending before it hands back to goose's loop (which checks
/// for the end of the run between transactions).
const BATCH: Duration = Duration::from_millis(50);

pub struct Engine {
    schedule: Schedule,
    /// Each phase's URLs, parsed once: goose's `get_request_builder` joins and parses the
    /// URL on every request, a cost that shows at tens of thousands a second.
    urls: Vec<Vec<(Kind, reqwest::Url)>>,
    stats: Stats,
    clock: OnceLock<Instant>,
    pub(super) client: reqwest::Client,
    trace_headers: bool,
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
                c.kinds(p.burn.map(|_| p.burn_ms))
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
            urls,
            stats: Stats::new(s.phases.len()),
            schedule: Schedule::new(plan, choosers),
            clock: OnceLock::new(),
            client,
            trace_headers: s.trace_headers,
        })
    }

    pub fn plan(&self) -> &Plan {
        &self.schedule.plan
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
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
        self.schedule.stop();
    }

    /// Stops the users and counts the last phase's unsent requests (once).
    pub fn finish(&self) {
        self.schedule
            .finish(self.elapsed().unwrap_or(0.0), &self.stats);
    }

    /// goose's transaction: one request, or a short wait.
    pub(super) async fn tick(&self, user: &mut GooseUser) -> TransactionResult {
        let Some(t0) = self.started_at() else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            return Ok(());
        };
        // Several requests a transaction while they keep coming (up to BATCH): goose's loop
        // between two transactions costs more than a request at full speed.
        let began = Instant::now();
        loop {
            let now = t0.elapsed().as_secs_f64();
            match self
                .schedule
                .next(user.weighted_users_index, now, &self.stats)
            {
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
