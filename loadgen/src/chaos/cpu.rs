//! The local half of a CPU spike: burner threads in the load generator's own process, held
//! at the target by measuring the whole host's CPU in /proc/stat (what agent-lite's
//! `system.cpu.user` reads too). The `/burn` calls are open-loop (a rate computed from the
//! target, see `plan::burn_rate`); this closes the loop when the host has other work going
//! on, or when the service's workers cannot reach the target alone.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Burner threads work and rest in periods this long.
const PERIOD: Duration = Duration::from_millis(20);
/// The controller looks at /proc/stat this often.
const CONTROL: Duration = Duration::from_millis(500);

/// Busy and total jiffies of all CPUs together.
fn read_proc_stat() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_cpu_line(text.lines().next()?)
}

/// `cpu  user nice system idle iowait irq softirq steal ...` into (busy, total).
pub fn parse_cpu_line(line: &str) -> Option<(u64, u64)> {
    let mut fields = line.split_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = fields.take(8).filter_map(|f| f.parse().ok()).collect();
    if v.len() < 5 {
        return None;
    }
    let total: u64 = v.iter().sum();
    let idle = v[3] + v[4];
    Some((total - idle, total))
}

pub struct LocalBurner {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl LocalBurner {
    /// Holds the host at `percent` of `cores` (of `host_cores`), climbing over `ramp`, until
    /// stopped.
    pub fn start(percent: f64, cores: f64, host_cores: f64, ramp: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let duty = Arc::new(AtomicU64::new(0f64.to_bits()));
        let n = host_cores.ceil().max(1.0) as usize;
        let mut threads = Vec::with_capacity(n + 1);
        for i in 0..n {
            let (stop, duty) = (Arc::clone(&stop), Arc::clone(&duty));
            let spawned = std::thread::Builder::new()
                .name(format!("cpu-burner-{i}"))
                .spawn(move || burn(&stop, &duty));
            if let Ok(h) = spawned {
                threads.push(h);
            }
        }
        let target = (percent / 100.0 * cores / host_cores).clamp(0.0, 1.0);
        let (stop2, duty2) = (Arc::clone(&stop), Arc::clone(&duty));
        let spawned = std::thread::Builder::new()
            .name("cpu-burner-control".into())
            .spawn(move || control(&stop2, &duty2, target, ramp, n as f64 / host_cores));
        if let Ok(h) = spawned {
            threads.push(h);
        }
        Self { stop, threads }
    }

    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

fn burn(stop: &AtomicBool, duty: &AtomicU64) {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while !stop.load(Ordering::Relaxed) {
        let d = f64::from_bits(duty.load(Ordering::Relaxed)).clamp(0.0, 1.0);
        let busy = PERIOD.mul_f64(d);
        let start = Instant::now();
        while start.elapsed() < busy {
            for _ in 0..1000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
        }
        std::hint::black_box(x);
        std::thread::sleep(PERIOD.saturating_sub(start.elapsed()));
    }
}

/// An integrating controller: the burners' duty cycle moves by the gap between the target
/// and the host's measured busy share. Without /proc/stat it holds the duty at the target.
fn control(stop: &AtomicBool, duty: &AtomicU64, target: f64, ramp: Duration, share: f64) {
    let started = Instant::now();
    let mut last = read_proc_stat();
    let mut d = 0.0f64;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(CONTROL);
        let ramped = if ramp.is_zero() {
            target
        } else {
            target * (started.elapsed().as_secs_f64() / ramp.as_secs_f64()).min(1.0)
        };
        let now = read_proc_stat();
        d = match (last, now) {
            (Some((b0, t0)), Some((b1, t1))) if t1 > t0 => {
                let measured = (b1 - b0) as f64 / (t1 - t0) as f64;
                // The burners are `share` of the host's cores: a duty change of x moves the
                // host's busy share by x * share.
                (d + 0.5 * (ramped - measured) / share.max(0.01)).clamp(0.0, 1.0)
            }
            _ => (ramped / share.max(0.01)).clamp(0.0, 1.0),
        };
        last = now;
        duty.store(d.to_bits(), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_aggregate_cpu_line() {
        let (busy, total) = parse_cpu_line("cpu  100 5 50 800 20 1 2 3 0 0").expect("a cpu line");
        assert_eq!(total, 981);
        assert_eq!(busy, 981 - 820);
        assert!(parse_cpu_line("cpu0 1 2 3 4 5").is_none());
    }
}
