//! The HTTP server both services run: actix workers behind the server span, runtime metrics,
//! the agent watch, and on SIGTERM the in-flight requests finished and the spans flushed.
//! Each service brings its routes; the rest is the same for both.

use actix_web::{web, App, HttpServer};
use anyhow::Context as _;

use super::server_span::ServerSpan;
use crate::config::ServeConfig;
use crate::telemetry::runtime_metrics::{RuntimeMetrics, Runtimes};
use crate::telemetry::{self, span_accounting, Telemetry};

/// Serves `routes` until SIGTERM or SIGINT; `started` is the message of the start line.
pub async fn serve<F>(
    cfg: &ServeConfig,
    telemetry: Telemetry,
    started: &'static str,
    routes: F,
) -> anyhow::Result<()>
where
    F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
{
    let runtimes = Runtimes::default();
    runtimes.register_current();

    let metrics_task = if cfg.runtime_metrics_enabled {
        let metrics = RuntimeMetrics::new(cfg, runtimes.clone())?;
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

    let server_span = ServerSpan {
        tracing: cfg.trace_enabled,
    };
    let worker_runtimes = runtimes.clone();
    let mut server = HttpServer::new(move || {
        worker_runtimes.register_current();
        App::new().wrap(server_span).configure(routes.clone())
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
        "{started}"
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
