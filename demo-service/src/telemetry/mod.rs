//! Everything the service tells the outside about itself: spans to the Datadog Agent through
//! Datadog's official Rust tracer, JSON log lines on stdout, runtime metrics over DogStatsD.

pub mod json_logs;
pub mod profiler;
pub mod runtime_metrics;
pub mod span_accounting;
pub mod span_ids;
pub mod tracer_drops;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use datadog_opentelemetry::configuration::Config as DdConfig;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::filter::{filter_fn, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::ServeConfig;
use json_logs::{JsonLogLayer, LogTags};
use span_accounting::CountingLayer;
use span_ids::SpanIdsLayer;
use tracer_drops::DropCountingLayer;

/// Keeps the tracer and the log writer alive; [`Telemetry::shutdown`] flushes both.
pub struct Telemetry {
    tracer: Option<SdkTracerProvider>,
    log_guard: WorkerGuard,
    /// Spans finished (`span_accounting`).
    pub spans: Tally,
    /// Trace chunks the tracer dropped, its buffer full (`tracer_drops`).
    pub dropped_chunks: Tally,
}

/// A count shared by the tracing layer that adds to it and the tasks that report it.
#[derive(Debug, Default, Clone)]
pub struct Tally(Arc<AtomicU64>);

impl Tally {
    pub fn add_one(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// How long shutdown waits for the last spans to reach the agent.
const TRACE_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

impl Telemetry {
    pub fn init(cfg: &ServeConfig) -> anyhow::Result<Self> {
        // Lines go through a writer thread so a slow stdout reader never stalls a request;
        // it blocks instead of dropping when full: log lines are data, we lose none.
        let (stdout, log_guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
            .lossy(false)
            .buffered_lines_limit(64 * 1024)
            .thread_name("demo-service-logs")
            .finish(std::io::stdout());
        let injection = cfg.logs_injection.then(|| LogTags {
            service: cfg.service.clone(),
            env: cfg.env.clone(),
            version: cfg.version.clone(),
        });
        // The service's lines at DEMO_LOG_LEVEL, the tracer's diagnostics at DD_LOG_LEVEL.
        let own_level = LevelFilter::from_level(cfg.log_level);
        let tracer_level = cfg.tracer_log_level;
        let logs = JsonLogLayer::new(stdout, injection).with_filter(
            filter_fn(move |meta| {
                let level = if json_logs::is_tracer_diagnostic(meta.target()) {
                    tracer_level
                } else {
                    own_level
                };
                level >= *meta.level()
            })
            .with_max_level_hint(own_level.max(tracer_level)),
        );

        let spans = Tally::default();
        let dropped_chunks = Tally::default();
        let mut tracer = None;
        let drops = cfg.trace_enabled.then(|| {
            DropCountingLayer(dropped_chunks.clone()).with_filter(
                filter_fn(tracer_drops::is_tracer_debug).with_max_level_hint(LevelFilter::DEBUG),
            )
        });
        let otel = if cfg.trace_enabled {
            let provider = datadog_opentelemetry::tracing()
                .with_config(dd_config(cfg))
                .init();
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer(env!("CARGO_PKG_NAME")))
                // Datadog shows neither; they cost attributes on every span.
                .with_location(false)
                .with_threads(false)
                .with_target(false)
                .with_tracked_inactivity(false)
                // Making the span's OpenTelemetry context current on every poll is work nothing
                // here reads: the ids the logs and the profiler need come from span_ids.
                .with_context_activation(false)
                .with_filter(filter_fn(becomes_a_span));
            tracer = Some(provider);
            Some(layer)
        } else {
            None
        };

        let count = cfg
            .trace_enabled
            .then(|| CountingLayer(spans.clone()).with_filter(filter_fn(becomes_a_span)));
        // The log lines' dd.trace_id and the profiler's span labels read the span the thread
        // is in from here.
        let ids = cfg
            .trace_enabled
            .then(|| SpanIdsLayer.with_filter(filter_fn(becomes_a_span)));
        Registry::default()
            .with(otel)
            .with(ids)
            .with(count)
            .with(drops)
            .with(logs)
            .try_init()
            .context("installing the tracing subscriber")?;
        Ok(Self {
            tracer,
            log_guard,
            spans,
            dropped_chunks,
        })
    }

    /// Sends every finished span to the agent, then stops the log writer after its last line.
    pub fn shutdown(self) {
        if let Some(tracer) = self.tracer {
            let finished = self.spans.get();
            let dropped = self.dropped_chunks.get();
            match tracer.shutdown_with_timeout(TRACE_FLUSH_TIMEOUT) {
                Ok(()) => tracing::info!(
                    spans_finished = finished,
                    trace_chunks_dropped_total = dropped,
                    "tracer flushed"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    spans_finished = finished,
                    trace_chunks_dropped_total = dropped,
                    "tracer flush did not complete; spans still buffered are lost"
                ),
            }
        }
        drop(self.log_guard);
    }
}

/// Whether a tracing event or span becomes a span of the tracer: only our own spans. The
/// tracer's diagnostics must not feed back into the tracer, and log events are log lines
/// (joined to the trace by dd.trace_id), not span events that would double every span's
/// payload.
fn becomes_a_span(meta: &tracing::Metadata<'_>) -> bool {
    meta.is_span() && meta.target().starts_with("demo_service")
}

/// The tracer's configuration from ours: ours already read the DD_* variables (so a bad value
/// was refused at start), the tracer gets the parsed values.
fn dd_config(cfg: &ServeConfig) -> DdConfig {
    let mut b = DdConfig::builder();
    b.set_service(cfg.service.clone())
        .set_env(cfg.env.clone())
        .set_version(cfg.version.clone())
        .set_global_tags(cfg.tags.0.clone())
        .set_trace_agent_url(cfg.trace_agent_url())
        .set_dogstatsd_agent_host(cfg.agent_host.clone())
        .set_dogstatsd_agent_port(u32::from(cfg.dogstatsd_port))
        // Every diagnostic reaches our subscriber, which prints those at DD_LOG_LEVEL and
        // counts the dropped traces among them (tracer_drops); they are rare, but for that one.
        .set_log_level_filter(datadog_opentelemetry::log::LevelFilter::Debug)
        .set_enabled(true);
    b.build()
}
