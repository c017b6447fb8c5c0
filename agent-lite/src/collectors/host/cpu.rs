//! `system.cpu.*` and `system.load.*` as the Agent's cpu and load checks compute them: CPU
//! time shares of the whole host between two readings of /proc/stat, in percent; nice time
//! counts as user, irq and softirq as system.

use std::path::Path;

use procfs_core::{CpuTime, LoadAverage};

use crate::collectors::batch::Batch;

/// The aggregate `cpu` line of /proc/stat, in ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuSample {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
    pub guest: u64,
}

impl From<&CpuTime> for CpuSample {
    fn from(t: &CpuTime) -> Self {
        Self {
            user: t.user,
            nice: t.nice,
            system: t.system,
            idle: t.idle,
            iowait: t.iowait.unwrap_or(0),
            irq: t.irq.unwrap_or(0),
            softirq: t.softirq.unwrap_or(0),
            steal: t.steal.unwrap_or(0),
            guest: t.guest.unwrap_or(0),
        }
    }
}

impl CpuSample {
    /// Guest time is already inside user time in /proc/stat, so it is not added again.
    fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuPercent {
    pub user: f64,
    pub system: f64,
    pub iowait: f64,
    pub idle: f64,
    pub stolen: f64,
    pub guest: f64,
    pub interrupt: f64,
}

/// Shares of the time between two samples; None when no tick passed.
pub fn percentages(prev: &CpuSample, cur: &CpuSample) -> Option<CpuPercent> {
    let total = cur.total().checked_sub(prev.total())?;
    if total == 0 {
        return None;
    }
    // iowait may go backwards (see proc(5)): a counter that shrank counts as zero.
    let pct = |c: u64, p: u64| c.saturating_sub(p) as f64 * 100.0 / total as f64;
    Some(CpuPercent {
        user: pct(cur.user + cur.nice, prev.user + prev.nice),
        system: pct(
            cur.system + cur.irq + cur.softirq,
            prev.system + prev.irq + prev.softirq,
        ),
        iowait: pct(cur.iowait, prev.iowait),
        idle: pct(cur.idle, prev.idle),
        stolen: pct(cur.steal, prev.steal),
        guest: pct(cur.guest, prev.guest),
        interrupt: pct(cur.irq + cur.softirq, prev.irq + prev.softirq),
    })
}

impl CpuPercent {
    pub fn write(&self, batch: &mut Batch) {
        batch.gauge("system.cpu.user", &[], self.user);
        batch.gauge("system.cpu.system", &[], self.system);
        batch.gauge("system.cpu.iowait", &[], self.iowait);
        batch.gauge("system.cpu.idle", &[], self.idle);
        batch.gauge("system.cpu.stolen", &[], self.stolen);
        batch.gauge("system.cpu.guest", &[], self.guest);
        batch.gauge("system.cpu.interrupt", &[], self.interrupt);
    }
}

/// Load averages, and divided by the number of CPUs (`system.load.norm.*`).
pub fn write_load(batch: &mut Batch, load: &LoadAverage, ncpus: Option<usize>) {
    for (suffix, v) in [("1", load.one), ("5", load.five), ("15", load.fifteen)] {
        let v = f64::from(v);
        batch.gauge(&format!("system.load.{suffix}"), &[], v);
        if let Some(n) = ncpus.filter(|n| *n > 0) {
            batch.gauge(&format!("system.load.norm.{suffix}"), &[], v / n as f64);
        }
    }
}

/// Online CPUs from `<sys>/devices/system/cpu/online` (`0-3,6`); None when unreadable.
pub fn online_cpus(sys_root: &Path) -> Option<usize> {
    let text = std::fs::read_to_string(sys_root.join("devices/system/cpu/online")).ok()?;
    count_cpu_list(&text)
}

/// Counts a kernel CPU list such as `0-3,6,8-9`.
pub fn count_cpu_list(text: &str) -> Option<usize> {
    let mut n = 0usize;
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        n += match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().ok()?, b.parse().ok()?);
                b.checked_sub(a)? + 1
            }
            None => {
                part.parse::<usize>().ok()?;
                1
            }
        };
    }
    (n > 0).then_some(n)
}
