//! agent-lite: the lab's stand-in for the Datadog Agent. The command line; the agent itself is
//! the library (`lib.rs`), which the fuzz targets share.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser};
use tokio::net::{TcpListener, UdpSocket, UnixDatagram, UnixListener};

use agent_lite::config::{Cli, Command, RunConfig, StatusConfig};
use agent_lite::intake::dogstatsd::{self, Source};
use agent_lite::state::Shared;
use agent_lite::{
    collectors, config_file, http_server, intake, monitors, state, status, store, web,
};

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
    let mut cli = Cli::parse();
    if let Some(path) = cli.config_file() {
        let vars =
            config_file::variables(path, &Cli::command(), |env| std::env::var_os(env).is_some());
        match vars {
            Ok(vars) => {
                // Still one thread: no one else reads the environment yet.
                for (env, value) in vars {
                    std::env::set_var(env, value);
                }
                cli = Cli::parse();
            }
            Err(e) => {
                eprintln!("agent-lite: {e:#}");
                return ExitCode::FAILURE;
            }
        }
    }
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
        Some(Command::Status(s)) => runtime.block_on(status_command(s)),
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

async fn status_command(cfg: StatusConfig) -> anyhow::Result<()> {
    let url = format!("{}/status", cfg.url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let v: serde_json::Value = client
        .get(&url)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("agent-lite does not answer at {url}"))?
        .json()
        .await
        .with_context(|| format!("{url} did not answer JSON"))?;
    if cfg.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        status::print(&v);
    }
    Ok(())
}

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

    let bounds = state::Bounds {
        store: store::Limits {
            retention: Duration::from_secs(cfg.retention_minutes * 60),
            max_series: cfg.max_series,
        },
        trace_spans: cfg.max_trace_spans,
        trace_bytes: (cfg.max_trace_memory_mb as usize).saturating_mul(1 << 20),
        log_lines: cfg.logs.max_log_lines,
    };
    let shared = Arc::new(Shared::new(cfg.hostname(), bounds));

    let apm_addr = SocketAddr::new(cfg.bind_host, cfg.apm_port);
    let apm = TcpListener::bind(apm_addr).await.with_context(|| {
        format!("cannot listen for traces on {apm_addr} (DD_APM_RECEIVER_PORT)")
    })?;
    let api_addr = SocketAddr::new(cfg.bind_host, cfg.api_port);
    let api = TcpListener::bind(api_addr).await.with_context(|| {
        format!("cannot listen for the API on {api_addr} (AGENT_LITE_API_PORT)")
    })?;
    let mut sources = Vec::new();
    if cfg.dogstatsd_port != 0 {
        let addr = SocketAddr::new(cfg.bind_host, cfg.dogstatsd_port);
        let udp = UdpSocket::bind(addr).await.with_context(|| {
            format!("cannot listen for DogStatsD on {addr}/udp (DD_DOGSTATSD_PORT)")
        })?;
        sources.push(Source::Udp(udp));
    }
    if let Some(path) = &cfg.dogstatsd_socket {
        let _ = std::fs::remove_file(path);
        let sock = UnixDatagram::bind(path).with_context(|| {
            format!(
                "cannot bind DogStatsD socket {} (DD_DOGSTATSD_SOCKET)",
                path.display()
            )
        })?;
        sources.push(Source::Unix(sock));
    }

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    // Before any listener answers: a log line written once agent-lite is ready is collected.
    collectors::spawn(&cfg.collectors, &cfg.logs, shared.clone());
    let traces_app =
        intake::traces::router(shared.clone(), cfg.max_payload_bytes, cfg.client_stats);
    let refusals = |family| http_server::Refusals {
        shared: shared.clone(),
        family,
    };
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn({
        let app = traces_app.clone();
        let stop = stopped();
        let refusals = refusals("traces");
        async move {
            http_server::serve(apm, app, refusals, stop)
                .await
                .context("trace intake")
        }
    });
    if let Some(path) = &cfg.apm_socket {
        let _ = std::fs::remove_file(path);
        let unix = UnixListener::bind(path).with_context(|| {
            format!(
                "cannot bind trace socket {} (DD_APM_RECEIVER_SOCKET)",
                path.display()
            )
        })?;
        let stop = stopped();
        let refusals = refusals("traces");
        tasks.spawn(async move {
            http_server::serve(unix, traces_app, refusals, stop)
                .await
                .context("trace intake (unix socket)")
        });
    }
    tasks.spawn({
        let app = web::router(shared.clone());
        let stop = stopped();
        let refusals = refusals("api");
        async move {
            http_server::serve(api, app, refusals, stop)
                .await
                .context("API")
        }
    });
    let statsd = tokio::spawn(dogstatsd::run(
        sources,
        shared.clone(),
        Duration::from_secs(cfg.flush_secs),
        stopped(),
    ));
    let housekeeping = tokio::spawn({
        let shared = shared.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(10));
            loop {
                tick.tick().await;
                status::record_own_metrics(&shared);
                shared.store().prune(state::now_secs());
            }
        }
    });
    monitors::setup(&cfg.monitors, &shared)?;
    let monitors_task = tokio::spawn(monitors::run(
        cfg.monitors.clone(),
        shared.clone(),
        stopped(),
    ));

    shared.own_event(
        "agent-lite started",
        &format!(
            "traces on {apm_addr}, DogStatsD on port {}, API on {api_addr}",
            cfg.dogstatsd_port
        ),
    );
    tracing::info!(traces = %apm_addr, dogstatsd_port = cfg.dogstatsd_port, api = %api_addr, hostname = %shared.hostname, "agent-lite started");

    let reason = tokio::select! {
        r = shutdown_signal() => r,
        Some(done) = tasks.join_next() => {
            let _ = stop_tx.send(true);
            return match done {
                Ok(Ok(())) => Err(anyhow::anyhow!("a listener stopped")),
                Ok(Err(e)) => Err(e),
                Err(e) => Err(anyhow::anyhow!("a listener failed: {e}")),
            };
        }
    };
    tracing::info!(signal = reason, "stopping: finishing in-flight requests");
    let _ = stop_tx.send(true);
    while let Some(done) = tasks.join_next().await {
        if let Ok(Err(e)) = done {
            tracing::warn!(error = %e, "listener ended with an error");
        }
    }
    if let Err(e) = statsd.await {
        tracing::warn!(error = %e, "the DogStatsD task failed");
    }
    housekeeping.abort();
    let _ = monitors_task.await;
    Ok(())
}

async fn shutdown_signal() -> &'static str {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term => "SIGTERM",
    }
}
