//! Figures of one running container, from its inspection and a one-shot stats reading, with
//! the Agent's names and units: `container.cpu.*` in nanocores (CPU time per second between
//! two readings), `container.memory.*` in bytes; and the Docker check's `docker.cpu.*` in
//! percent of one core, `docker.mem.in_use` as a fraction of the limit.

use std::collections::HashMap;
use std::time::Instant;

use bollard::models::{ContainerInspectResponse, ContainerStatsResponse, HealthStatusEnum};

use crate::collectors::batch::Batch;

/// What the inspection says of a container.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    pub id: String,
    pub name: String,
    pub image: String,
    pub labels: HashMap<String, String>,
    pub restart_count: i64,
    /// Seconds since the epoch.
    pub started_at: Option<i64>,
    /// `healthy`, `unhealthy` or `starting`; None without a health check.
    pub health: Option<String>,
    pub memory_limit: Option<u64>,
    pub cpu_limit_nanocores: Option<f64>,
}

impl Info {
    pub fn from_inspect(c: &ContainerInspectResponse) -> Option<Self> {
        let id = c.id.clone().filter(|id| !id.is_empty())?;
        let config = c.config.as_ref();
        let state = c.state.as_ref();
        let host = c.host_config.as_ref();
        let health = state
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.status)
            .filter(|s| !matches!(s, HealthStatusEnum::EMPTY | HealthStatusEnum::NONE))
            .map(|s| s.to_string());
        let nano_cpus = host.and_then(|h| h.nano_cpus).filter(|n| *n > 0);
        let quota = host
            .and_then(|h| Some((h.cpu_quota?, h.cpu_period?)))
            .filter(|(q, p)| *q > 0 && *p > 0);
        let cpu_limit_nanocores = match (nano_cpus, quota) {
            (Some(n), _) => Some(n as f64),
            (None, Some((q, p))) => Some(q as f64 / p as f64 * 1e9),
            _ => None,
        };
        Some(Self {
            id,
            name: c
                .name
                .as_deref()
                .unwrap_or("")
                .trim_start_matches('/')
                .to_owned(),
            image: config.and_then(|c| c.image.clone()).unwrap_or_default(),
            labels: config.and_then(|c| c.labels.clone()).unwrap_or_default(),
            restart_count: c.restart_count.unwrap_or(0),
            started_at: state
                .and_then(|s| s.started_at.as_deref())
                .and_then(parse_time),
            health,
            memory_limit: host
                .and_then(|h| h.memory)
                .filter(|m| *m > 0)
                .map(|m| m as u64),
            cpu_limit_nanocores,
        })
    }
}

/// Seconds since the epoch of an RFC 3339 time; None for Docker's zero time (never started).
pub fn parse_time(s: &str) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    (t.year() > 1970).then(|| t.unix_timestamp())
}

/// Cumulative CPU counters of one reading, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuReading {
    pub total: u64,
    pub user: u64,
    pub system: u64,
    /// The host's CPU time over all CPUs, the clock Docker's own `docker stats` divides by.
    pub host_total: Option<u64>,
    pub online_cpus: u32,
    pub at: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryReading {
    pub usage: u64,
    pub working_set: u64,
    pub rss: Option<u64>,
    pub cache: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    pub cpu: Option<CpuReading>,
    pub memory: Option<MemoryReading>,
    pub threads: Option<u64>,
}

impl Reading {
    pub fn from_stats(s: &ContainerStatsResponse, at: Instant) -> Self {
        let cpu = s.cpu_stats.as_ref().and_then(|c| {
            let u = c.cpu_usage.as_ref()?;
            Some(CpuReading {
                total: u.total_usage?,
                user: u.usage_in_usermode.unwrap_or(0),
                system: u.usage_in_kernelmode.unwrap_or(0),
                host_total: c.system_cpu_usage.filter(|v| *v > 0),
                online_cpus: c.online_cpus.unwrap_or(0),
                at,
            })
        });
        let memory = s.memory_stats.as_ref().and_then(|m| {
            let usage = m.usage?;
            let stats = m.stats.as_ref();
            let stat = |v1: &str, v2: &str| {
                stats.and_then(|st| st.get(v1).or_else(|| st.get(v2)).copied())
            };
            // cgroup v1 names (total_* include sub-cgroups), then cgroup v2's.
            let inactive_file = stat("total_inactive_file", "inactive_file").unwrap_or(0);
            Some(MemoryReading {
                usage,
                // What the kernel could not reclaim at once: kubelet's and the Agent's
                // working set.
                working_set: usage.saturating_sub(inactive_file),
                rss: stat("total_rss", "anon"),
                cache: stat("total_cache", "file"),
            })
        });
        Self {
            cpu,
            memory,
            threads: s.pids_stats.as_ref().and_then(|p| p.current),
        }
    }
}

/// CPU use between two readings, in nanocores (1e9 = one core fully busy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuRates {
    pub usage: f64,
    pub user: f64,
    pub system: f64,
}

pub fn cpu_rates(prev: &CpuReading, cur: &CpuReading) -> Option<CpuRates> {
    // Counters that went back mean a restarted container: wait for the next reading.
    let total = cur.total.checked_sub(prev.total)?;
    let user = cur.user.saturating_sub(prev.user);
    let system = cur.system.saturating_sub(prev.system);
    let host_secs = match (prev.host_total, cur.host_total) {
        (Some(p), Some(c)) if c > p && cur.online_cpus > 0 => {
            Some((c - p) as f64 / f64::from(cur.online_cpus) / 1e9)
        }
        _ => None,
    };
    let secs = host_secs.unwrap_or_else(|| cur.at.duration_since(prev.at).as_secs_f64());
    if secs <= 0.0 {
        return None;
    }
    let rate = |ns: u64| ns as f64 / secs;
    Some(CpuRates {
        usage: rate(total),
        user: rate(user),
        system: rate(system),
    })
}

/// Writes a container's figures; `rates` come from the previous reading, if any.
pub fn write(
    batch: &mut Batch,
    tags: &[String],
    info: &Info,
    reading: &Reading,
    rates: Option<CpuRates>,
    now: i64,
) {
    if let Some(started) = info.started_at {
        batch.gauge("container.uptime", tags, (now - started).max(0) as f64);
    }
    batch.gauge("container.restarts", tags, info.restart_count as f64);
    if let Some(h) = &info.health {
        batch.gauge(
            "docker.container.healthy",
            tags,
            if h == "healthy" { 1.0 } else { 0.0 },
        );
    }
    if let Some(r) = rates {
        batch.gauge("container.cpu.usage", tags, r.usage);
        batch.gauge("container.cpu.user", tags, r.user);
        batch.gauge("container.cpu.system", tags, r.system);
        // The Docker check's figures: percent of one core.
        batch.gauge("docker.cpu.usage", tags, r.usage / 1e7);
        batch.gauge("docker.cpu.user", tags, r.user / 1e7);
        batch.gauge("docker.cpu.system", tags, r.system / 1e7);
    }
    if let Some(limit) = info.cpu_limit_nanocores {
        batch.gauge("container.cpu.limit", tags, limit);
    }
    if let Some(m) = &reading.memory {
        batch.gauge("container.memory.usage", tags, m.usage as f64);
        batch.gauge("container.memory.working_set", tags, m.working_set as f64);
        if let Some(v) = m.rss {
            batch.gauge("container.memory.rss", tags, v as f64);
        }
        if let Some(v) = m.cache {
            batch.gauge("container.memory.cache", tags, v as f64);
        }
        // Without a limit Docker reports the host's memory as the limit: not a limit.
        if let Some(limit) = info.memory_limit {
            batch.gauge("container.memory.limit", tags, limit as f64);
            batch.gauge("docker.mem.in_use", tags, m.usage as f64 / limit as f64);
        }
    }
    if let Some(n) = reading.threads {
        batch.gauge("container.pid.thread_count", tags, n as f64);
    }
}
