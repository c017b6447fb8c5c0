//! Counts the trace chunks Datadog's tracer drops, and reports them in a log line now and then.
//!
//! datadog-opentelemetry queues finished traces in a buffer of at most 5 MB for its exporter
//! thread. When the exporter falls behind (an agent slow to answer, or a service running both
//! cores flat out), the buffer is full and the trace is dropped. The tracer keeps that count
//! private (it sends it only in its telemetry to the agent) and says so only at debug level,
//! one diagnostic per dropped chunk, with the fixed message below. The tracer's diagnostics
//! are therefore always emitted (`DD_LOG_LEVEL` only decides which are printed), and this
//! layer counts that one: it is the only place the tracer tells the service that a trace was
//! lost.

use std::fmt;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use super::Tally;

/// What datadog-opentelemetry (0.6, `DatadogSpanProcessor::on_end`) says when it could not
/// queue a trace chunk for export.
const DROPPED_CHUNK: &str = "Failed to export trace chunk";

/// Whether an event is one of the tracer's debug diagnostics, the only ones this layer reads.
pub fn is_tracer_debug(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::DEBUG && meta.target().starts_with("datadog_opentelemetry")
}

/// Counts the tracer's "could not queue" diagnostics (filter it with [`is_tracer_debug`]): the
/// trace chunks the tracer dropped since the service started.
pub struct DropCountingLayer(pub Tally);

impl<S: Subscriber> Layer<S> for DropCountingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut dropped = IsDropped(false);
        event.record(&mut dropped);
        if dropped.0 {
            self.0.add_one();
        }
    }
}

struct IsDropped(bool);

impl Visit for IsDropped {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}").contains(DROPPED_CHUNK);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.contains(DROPPED_CHUNK);
        }
    }
}

/// How often the count is looked at, and how often at most a line is written about it.
const LOOK_EVERY: Duration = Duration::from_secs(1);
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Writes a line when chunks were dropped: at once for the first drops, then at most once a
/// minute with the chunks dropped since the last line, never once per request.
pub async fn report(dropped: Tally) {
    let mut reported = 0u64;
    let mut last_line: Option<Instant> = None;
    let mut ticker = tokio::time::interval(LOOK_EVERY);
    loop {
        ticker.tick().await;
        let total = dropped.get();
        let due = last_line.is_none_or(|at| at.elapsed() >= REPORT_EVERY);
        if total > reported && due {
            tracing::warn!(
                trace_chunks_dropped = total - reported,
                trace_chunks_dropped_total = total,
                "the tracer dropped traces: its buffer (5 MB) was full because its exporter did not keep up with the service or the agent; the service keeps serving"
            );
            reported = total;
            last_line = Some(Instant::now());
        }
    }
}
