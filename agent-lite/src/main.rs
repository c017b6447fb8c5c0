//! agent-lite: the lab's stand-in for the Datadog Agent. The command line; the agent itself is
//! the library (`lib.rs`), which the fuzz targets share.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;

use agent_lite::apm::trace_store::SharedTraces;
use agent_lite::config::{Cli, Command, RunConfig};
use agent_lite::counters::{Counters, Family};
use agent_lite::dashboards::registry::SharedDashboards;
use agent_lite::hostname::Hostname;
use agent_lite::http_server::{self, Refusals};
use agent_lite::monitors::registry::SharedRegistry;
use agent_lite::shutdown::{self, Shutdown};
use agent_lite::slos::registry::SharedSlos;
use agent_lite::status::Everything;
use agent_lite::store::events::{Event, SharedEvents};
use agent_lite::store::{SharedStore, Store};
use agent_lite::{collectors, dashboards, intake, monitors, slos, status, web, workbook};

// jemalloc: agent-lite allocates and frees every span and tag it receives, and glibc's malloc
// spent a third of the intake's time there and kept freed memory as RSS. Here, not in the
// library, so that the fuzz targets keep the sanitizer's allocator.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// jemalloc's defaults suit a server that owns its machine, not a lab agent beside the service
// it watches: one arena per thread family (8 on 2 cores) each keeping what it freed, and freed
// pages held 10 s before they go back. Under a trace flood that was a third of the RSS
// (bench/agent-lite.sh, full demo load: 64 MiB with the defaults, 52 with these). One arena
// costs a few percent of intake speed: the workers' thread caches take most allocations. The
// variable _RJEM_MALLOC_CONF still overrides any of it.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &u8 =
    &b"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0,background_thread:true\0"[0];

fn main() -> ExitCode {
    // Still one thread: no one else reads the environment the configuration file sets.
    let cli = match Cli::load() {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("agent-lite: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("agent-lite: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Some(Command::Status(s)) => runtime.block_on(status::command(s)),
        // Its own exit codes: 1 is a verdict (something missing), 2 a lab it could not ask.
        Some(Command::LabCheck(c)) => return runtime.block_on(workbook::run(c)),
        Some(Command::CheckMonitors { paths }) => {
            return if monitors::check_paths(&paths) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Some(Command::Run(cfg)) => runtime.block_on(run(*cfg)),
        None => runtime.block_on(run(cli.run)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agent-lite: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Assembles the agent: the stores, then each component with the handles it uses, each
/// binding its own sockets; then waits for a signal or a listener's end.
async fn run(cfg: RunConfig) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AGENT_LITE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();

    let host = Hostname::resolve(cfg.hostname.as_deref());
    let store = SharedStore::new(Store::new(cfg.store.limits()));
    let events = SharedEvents::default();
    let traces = SharedTraces::new(cfg.trace_store.build());
    let profiles = cfg.profiles.store();
    let logs = cfg.logs.store();
    let registry = SharedRegistry::default();
    let counters = Counters::default();
    let collectors_health = std::sync::Arc::default();

    let trace_listeners = cfg.traces.bind(cfg.bind_host).await?;
    let (api_listener, api_addr) = cfg.web.bind(cfg.bind_host).await?;
    let statsd_sources = cfg.dogstatsd.bind(cfg.bind_host).await?;
    let apm_addr = trace_listeners.tcp_addr;

    let (shutdown, stop) = Shutdown::new();
    // Before any listener answers: a log line written once agent-lite is ready is collected.
    collectors::spawn(
        &cfg.collectors,
        &cfg.logs,
        collectors::Output {
            store: store.clone(),
            events: events.clone(),
            logs: logs.clone(),
            counters: counters.clone(),
            health: std::sync::Arc::clone(&collectors_health),
            host: host.clone(),
        },
    );
    let slo_registry = SharedSlos::default();
    let monitor_parts = monitors::Parts {
        slos: Some(std::sync::Arc::new(slos::alerts::Reader(
            slo_registry.clone(),
        ))),
        store: store.clone(),
        registry: registry.clone(),
        events: events.clone(),
        counters: counters.clone(),
        host: host.clone(),
    };
    let state_dir = cfg.state_dir.as_deref();
    let notifier = monitors::setup(&cfg.monitors, &cfg.notifications, state_dir, &monitor_parts)?;
    let dashboard_parts = dashboards::Parts {
        dashboards: SharedDashboards::default(),
        events: events.clone(),
        host: host.clone(),
    };
    dashboards::setup(&cfg.dashboards, state_dir, &dashboard_parts)?;
    let slo_parts = slos::Parts {
        slos: slo_registry,
        events: events.clone(),
        host: host.clone(),
    };
    slos::setup(&cfg.slos, state_dir, &slo_parts)?;
    let everything = Everything {
        store: store.clone(),
        events: events.clone(),
        traces: traces.clone(),
        profiles: profiles.clone(),
        logs,
        monitors: registry,
        dashboards: dashboard_parts.dashboards.clone(),
        slos: slo_parts.slos.clone(),
        webhooks: notifier.deliveries().clone(),
        counters: counters.clone(),
        collectors: collectors_health,
        host: host.clone(),
        started: Instant::now(),
    };

    let mut listeners = tokio::task::JoinSet::new();
    listeners.spawn(intake::traces::serve(
        trace_listeners,
        cfg.traces.clone(),
        intake::traces::Output {
            store: store.clone(),
            traces,
            counters: counters.clone(),
        },
        intake::profiles::router(
            intake::profiles::Output {
                profiles,
                counters: counters.clone(),
                host: host.clone(),
            },
            &cfg.profiles,
        ),
        stop.clone(),
    ));
    listeners.spawn({
        let refusals = Refusals {
            counters: counters.clone(),
            family: Family::ApiRejected,
        };
        let served = http_server::serve(
            api_listener,
            web::router(everything),
            refusals,
            stop.clone().wait(),
        );
        async move { served.await.context("API") }
    });
    let statsd = tokio::spawn(intake::dogstatsd::run(
        statsd_sources,
        cfg.dogstatsd.clone(),
        intake::dogstatsd::Output {
            store: store.clone(),
            events: events.clone(),
            counters: counters.clone(),
            host: host.clone(),
        },
        stop.clone(),
    ));
    let housekeeping = tokio::spawn(status::housekeeping(store, counters, host.clone()));
    let dashboards_task = tokio::spawn(dashboards::run(
        cfg.dashboards.clone(),
        dashboard_parts,
        stop.clone(),
    ));
    let slos_task = tokio::spawn(slos::run(cfg.slos.clone(), slo_parts, stop.clone()));
    let monitors_task = tokio::spawn(monitors::run(
        cfg.monitors.clone(),
        monitor_parts,
        notifier,
        stop,
    ));

    let dogstatsd_port = cfg.dogstatsd.dogstatsd_port;
    events.lock().push(Event::own(
        &host,
        "agent-lite started",
        format!("traces on {apm_addr}, DogStatsD on port {dogstatsd_port}, API on {api_addr}"),
    ));
    tracing::info!(traces = %apm_addr, dogstatsd_port, api = %api_addr, hostname = %host, "agent-lite started");

    let reason = tokio::select! {
        r = shutdown::signal() => r,
        Some(done) = listeners.join_next() => {
            shutdown.stop();
            return match done {
                Ok(Ok(())) => Err(anyhow::anyhow!("a listener stopped")),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(anyhow::anyhow!("a listener failed: {e}")),
            };
        }
    };
    tracing::info!(signal = reason, "stopping: finishing in-flight requests");
    shutdown.stop();
    while let Some(done) = listeners.join_next().await {
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "listener ended with an error");
        }
    }
    if let Err(e) = statsd.await {
        tracing::warn!(error = %e, "the DogStatsD task failed");
    }
    housekeeping.abort();
    let _ = monitors_task.await;
    let _ = dashboards_task.await;
    let _ = slos_task.await;
    Ok(())
}
