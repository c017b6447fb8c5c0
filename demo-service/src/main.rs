//! demo-service: the lab's instrumented web service.

mod config;
mod healthcheck;
mod http;
mod telemetry;

use std::process::ExitCode;

use actix_web::{web, App, HttpServer};
use anyhow::Context as _;

use config::{Cli, Command, ServeConfig};
use http::routes::{self, Limits};
use http::server_span::ServerSpan;
use telemetry::runtime_metrics::{RuntimeMetrics, Runtimes};
use telemetry::span_accounting;
use telemetry::Telemetry;

// jemalloc: steady under many threads, and its statistics are the allocator figures of the
// runtime metrics.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = Cli::parse_or_exit();
    match cli.command {
        Some(Command::Healthcheck(h)) => healthcheck::run(h),
        Some(Command::Serve(cfg)) => serve(*cfg),
        None => serve(cli.serve),
    }
}

fn serve(cfg: ServeConfig) -> ExitCode {
    let result = actix_web::rt::System::new().block_on(run(cfg));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The subscriber may not be installed (or may be the thing that failed).
            eprintln!("demo-service: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: ServeConfig) -> anyhow::Result<()> {
    let telemetry = Telemetry::init(&cfg)?;
    if cfg.profiling_enabled {
        telemetry::profiler::start(telemetry::profiler::Settings {
            agent_url: cfg.trace_agent_url(),
            upload_period: std::time::Duration::from_secs(cfg.profiling_upload_period_secs),
            hz: cfg.profiling_hz,
            service: cfg.service.clone(),
            env: cfg.env.clone(),
            version: cfg.version.clone(),
        })?;
    }
    let runtimes = Runtimes::default();
    runtimes.register_current();

    let metrics_task = if cfg.runtime_metrics_enabled {
        let metrics = RuntimeMetrics::new(&cfg, runtimes.clone())?;
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(telemetry::runtime_metrics::run(
            metrics,
            cfg.runtime_metrics_interval(),
            stopped,
        ));
        Some((stop, task))
    } else {
        None
    };
    let watch_task = cfg.trace_enabled.then(|| {
        tokio::spawn(span_accounting::watch_agent(
            cfg.trace_agent_url(),
            telemetry.spans.clone(),
        ))
    });
    let drops_task = cfg.trace_enabled.then(|| {
        tokio::spawn(telemetry::tracer_drops::report(
            telemetry.dropped_chunks.clone(),
        ))
    });

    let limits = web::Data::new(Limits::from(&cfg));
    let server_span = ServerSpan {
        tracing: cfg.trace_enabled,
    };
    let worker_runtimes = runtimes.clone();
    let mut server = HttpServer::new(move || {
        worker_runtimes.register_current();
        App::new()
            .app_data(limits.clone())
            .wrap(server_span)
            .configure(routes::configure)
    })
    .shutdown_timeout(cfg.shutdown_timeout_secs);
    if cfg.workers > 0 {
        server = server.workers(cfg.workers);
    }
    let server = server
        .bind(cfg.listen)
        .with_context(|| format!("cannot listen on {}", cfg.listen))?
        .run();

    tracing::info!(
        listen = %cfg.listen,
        service = %cfg.service,
        env = %cfg.env,
        version = %cfg.version,
        trace_enabled = cfg.trace_enabled,
        trace_agent_url = %cfg.trace_agent_url(),
        runtime_metrics = cfg.runtime_metrics_enabled,
        logs_injection = cfg.logs_injection,
        chaos_enabled = cfg.chaos_enabled,
        "demo-service started"
    );

    // actix-web stops accepting on SIGTERM or SIGINT and lets in-flight requests finish.
    let served = server.await;
    tracing::info!("stopped accepting; in-flight requests finished");

    // Their last word is in the shutdown line (spans finished, traces dropped).
    for task in [watch_task, drops_task].into_iter().flatten() {
        task.abort();
    }
    if let Some((stop, task)) = metrics_task {
        let _ = stop.send(());
        if let Err(e) = task.await {
            tracing::warn!(error = %e, "runtime metrics task ended badly");
        }
    }
    // The span flush blocks on the exporter; keep it off the async executor.
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .context("flushing telemetry")?;
    served.context("HTTP server")
}
