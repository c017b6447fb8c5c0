//! What the requests measured, kept by loadgen itself beside goose's metrics: latency from the
//! *intended* send time in the open model (wrk2's way, free of coordinated omission: a stalled
//! server makes the requests scheduled meanwhile late, and their lateness counts), per phase
//! and endpoint in HDR histograms, and per second for the live line and the report's series.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Seconds of traffic the live p95 is computed over.
const LIVE_WINDOW_SECS: u64 = 5;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// No answer: refused, reset, timed out.
    Transport,
}

impl Outcome {
    pub fn is_error(self) -> bool {
        !matches!(self, Outcome::Status(s) if (200..400).contains(&s))
    }
}

#[derive(Debug, Clone)]
pub struct EndpointStats {
    pub count: u64,
    pub errors: u64,
    pub transport_errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    /// Microseconds.
    pub latency: Histogram<u64>,
}

impl EndpointStats {
    fn new() -> Self {
        Self {
            count: 0,
            errors: 0,
            transport_errors: 0,
            statuses: BTreeMap::new(),
            latency: new_histogram(),
        }
    }

    fn record(&mut self, micros: u64, outcome: Outcome) {
        self.count += 1;
        if outcome.is_error() {
            self.errors += 1;
        }
        match outcome {
            Outcome::Status(s) => *self.statuses.entry(s).or_default() += 1,
            Outcome::Transport => self.transport_errors += 1,
        }
        put(&mut self.latency, micros);
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary::of(&self.latency)
    }
}

/// Records `micros`, growing the histogram as needed (`saturating_record` would clamp to
/// the current top instead of growing).
fn put(h: &mut Histogram<u64>, micros: u64) {
    let v = micros.max(1);
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

fn new_histogram() -> Histogram<u64> {
    // 3 significant digits, growing as larger values come (a stalled request can take the
    // whole request timeout).
    Histogram::new(3).unwrap_or_else(|_| unreachable_histogram())
}

/// `Histogram::new(3)` only fails for more than 5 significant digits.
fn unreachable_histogram() -> Histogram<u64> {
    Histogram::new(2).unwrap_or_else(|e| panic!("hdrhistogram refused 2 significant digits: {e}"))
}

/// Milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct LatencySummary {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl LatencySummary {
    pub fn of(h: &Histogram<u64>) -> Self {
        let ms = |v: u64| v as f64 / 1000.0;
        if h.is_empty() {
            return Self {
                p50_ms: 0.0,
                p95_ms: 0.0,
                p99_ms: 0.0,
                max_ms: 0.0,
                mean_ms: 0.0,
            };
        }
        Self {
            p50_ms: ms(h.value_at_quantile(0.50)),
            p95_ms: ms(h.value_at_quantile(0.95)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
            mean_ms: h.mean() / 1000.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PhaseStats {
    pub endpoints: BTreeMap<&'static str, EndpointStats>,
    /// Every request of the traffic (the CPU spike's `/burn` calls apart).
    pub traffic: EndpointStats,
    /// Scheduled requests of the open model that never went out: the pool of users was busy
    /// until the phase ended.
    pub unsent: u64,
}

impl PhaseStats {
    fn new() -> Self {
        Self {
            endpoints: BTreeMap::new(),
            traffic: EndpointStats::new(),
            unsent: 0,
        }
    }
}

/// One second of the run.
#[derive(Debug, Clone, Copy, Serialize, Default, PartialEq)]
pub struct Second {
    pub t: u64,
    pub phase: usize,
    pub requests: u64,
    pub errors: u64,
    pub burns: u64,
    pub p95_ms: f64,
}

struct Inner {
    phases: Vec<PhaseStats>,
    seconds: Vec<Second>,
    /// Traffic latency of the last seconds, one histogram a second.
    window: VecDeque<(u64, Histogram<u64>)>,
}

pub struct Stats {
    inner: Mutex<Inner>,
}

/// The live line's figures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Live {
    pub requests: u64,
    pub errors: u64,
    pub burns: u64,
    pub total_requests: u64,
    pub total_errors: u64,
    pub p95_ms: Option<f64>,
}

impl Stats {
    pub fn new(phases: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                phases: (0..phases).map(|_| PhaseStats::new()).collect(),
                seconds: Vec::new(),
                window: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request that ended at `at` (from the run's start), `latency` after its intended
    /// (open model) or actual (closed model) start.
    pub fn record(
        &self,
        phase: usize,
        endpoint: &'static str,
        is_burn: bool,
        at: Duration,
        latency: Duration,
        outcome: Outcome,
    ) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        let sec = at.as_secs();
        let mut inner = self.lock();
        let Some(p) = inner.phases.get_mut(phase) else {
            return;
        };
        p.endpoints
            .entry(endpoint)
            .or_insert_with(EndpointStats::new)
            .record(micros, outcome);
        if !is_burn {
            p.traffic.record(micros, outcome);
        }
        let idx = sec as usize;
        if inner.seconds.len() <= idx {
            let from = inner.seconds.len() as u64;
            inner.seconds.extend((from..=sec).map(|t| Second {
                t,
                phase,
                ..Second::default()
            }));
        }
        let s = &mut inner.seconds[idx];
        s.phase = phase;
        if is_burn {
            s.burns += 1;
        } else {
            s.requests += 1;
            if outcome.is_error() {
                s.errors += 1;
            }
            match inner.window.iter_mut().find(|(t, _)| *t == sec) {
                Some((_, h)) => put(h, micros),
                None => {
                    let mut h = Histogram::new(2).unwrap_or_else(|_| unreachable_histogram());
                    put(&mut h, micros);
                    inner.window.push_back((sec, h));
                    let keep_from = sec.saturating_sub(LIVE_WINDOW_SECS);
                    inner.window.retain(|(t, _)| *t >= keep_from);
                }
            }
        }
    }

    pub fn add_unsent(&self, phase: usize, n: u64) {
        if let Some(p) = self.lock().phases.get_mut(phase) {
            p.unsent += n;
        }
    }

    /// Figures of second `sec` (the one just finished) and p95 over the seconds before it.
    pub fn live(&self, sec: u64) -> Live {
        let mut inner = self.lock();
        let (requests, errors, burns) = inner
            .seconds
            .get(sec as usize)
            .map_or((0, 0, 0), |s| (s.requests, s.errors, s.burns));
        let (total_requests, total_errors) = inner.phases.iter().fold((0, 0), |(r, e), p| {
            (r + p.traffic.count, e + p.traffic.errors)
        });
        let from = sec.saturating_sub(LIVE_WINDOW_SECS - 1);
        let mut merged: Option<Histogram<u64>> = None;
        for (_, h) in inner
            .window
            .iter()
            .filter(|(t, _)| (from..=sec).contains(t))
        {
            match merged.as_mut() {
                Some(m) => {
                    let _ = m.add(h);
                }
                None => merged = Some(h.clone()),
            }
        }
        let p95_ms = merged
            .filter(|m| !m.is_empty())
            .map(|m| m.value_at_quantile(0.95) as f64 / 1000.0);
        // The second is over: keep its p95 for the report's series.
        if let (Some(s), Some(p)) = (inner.seconds.get_mut(sec as usize), p95_ms) {
            s.p95_ms = p;
        }
        Live {
            requests,
            errors,
            burns,
            total_requests,
            total_errors,
            p95_ms,
        }
    }

    pub fn phases(&self) -> Vec<PhaseStats> {
        self.lock().phases.clone()
    }

    pub fn seconds(&self) -> Vec<Second> {
        self.lock().seconds.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_per_phase_endpoint_and_second() {
        let s = Stats::new(2);
        let ms = Duration::from_millis;
        s.record(0, "GET /", false, ms(100), ms(3), Outcome::Status(200));
        s.record(0, "GET /error", false, ms(200), ms(4), Outcome::Status(500));
        s.record(
            1,
            "GET /burn",
            true,
            ms(1100),
            ms(200),
            Outcome::Status(200),
        );
        s.record(1, "GET /", false, ms(1200), ms(5), Outcome::Transport);
        let phases = s.phases();
        assert_eq!(phases[0].traffic.count, 2);
        assert_eq!(phases[0].traffic.errors, 1);
        assert_eq!(phases[1].traffic.count, 1, "burns are not traffic");
        assert_eq!(phases[1].endpoints["GET /burn"].count, 1);
        assert_eq!(phases[1].traffic.transport_errors, 1);
        let live = s.live(1);
        assert_eq!((live.requests, live.errors, live.burns), (1, 1, 1));
        assert_eq!(live.total_requests, 3);
        assert!(live.p95_ms.is_some_and(|p| p >= 4.0));
        let secs = s.seconds();
        assert_eq!(secs.len(), 2);
        assert_eq!(secs[0].requests, 2);
    }

    #[test]
    fn latency_summary_is_in_milliseconds() {
        let mut h = new_histogram();
        for v in 1..=100u64 {
            h.record(v * 1000).unwrap();
        }
        let s = LatencySummary::of(&h);
        assert!((s.p95_ms - 95.0).abs() < 1.0, "{s:?}");
        assert!((s.max_ms - 100.0).abs() < 0.5, "{s:?}");
    }
}
