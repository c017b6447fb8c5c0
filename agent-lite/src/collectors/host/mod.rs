//! The host check: what the Agent's cpu, load, memory, disk and uptime checks report, with
//! their names and units, read from the host's /proc (HOST_PROC) and file systems (HOST_ROOT).

mod cpu;
mod disk;
mod memory;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use procfs_core::{ExplicitSystemInfo, FromRead, FromReadSI, KernelStats, LoadAverage, Meminfo};

use super::batch::Batch;
use super::batch::Points;
use super::health::CollectorsHealth;
use crate::clock::now_secs;
use crate::counters::{Counter, Counters, Family};

#[derive(Debug, Clone)]
pub struct HostPaths {
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
    pub host_root: PathBuf,
}

impl HostPaths {
    fn proc(&self, rel: &str) -> PathBuf {
        self.proc_root.join(rel)
    }
}

/// One host, collected again and again: the CPU figures are rates between two collections.
pub struct HostCollector {
    paths: HostPaths,
    last_cpu: Option<cpu::CpuSample>,
    last_ctxt: Option<u64>,
    /// Parts already reported as failing, so that each is logged once, not every 15 s.
    warned: BTreeSet<&'static str>,
}

/// A part of the check that could not be read, and why.
pub type Failure = (&'static str, anyhow::Error);

impl HostCollector {
    pub fn new(paths: HostPaths) -> Self {
        Self {
            paths,
            last_cpu: None,
            last_ctxt: None,
            warned: BTreeSet::new(),
        }
    }

    /// Reads every part; one that fails leaves the others whole.
    pub fn collect(&mut self) -> (Batch, Vec<Failure>) {
        let mut batch = Batch::default();
        let mut failures = Vec::new();
        let ncpus = match self.cpu(&mut batch) {
            Ok(n) => Some(n),
            Err(e) => {
                failures.push(("cpu", e));
                None
            }
        };
        if let Err(e) = self.load(&mut batch, ncpus) {
            failures.push(("load", e));
        }
        if let Err(e) = self.memory(&mut batch) {
            failures.push(("memory", e));
        }
        if let Err(e) = self.uptime(&mut batch) {
            failures.push(("uptime", e));
        }
        if let Err(e) = disk::collect(&self.paths, &mut batch) {
            failures.push(("disk", e));
        }
        (batch, failures)
    }

    /// CPU percentages since the last collection; returns the number of CPUs.
    fn cpu(&mut self, batch: &mut Batch) -> anyhow::Result<usize> {
        let path = self.paths.proc("stat");
        // Only ratios of ticks are used, so the tick rate does not matter.
        let info = ExplicitSystemInfo {
            boot_time_secs: 0,
            ticks_per_second: 100,
            page_size: 4096,
            is_little_endian: cfg!(target_endian = "little"),
        };
        let stats = KernelStats::from_file(&path, &info)
            .with_context(|| format!("reading {}", path.display()))?;
        let ncpus = cpu::online_cpus(&self.paths.sys_root).unwrap_or(stats.cpu_time.len().max(1));
        let sample = cpu::CpuSample::from(&stats.total);
        if let Some(pct) = self
            .last_cpu
            .and_then(|prev| cpu::percentages(&prev, &sample))
        {
            pct.write(batch);
        }
        self.last_cpu = Some(sample);
        if let Some(prev) = self.last_ctxt {
            if stats.ctxt >= prev {
                batch.count(
                    "system.cpu.context_switches",
                    &[],
                    (stats.ctxt - prev) as f64,
                );
            }
        }
        self.last_ctxt = Some(stats.ctxt);
        batch.gauge("system.cpu.num_cores", &[], ncpus as f64);
        Ok(ncpus)
    }

    fn load(&self, batch: &mut Batch, ncpus: Option<usize>) -> anyhow::Result<()> {
        let path = self.paths.proc("loadavg");
        let load =
            LoadAverage::from_file(&path).with_context(|| format!("reading {}", path.display()))?;
        cpu::write_load(batch, &load, ncpus);
        Ok(())
    }

    fn memory(&self, batch: &mut Batch) -> anyhow::Result<()> {
        let path = self.paths.proc("meminfo");
        let info =
            Meminfo::from_file(&path).with_context(|| format!("reading {}", path.display()))?;
        memory::write(batch, &info);
        Ok(())
    }

    fn uptime(&self, batch: &mut Batch) -> anyhow::Result<()> {
        let path = self.paths.proc("uptime");
        let up = procfs_core::Uptime::from_file(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        batch.gauge("system.uptime", &[], up.uptime);
        Ok(())
    }

    /// Logs each failing part the first time it fails, and once more when it recovers.
    fn report(&mut self, failures: &[Failure], health: &CollectorsHealth, counters: &Counters) {
        let failing: BTreeSet<&'static str> = failures.iter().map(|(part, _)| *part).collect();
        let described: Vec<(&str, String)> = failures
            .iter()
            .map(|(part, e)| (*part, format!("{e:#}")))
            .collect();
        health.host_collected(&described);
        for (part, e) in failures {
            counters.incr_reason(Family::CollectorsHostErrors, part);
            if self.warned.insert(part) {
                tracing::warn!(part, error = %format!("{e:#}"), "host metrics: a part cannot be read; the others go on");
            }
        }
        self.warned.retain(|part| {
            let still = failing.contains(part);
            if !still {
                tracing::info!(part, "host metrics: readable again");
            }
            still
        });
    }
}

pub async fn run(
    paths: HostPaths,
    interval: Duration,
    points: Points,
    counters: Counters,
    health: Arc<CollectorsHealth>,
) {
    tracing::info!(proc = %paths.proc_root.display(), root = %paths.host_root.display(), interval_secs = interval.as_secs(), "host metrics on");
    if paths.proc_root != std::path::Path::new("/proc")
        && paths.host_root == std::path::Path::new("/")
    {
        tracing::warn!(proc = %paths.proc_root.display(), "HOST_PROC is set but HOST_ROOT is not: disks are measured as this container sees them, not as the host does (mount the host's / read-only and set HOST_ROOT)");
    }
    let mut collector = HostCollector::new(paths);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        // statvfs on a stale network mount can block for long: keep it off the runtime's
        // threads. A hung read delays only the next host collection.
        let done = tokio::task::spawn_blocking(move || {
            let (batch, failures) = collector.collect();
            (collector, batch, failures)
        })
        .await;
        let Ok((c, batch, failures)) = done else {
            tracing::error!("host metrics: the collection panicked; host metrics stop");
            return;
        };
        collector = c;
        collector.report(&failures, &health, &counters);
        batch.write(&points, now_secs());
        counters.incr(Counter::CollectorsHostRuns);
    }
}
