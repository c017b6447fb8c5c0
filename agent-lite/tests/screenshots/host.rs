//! The host's CPU as `/proc/stat` counts it (what agent-lite's `system.cpu.*` read): the
//! scenario's CPU spike only stands out on the charts of a host that is quiet around it, and
//! on a shared machine other work (a build) can hold it busy for minutes.

use std::time::{Duration, Instant};

/// Busy and total jiffies of all CPUs since boot (the `cpu` line: idle and iowait are idle).
fn jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// The share of the host's CPU time spent busy over the next `window`, from 0 to 1.
fn busy_share(window: Duration) -> f64 {
    let (busy0, total0) = jiffies();
    std::thread::sleep(window);
    let (busy1, total1) = jiffies();
    let total = total1.saturating_sub(total0);
    if total == 0 {
        return 0.0;
    }
    busy1.saturating_sub(busy0) as f64 / total as f64
}

/// Waits until the host has been under `max` busy for a whole `window`, up to `deadline`;
/// says what it waits for.
pub fn wait_quiet(max: f64, window: Duration, deadline: Duration) {
    let end = Instant::now() + deadline;
    loop {
        let busy = busy_share(window);
        if busy < max {
            return;
        }
        assert!(
            Instant::now() < end,
            "the host stayed busy ({:.0}% over the last {window:?}) for {deadline:?}: the CPU \
             spike would not stand out; run again when the machine is quiet",
            busy * 100.0
        );
        eprintln!(
            "the host is {:.0}% busy: waiting for it to be under {:.0}% (other work would hide the CPU spike)",
            busy * 100.0,
            max * 100.0
        );
    }
}
