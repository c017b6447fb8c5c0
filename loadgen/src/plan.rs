//! The scenario turned into what the traffic loop needs, with the arithmetic done once: the
//! phases' times, the CPU spike as a rate of `/burn` calls, the size of the pool of users.

use std::time::Duration;

use crate::scenario::{Load, Phase, Scenario};

/// CPU from `/burn`: to hold `percent` of `cores` busy, each burn keeping one worker busy for
/// `burn_ms`, the service must be burning `percent/100 * cores` calls at any moment, i.e.
/// start `percent/100 * cores * 1000 / burn_ms` calls a second (Little's law). On this
/// 2-core machine, 90% with 200 ms burns is 9 calls a second, 1.8 in flight.
pub fn burn_rate(percent: f64, cores: f64, burn_ms: u64) -> f64 {
    percent / 100.0 * cores * 1000.0 / burn_ms.max(1) as f64
}

/// The host's cores, the default of a CPU spike.
pub fn host_cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

/// Requests of an open-model stream at a rate that climbs linearly over `ramp`, then holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stream {
    /// Requests a second once ramped up.
    pub rate: f64,
    /// Seconds from the phase's start.
    pub start: f64,
    /// Seconds from the phase's start; infinite for a phase that runs until stopped.
    pub end: f64,
    pub ramp: f64,
}

impl Stream {
    /// When the `k`-th request (from 0) is due, in seconds from the phase's start: the time
    /// at which the integral of the rate reaches `k`.
    pub fn due(&self, k: u64) -> f64 {
        let k = k as f64;
        let ramp_count = self.rate * self.ramp / 2.0;
        let offset = if self.ramp > 0.0 && k < ramp_count {
            (2.0 * k * self.ramp / self.rate).sqrt()
        } else {
            self.ramp + (k - ramp_count) / self.rate
        };
        self.start + offset
    }

    /// Requests due before `t` (seconds from the phase's start).
    pub fn due_before(&self, t: f64) -> u64 {
        let t = t.min(self.end) - self.start;
        if t <= 0.0 {
            return 0;
        }
        let n = if self.ramp > 0.0 && t < self.ramp {
            self.rate * t * t / (2.0 * self.ramp)
        } else {
            self.rate * self.ramp / 2.0 + self.rate * (t - self.ramp)
        };
        n.ceil().max(0.0) as u64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PhasePlan {
    /// Seconds from the run's start.
    pub start: f64,
    /// Seconds from the run's start; infinite when it runs until stopped.
    pub end: f64,
    pub traffic: Option<Stream>,
    pub users: Option<usize>,
    pub burn: Option<Stream>,
    pub burn_ms: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub phases: Vec<PhasePlan>,
    /// Seconds; infinite when the run lasts until stopped.
    pub end: f64,
    pub pool: usize,
    pub hatch_rate: f64,
}

impl Plan {
    /// `cap`: `--duration`, ending the run early.
    pub fn new(s: &Scenario, cap: Option<Duration>) -> Self {
        let cap = cap.map_or(f64::INFINITY, |c| c.as_secs_f64());
        let mut start = 0.0;
        let mut phases = Vec::new();
        for p in &s.phases {
            let len = p.duration.map_or(f64::INFINITY, |d| d.as_secs_f64());
            let end = (start + len).min(cap);
            phases.push(phase_plan(p, start, end));
            start += len;
        }
        let end = phases.last().map_or(0.0, |p| p.end);
        let pool = s
            .users
            .unwrap_or_else(|| s.phases.iter().map(pool_for).max().unwrap_or(1));
        let hatch_rate = s.hatch_rate.unwrap_or(pool as f64).max(1.0);
        Self {
            phases,
            end,
            pool,
            hatch_rate,
        }
    }

    /// The phase at `t` seconds from the start, None once the run is over.
    pub fn phase_at(&self, t: f64) -> Option<usize> {
        if t >= self.end {
            return None;
        }
        self.phases
            .iter()
            .position(|p| t >= p.start && t < p.end)
            .or_else(|| (t < 0.0).then_some(0))
    }
}

fn phase_plan(p: &Phase, start: f64, end: f64) -> PhasePlan {
    let len = end - start;
    let (traffic, users) = match p.traffic.load {
        Load::Rate(rate) => (
            Some(Stream {
                rate,
                start: 0.0,
                end: len,
                ramp: 0.0,
            }),
            None,
        ),
        Load::Users(n) => (None, Some(n)),
    };
    let burn = p.cpu_spike.map(|c| {
        let cores = c.cores.map_or_else(host_cores, |c| c.0);
        let at = c.at.secs_f64();
        Stream {
            rate: burn_rate(c.percent.0, cores, c.burn_ms.0),
            start: at,
            end: c.duration.map_or(len, |d| (at + d.secs_f64()).min(len)),
            ramp: c.ramp.secs_f64(),
        }
    });
    PhasePlan {
        start,
        end,
        traffic,
        users,
        burn,
        burn_ms: p.cpu_spike.map_or(0, |c| c.burn_ms.0),
    }
}

/// The most users a computed pool holds. Past a few thousand requests in flight the service
/// is down in all but name, and more users only add cost: at 24,000 req/s the formula below
/// asked for 48,000, whose launch and connections took the CPU the service needed, and the
/// latency collapsed into timeouts. Requests the pool cannot send are counted as unsent; a
/// scenario's own `users` may go higher.
const COMPUTED_POOL_MAX: usize = 2_000;

/// Users a phase needs: in the open model, enough to keep the rate while answers are slow
/// (Little's law with room for a saturated service: latency counted at least 0.5 s, four
/// times over), at most [`COMPUTED_POOL_MAX`]; in the closed model, its users; plus the burns
/// in flight, three times over.
fn pool_for(p: &Phase) -> usize {
    let base = match p.traffic.load {
        Load::Users(n) => n,
        Load::Rate(rate) => {
            let mix = p.traffic.mix;
            let total = f64::from(mix.total().max(1));
            let slow_s = p.traffic.slow_ms.map_or(1.0, |ms| ms as f64 / 1000.0);
            let burst_share = p.error_burst.map_or(0.0, |b| b.share.0)
                + p.latency_burst.map_or(0.0, |b| b.share.0);
            let burst_slow_s = p.latency_burst.map_or(0.0, |b| {
                b.share.0 * b.ms.map_or(1.0, |m| m.0 as f64 / 1000.0)
            });
            let mean_s =
                (1.0 - burst_share) * (f64::from(mix.slow) / total * slow_s + 0.005) + burst_slow_s;
            ((rate * mean_s.max(0.5) * 4.0).ceil() as usize + 10).min(COMPUTED_POOL_MAX)
        }
    };
    let burns = p.cpu_spike.map_or(0, |c| {
        let cores = c.cores.map_or_else(host_cores, |c| c.0);
        let in_flight = c.percent.0 / 100.0 * cores;
        (in_flight * 3.0).ceil() as usize + 2
    });
    (base + burns).clamp(1, 100_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_rate_reaches_the_target_on_two_cores() {
        // 90% of 2 cores with 200 ms burns: 1.8 burns in flight, 9 a second.
        assert!((burn_rate(90.0, 2.0, 200) - 9.0).abs() < 1e-9);
        assert!((burn_rate(50.0, 1.0, 250) - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_steady_stream_is_evenly_spaced() {
        let s = Stream {
            rate: 20.0,
            start: 1.0,
            end: 10.0,
            ramp: 0.0,
        };
        assert!((s.due(0) - 1.0).abs() < 1e-9);
        assert!((s.due(20) - 2.0).abs() < 1e-9);
        assert_eq!(s.due_before(2.0), 20);
        assert_eq!(s.due_before(100.0), 180);
    }

    #[test]
    fn a_ramped_stream_climbs_then_holds() {
        let s = Stream {
            rate: 10.0,
            start: 0.0,
            end: 100.0,
            ramp: 10.0,
        };
        // 50 requests during the 10 s ramp, then 10 a second.
        assert!((s.due(50) - 10.0).abs() < 1e-9);
        assert!((s.due(60) - 11.0).abs() < 1e-9);
        assert!(s.due(1) > 1.0, "slow at first");
        for k in [1, 7, 49, 50, 51, 300] {
            let t = s.due(k);
            assert_eq!(s.due_before(t + 1e-9), k + 1, "k={k}");
        }
    }

    #[test]
    fn the_plan_places_phases_and_caps_the_run() {
        let s = crate::scenario::builtin::find("quick")
            .unwrap()
            .parse()
            .unwrap();
        let p = Plan::new(&s, None);
        assert_eq!(p.phases.len(), s.phases.len());
        // quick: calm 20 s, database slowdown 40 s, then the CPU spike's burns.
        assert!((p.phases[1].start - 20.0).abs() < 1e-9);
        assert!((p.phases[2].start - 60.0).abs() < 1e-9);
        assert!(p.phases[1].burn.is_none() && p.phases[2].burn.is_some());
        assert!(p.pool >= 20);
        assert_eq!(p.phase_at(21.0), Some(1));
        assert_eq!(p.phase_at(p.end + 1.0), None);
        let capped = Plan::new(&s, Some(Duration::from_secs(25)));
        assert!((capped.end - 25.0).abs() < 1e-9);
        assert_eq!(capped.phase_at(26.0), None);
        let b = crate::scenario::builtin::find("baseline")
            .unwrap()
            .parse()
            .unwrap();
        assert!(Plan::new(&b, None).end.is_infinite());
    }

    #[test]
    fn the_computed_pool_grows_with_the_rate_up_to_its_bound() {
        let at = |rate: u32| {
            let toml = format!(
                "name = \"r\"\n[traffic]\nrate = {rate}\n[[phase]]\nname = \"p\"\nduration = \"10s\"\n"
            );
            let s = crate::scenario::parse::parse("test.toml", &toml).unwrap();
            Plan::new(&s, None).pool
        };
        // A lab's rates: 0.5 s of requests, four times over.
        assert_eq!(at(20), 50);
        assert_eq!(at(200), 410);
        // A benchmark's: bounded, where 48,010 users once starved the service.
        assert_eq!(at(24_000), COMPUTED_POOL_MAX);
    }
}
