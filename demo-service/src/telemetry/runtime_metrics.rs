//! `runtime.rust.*`: the Rust counterpart of the runtime metrics ddtrace sends for Python
//! (`runtime.python.cpu.time.user`, `runtime.python.mem.rss`, `runtime.python.thread_count`,
//! `runtime.python.cpu.ctx_switch.voluntary`, ...). Datadog's Rust tracer sends none, so the
//! names follow the Python ones where a counterpart exists; tokio and the allocator stand where
//! Python has its garbage collector. Units are in the README's table.
//!
//! Sent with cadence's buffered UDP sink (the client Datadog's own `libdd-dogstatsd-client`
//! wraps) rather than through that crate: its queuing sink sends from a thread of its own that
//! a process exit does not wait for, so the last report of a stopping service would be lost.
//! Here a report is written and flushed by the caller, and the shutdown report arrives.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use cadence::{BufferedUdpMetricSink, Counted, Gauged, Metric, MetricBuilder, StatsdClient};
use tokio::runtime::Handle;

use crate::config::ServeConfig;

/// The tokio runtimes the service runs on: actix-web gives each HTTP worker a single-threaded
/// runtime of its own, so runtime figures are summed over all of them.
#[derive(Clone, Default)]
pub struct Runtimes(Arc<Mutex<Vec<Handle>>>);

impl Runtimes {
    /// Registers the runtime of the calling thread (once per runtime).
    pub fn register_current(&self) {
        let Ok(handle) = Handle::try_current() else {
            return;
        };
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if !all.iter().any(|h| h.id() == handle.id()) {
            all.push(handle);
        }
    }

    fn snapshot(&self) -> TokioFigures {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut f = TokioFigures::default();
        for h in all.iter() {
            let m = h.metrics();
            f.workers += m.num_workers();
            f.alive_tasks += m.num_alive_tasks();
            f.queue_depth += m.global_queue_depth();
            for w in 0..m.num_workers() {
                f.busy += m.worker_total_busy_duration(w);
            }
        }
        f
    }
}

#[derive(Default, Clone, Copy)]
struct TokioFigures {
    workers: usize,
    alive_tasks: usize,
    queue_depth: usize,
    busy: Duration,
}

/// What the previous report saw, to turn cumulative counters into per-interval figures.
struct Previous {
    at: Instant,
    cpu_user_ticks: u64,
    cpu_sys_ticks: u64,
    voluntary: u64,
    involuntary: u64,
    busy: Duration,
}

pub struct RuntimeMetrics {
    client: StatsdClient,
    tags: Vec<(String, String)>,
    runtimes: Runtimes,
    previous: Option<Previous>,
    ticks_per_second: u64,
}

impl RuntimeMetrics {
    pub fn new(cfg: &ServeConfig, runtimes: Runtimes) -> anyhow::Result<Self> {
        let socket = UdpSocket::bind(if cfg.agent_host.contains(':') {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        })
        .context("binding a UDP socket for DogStatsD")?;
        socket
            .set_nonblocking(true)
            .context("making the DogStatsD socket non-blocking")?;
        let target = (cfg.agent_host.as_str(), cfg.dogstatsd_port);
        // 8192: what the Agent reads per datagram; loopback and container networks carry it.
        let sink =
            BufferedUdpMetricSink::with_capacity(target, socket, 8192).with_context(|| {
                format!(
                    "resolving the DogStatsD address {}:{}",
                    cfg.agent_host, cfg.dogstatsd_port
                )
            })?;
        let mut tags = cfg.unified_tags();
        tags.push(("lang".into(), "rust".into()));
        tags.push(("runtime-id".into(), runtime_id()));
        Ok(Self {
            client: StatsdClient::from_sink("", sink),
            tags,
            runtimes,
            previous: None,
            ticks_per_second: procfs::ticks_per_second(),
        })
    }

    /// Reads every figure and sends one report.
    pub fn report(&mut self) {
        let now = Instant::now();
        let tokio = self.runtimes.snapshot();
        let process = procfs::process::Process::myself().and_then(|p| {
            let stat = p.stat()?;
            let status = p.status()?;
            let fds = p.fd_count()?;
            Ok((stat, status, fds))
        });
        let (stat, status, fds) = match process {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read /proc/self; runtime metrics skipped");
                return;
            }
        };
        let page = procfs::page_size();
        self.gauge("runtime.rust.mem.rss", (stat.rss * page) as f64);
        self.gauge("runtime.rust.thread_count", stat.num_threads as f64);
        self.gauge("runtime.rust.fd_count", fds as f64);
        self.gauge("runtime.rust.tokio.workers", tokio.workers as f64);
        self.gauge("runtime.rust.tokio.alive_tasks", tokio.alive_tasks as f64);
        self.gauge(
            "runtime.rust.tokio.global_queue_depth",
            tokio.queue_depth as f64,
        );
        for (name, value) in allocator_figures() {
            self.gauge(name, value as f64);
        }

        let voluntary = status.voluntary_ctxt_switches.unwrap_or(0);
        let involuntary = status.nonvoluntary_ctxt_switches.unwrap_or(0);
        if let Some(prev) = &self.previous {
            let secs = now.duration_since(prev.at).as_secs_f64().max(1e-3);
            let tps = self.ticks_per_second.max(1) as f64;
            let user = stat.utime.saturating_sub(prev.cpu_user_ticks) as f64 / tps / secs;
            let sys = stat.stime.saturating_sub(prev.cpu_sys_ticks) as f64 / tps / secs;
            let busy_ratio = if tokio.workers == 0 {
                0.0
            } else {
                tokio.busy.saturating_sub(prev.busy).as_secs_f64() / (secs * tokio.workers as f64)
            };
            let (vol, invol) = (
                voluntary.saturating_sub(prev.voluntary),
                involuntary.saturating_sub(prev.involuntary),
            );
            self.gauge("runtime.rust.cpu.time.user", user);
            self.gauge("runtime.rust.cpu.time.sys", sys);
            self.gauge("runtime.rust.cpu.percent", (user + sys) * 100.0);
            self.gauge("runtime.rust.tokio.busy_ratio", busy_ratio.clamp(0.0, 1.0));
            self.count("runtime.rust.cpu.ctx_switch.voluntary", vol);
            self.count("runtime.rust.cpu.ctx_switch.involuntary", invol);
        }
        self.previous = Some(Previous {
            at: now,
            cpu_user_ticks: stat.utime,
            cpu_sys_ticks: stat.stime,
            voluntary,
            involuntary,
            busy: tokio.busy,
        });
        if let Err(e) = self.client.flush() {
            tracing::debug!(error = %e, "runtime metrics not sent");
        }
    }

    fn gauge(&self, name: &str, value: f64) {
        let b = self.client.gauge_with_tags(name, value);
        send(self.tagged(b));
    }

    fn count(&self, name: &str, value: u64) {
        let b = self
            .client
            .count_with_tags(name, i64::try_from(value).unwrap_or(i64::MAX));
        send(self.tagged(b));
    }

    fn tagged<'m, 'c, T>(&'m self, mut b: MetricBuilder<'m, 'c, T>) -> MetricBuilder<'m, 'c, T>
    where
        T: Metric + From<String>,
    {
        for (k, v) in &self.tags {
            b = b.with_tag(k, v);
        }
        b
    }
}

fn send<T: Metric + From<String>>(b: MetricBuilder<'_, '_, T>) {
    // UDP to an absent agent fails quietly, as DogStatsD clients do; nothing to retry.
    let _ = b.try_send();
}

/// jemalloc's own accounting, the Rust stand-in for Python's GC figures.
fn allocator_figures() -> Vec<(&'static str, usize)> {
    use tikv_jemalloc_ctl::{epoch, stats};
    // The statistics are cached inside jemalloc until the epoch advances.
    if epoch::advance().is_err() {
        return Vec::new();
    }
    let read = [
        ("runtime.rust.mem.allocated", stats::allocated::read()),
        ("runtime.rust.mem.active", stats::active::read()),
        ("runtime.rust.mem.resident", stats::resident::read()),
        ("runtime.rust.mem.metadata", stats::metadata::read()),
        ("runtime.rust.mem.retained", stats::retained::read()),
    ];
    read.into_iter()
        .filter_map(|(name, v)| v.ok().map(|v| (name, v)))
        .collect()
}

/// One id per process, as Datadog's tracers tag runtime metrics with `runtime-id`.
fn runtime_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Reports every `interval` until `stop` fires (or its sender is dropped), then sends one last
/// report so the final figures of a stopping service arrive.
pub async fn run(
    mut metrics: RuntimeMetrics,
    interval: Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        tokio::select! {
            _ = ticker.tick() => metrics.report(),
            _ = &mut stop => break,
        }
    }
    metrics.report();
}
