//! The open model's schedule: which request is due next, for which user, at a time it is
//! given. Pure: no clock and no I/O of its own (the sender passes the time), so it is tested
//! with made-up times.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use super::mix::{Chooser, Kind};
use crate::plan::Plan;
use crate::stats::Stats;

/// A user claims a request this long before it is due, then sleeps until its time.
const HORIZON: f64 = 0.010;
/// Longest sleep of an idle user, so it sees a new phase and goose's stop quickly.
pub const IDLE_MAX: Duration = Duration::from_millis(200);

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

/// The run's requests as due times, handed out to whichever user asks first. What it could
/// not hand out before a phase ended is counted in `stats` as unsent.
pub struct Schedule {
    pub plan: Plan,
    pub choosers: Vec<Chooser>,
    cursor: Mutex<Cursor>,
    stopping: AtomicBool,
    finished: AtomicBool,
}

impl Schedule {
    pub fn new(plan: Plan, choosers: Vec<Chooser>) -> Self {
        Self {
            plan,
            choosers,
            cursor: Mutex::new(Cursor::default()),
            stopping: AtomicBool::new(false),
            finished: AtomicBool::new(false),
        }
    }

    /// Users stop taking requests (goose is being stopped).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// The next request for user `user` at `now` seconds from the start.
    pub fn next(&self, user: usize, now: f64, stats: &Stats) -> Next {
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
                self.count_unsent(&c, now, stats);
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
    fn count_unsent(&self, c: &Cursor, now: f64, stats: &Stats) {
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
            stats.add_unsent(c.phase, due - sent);
        }
    }

    /// Stops the users and counts the last phase's unsent requests (once).
    pub fn finish(&self, now: f64, stats: &Stats) {
        self.stop();
        if self.finished.swap(true, Ordering::SeqCst) {
            return;
        }
        let c = self.cursor.lock().unwrap_or_else(|e| e.into_inner());
        self.count_unsent(&c, now, stats);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse::parse;

    fn schedule(toml: &str) -> (Schedule, Stats) {
        let s = parse("t.toml", toml).unwrap_or_else(|e| panic!("{e}"));
        let plan = Plan::new(&s, None);
        let choosers = s.phases.iter().map(Chooser::for_phase).collect();
        (Schedule::new(plan, choosers), Stats::new(s.phases.len()))
    }

    #[test]
    fn the_open_model_hands_out_requests_on_schedule() {
        let (s, stats) = schedule(
            "name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"10s\"\ntraffic = { rate = 10 }\n",
        );
        // At 0.25 s, the requests due at 0, 0.1 and 0.2 s go out, each with its due time.
        let mut dues = Vec::new();
        while let Next::Send(j) = s.next(0, 0.25, &stats) {
            dues.push(j.due.unwrap());
        }
        assert_eq!(dues.len(), 3, "{dues:?}");
        assert!((dues[2] - 0.2).abs() < 1e-9);
        // Then nothing until 0.3 s (less the horizon).
        match s.next(0, 0.25, &stats) {
            Next::Idle(d) => assert!(d <= Duration::from_millis(50), "{d:?}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn late_requests_keep_their_due_time_and_unsent_ones_are_counted() {
        let (s, stats) = schedule(
            "name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"1s\"\ntraffic = { rate = 10 }\n[[phase]]\nname = \"b\"\nduration = \"1s\"\ntraffic = { rate = 10 }\n",
        );
        // The users were all busy until 0.55 s: the request due at 0 is late, and keeps 0.
        match s.next(0, 0.55, &stats) {
            Next::Send(j) => assert_eq!(j.due, Some(0.0)),
            other => panic!("{other:?}"),
        }
        // Phase b starts: the 9 requests of phase a never sent are counted.
        assert!(matches!(
            s.next(0, 1.0, &stats),
            Next::Send(Job { phase: 1, .. })
        ));
        assert_eq!(stats.phases()[0].unsent, 9);
    }

    #[test]
    fn the_last_phase_counts_its_unsent_requests_once_at_the_finish() {
        let (s, stats) = schedule(
            "name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"1s\"\ntraffic = { rate = 10 }\n",
        );
        assert!(matches!(s.next(0, 0.0, &stats), Next::Send(_)));
        s.finish(1.0, &stats);
        s.finish(1.0, &stats);
        assert_eq!(stats.phases()[0].unsent, 9);
        assert_eq!(s.next(0, 0.5, &stats), Next::Idle(IDLE_MAX), "stopped");
    }

    #[test]
    fn the_closed_model_sends_with_the_first_users_only() {
        let (s, stats) = schedule(
            "name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"10s\"\ntraffic = { users = 2 }\n",
        );
        assert!(matches!(
            s.next(1, 0.5, &stats),
            Next::Send(Job { due: None, .. })
        ));
        assert!(matches!(s.next(2, 0.5, &stats), Next::Idle(_)));
    }

    #[test]
    fn a_cpu_spike_adds_burns_at_their_rate() {
        let (s, stats) = schedule(
            "name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"10s\"\ntraffic = { rate = 1 }\ncpu_spike = { percent = 50, cores = 2, burn_ms = 100 }\n",
        );
        // 50% of 2 cores, 100 ms burns: 10 a second.
        let mut burns = 0;
        while let Next::Send(j) = s.next(3, 1.0, &stats) {
            if matches!(j.kind, Kind::Burn(100)) {
                burns += 1;
            }
        }
        assert_eq!(burns, 11, "burns due at 0.0, 0.1, ..., 1.0 s");
    }
}
