//! What the Datadog Agent's own checks collect without being asked: the host (cpu, load,
//! memory, disk, uptime: `system.*`), the containers of the local Docker Engine
//! (`container.*`, `docker.*`), the Engine's event stream, and logs (files, containers). Each
//! collector is a task of its own, so a slow disk or a missing Docker socket never holds the
//! others back.

pub mod batch;
mod containers;
mod docker;
mod docker_events;
pub mod health;
mod host;
pub mod logs;
pub mod postgres;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{ArgAction, Args};

use crate::counters::Counters;
use crate::hostname::Hostname;
use crate::store::events::SharedEvents;
use crate::store::logs::SharedLogs;
use crate::store::SharedStore;
use health::CollectorsHealth;

/// What the collectors write: points into the metric store, events (Docker's, and the
/// Engine's outages), log lines, their counters and their health for `status`.
#[derive(Clone)]
pub struct Output {
    pub store: SharedStore,
    pub events: SharedEvents,
    pub logs: SharedLogs,
    pub counters: Counters,
    pub health: Arc<CollectorsHealth>,
    pub host: Hostname,
}

#[derive(Debug, Clone, Args)]
pub struct CollectorsConfig {
    /// Collect host metrics (system.cpu.*, system.mem.*, system.disk.*, system.load.*).
    #[arg(long, env = "AGENT_LITE_HOST_METRICS", default_value_t = true, action = ArgAction::Set)]
    pub host_metrics: bool,

    /// Collect container metrics and Docker events from the Docker Engine API.
    #[arg(long, env = "AGENT_LITE_CONTAINER_METRICS", default_value_t = true, action = ArgAction::Set)]
    pub container_metrics: bool,

    /// Seconds between two collections (the Agent runs its checks every 15 s).
    #[arg(long, env = "AGENT_LITE_CHECK_INTERVAL_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub check_interval_secs: u64,

    /// The host's /proc. In a container, mount the host's there (the Agent's HOST_PROC,
    /// `/host/proc`) so that the host is reported, not the container.
    #[arg(long, env = "HOST_PROC", default_value = "/proc")]
    pub host_proc: PathBuf,

    /// The host's /sys (the Agent's HOST_SYS, `/host/sys`).
    #[arg(long, env = "HOST_SYS", default_value = "/sys")]
    pub host_sys: PathBuf,

    /// Where the host's root file system is seen, to measure its disks (`/host/root` in a
    /// container, with the host's / mounted there read-only).
    #[arg(long, env = "HOST_ROOT", default_value = "/")]
    pub host_root: PathBuf,

    /// The Docker Engine API: a unix socket (`unix:///var/run/docker.sock`) or tcp://.
    #[arg(
        long,
        env = "DOCKER_HOST",
        default_value = "unix:///var/run/docker.sock"
    )]
    pub docker_host: String,

    #[command(flatten)]
    pub postgres: postgres::PostgresConfig,
}

impl CollectorsConfig {
    fn interval(&self) -> Duration {
        Duration::from_secs(self.check_interval_secs)
    }

    fn host_paths(&self) -> host::HostPaths {
        host::HostPaths {
            proc_root: self.host_proc.clone(),
            sys_root: self.host_sys.clone(),
            host_root: self.host_root.clone(),
        }
    }
}

/// Starts the collectors that are turned on, logs included. They run until the runtime
/// stops; none of them fails the agent: what cannot be read is said once in the log and in
/// `agent-lite status`.
pub fn spawn(cfg: &CollectorsConfig, logs_cfg: &logs::LogsConfig, out: Output) {
    let uses_docker = cfg.container_metrics || logs_cfg.uses_docker();
    out.health.set_enabled(cfg.host_metrics, uses_docker);
    let points = batch::Points {
        store: out.store.clone(),
        host: out.host.clone(),
    };
    if cfg.host_metrics {
        tokio::spawn(host::run(
            cfg.host_paths(),
            cfg.interval(),
            points.clone(),
            out.counters.clone(),
            out.health.clone(),
        ));
    }
    // One connection for every Docker collector, so that an outage is said once.
    let engine = uses_docker.then(|| {
        Arc::new(docker::Engine::new(
            &cfg.docker_host,
            docker::OutageReport {
                health: out.health.clone(),
                counters: out.counters.clone(),
                events: out.events.clone(),
                host: out.host.clone(),
            },
        ))
    });
    if let Some(engine) = engine.as_ref().filter(|_| cfg.container_metrics) {
        tokio::spawn(containers::run(
            engine.clone(),
            cfg.interval(),
            points,
            out.counters.clone(),
        ));
        tokio::spawn(docker_events::run(
            engine.clone(),
            out.events.clone(),
            out.counters.clone(),
            out.host.clone(),
        ));
    }
    if let Some(url) = cfg.postgres.postgres_url.clone().filter(|u| !u.is_empty()) {
        out.health.postgres_state("unknown", None, "");
        tokio::spawn(postgres::run(
            url,
            cfg.interval(),
            postgres::CheckOutput {
                points: batch::Points {
                    store: out.store.clone(),
                    host: out.host.clone(),
                },
                events: out.events.clone(),
                counters: out.counters.clone(),
                health: out.health.clone(),
                host: out.host.clone(),
            },
        ));
    }
    let logs = logs::LogOutput {
        logs: out.logs,
        counters: out.counters,
        health: out.health,
        host: out.host,
    };
    logs::spawn(logs_cfg, engine, logs);
}
