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
/// queue a trace chunk for export, and the source file it says it from (every diagnostic of
/// the tracer comes through one callsite, with its `file` and `line` as fields).
const DROPPED_CHUNK: &str = "Failed to export trace chunk";
const DROPPED_CHUNK_FILE: &str = "span_processor.rs";

/// Whether an event is one of the tracer's debug diagnostics, the only ones this layer reads.
pub fn is_tracer_debug(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::DEBUG && meta.target().starts_with("datadog_opentelemetry")
}

/// Counts the tracer's "could not queue" diagnostics (filter it with [`is_tracer_debug`]): the
/// trace chunks the tracer dropped since the service started.
pub struct DropCountingLayer(pub Tally);

impl<S: Subscriber> Layer<S> for DropCountingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        // The file first: only the span processor's diagnostics have their message read.
        let mut file = FromSpanProcessor(false);
        event.record(&mut file);
        if !file.0 {
            return;
        }
        let mut message = SaysDropped(false);
        event.record(&mut message);
        if message.0 {
            self.0.add_one();
        }
    }
}

/// Whether a diagnostic's `file` is the span processor's. The tracer says a few debug
/// diagnostics on every request (the headers it injects, the context it extracted, written
/// with `{:#?}`), none of them from the span processor: their messages are never formatted.
struct FromSpanProcessor(bool);

impl Visit for FromSpanProcessor {
    fn record_debug(&mut self, _field: &Field, _value: &dyn fmt::Debug) {}

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "file" {
            self.0 = value.ends_with(DROPPED_CHUNK_FILE);
        }
    }
}

/// Whether a diagnostic's `message` says a chunk was dropped; it is formatted only as far as
/// the words looked for.
struct SaysDropped(bool);

impl Visit for SaysDropped {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let mut head = Head::default();
            // An error only says that the head is full: what is written so far is what counts.
            let _ = fmt::write(&mut head, format_args!("{value:?}"));
            self.0 = head.text().contains(DROPPED_CHUNK);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.contains(DROPPED_CHUNK);
        }
    }
}

/// The first bytes of a message (the drop's words are in its first 80), where formatting
/// stops: a full head refuses the rest.
struct Head {
    bytes: [u8; HEAD_LEN],
    len: usize,
}

const HEAD_LEN: usize = 128;

impl Default for Head {
    fn default() -> Self {
        Self {
            bytes: [0; HEAD_LEN],
            len: 0,
        }
    }
}

impl Head {
    fn text(&self) -> &str {
        // Cut on a char boundary by the writer below.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for Head {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = HEAD_LEN - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.bytes[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            return Err(fmt::Error);
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// A diagnostic as the tracer sends it: one callsite, its file and line as fields.
    fn diagnostic(file: &str, message: fmt::Arguments<'_>) {
        tracing::debug!(target: "datadog_opentelemetry", file, line = 1u32, "{message}");
    }

    #[test]
    fn only_the_span_processors_drop_diagnostic_is_counted() {
        let dropped = Tally::default();
        let subscriber = tracing_subscriber::registry().with(DropCountingLayer(dropped.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let drop =
                "DatadogSpanProcessor.on_end message='Failed to export trace chunk' error='full'";
            diagnostic("/src/span_processor.rs", format_args!("{drop}"));
            diagnostic("/src/span_processor.rs", format_args!("{drop}"));
            // The same words from elsewhere, and another diagnostic of the span processor.
            diagnostic("/src/propagation/mod.rs", format_args!("{drop}"));
            diagnostic("/src/span_processor.rs", format_args!("trace chunk queued"));
        });
        assert_eq!(dropped.get(), 2);
    }

    /// The per-request diagnostics (an extracted context written with `{:#?}`...) cost no
    /// formatting: only the span processor's messages are read.
    #[test]
    fn other_diagnostics_are_not_formatted() {
        struct Counted<'a>(&'a std::cell::Cell<u32>);
        impl fmt::Debug for Counted<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.set(self.0.get() + 1);
                f.write_str("SpanContext { .. }")
            }
        }
        let formatted = std::cell::Cell::new(0);
        let dropped = Tally::default();
        let subscriber = tracing_subscriber::registry().with(DropCountingLayer(dropped.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let context = Counted(&formatted);
            diagnostic(
                "/src/propagation/mod.rs",
                format_args!("Propagator (datadog): extracted {context:#?}"),
            );
        });
        assert_eq!(formatted.get(), 0);
        assert_eq!(dropped.get(), 0);
    }

    #[test]
    fn a_long_message_is_formatted_no_further_than_the_head() {
        let mut head = Head::default();
        let long = "é".repeat(10_000);
        assert!(
            write!(head, "{long}").is_err(),
            "a full head refuses the rest"
        );
        assert!(head.len <= HEAD_LEN && head.len > HEAD_LEN - 2);
        assert!(
            head.text().chars().all(|c| c == 'é'),
            "cut on a char boundary"
        );
    }
}
