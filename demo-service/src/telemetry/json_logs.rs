//! One JSON object a line on stdout, shaped for Datadog's log pipeline: `timestamp`, `level`,
//! `message`, `logger`, the event's own fields (http.*, duration...) and, inside a traced
//! request, `dd.trace_id`, `dd.span_id`, `dd.service`, `dd.env`, `dd.version`.
//!
//! `dd.trace_id` is the low 64 bits of the trace id in decimal, the form every Datadog tracer
//! writes by default and the one the log pipeline's trace-id remapper joins on; the 128-bit hex
//! form (DD_TRACE_128_BIT_TRACEID_LOGGING_ENABLED in other tracers) is not joined by accounts
//! that have not opted in, so we do not emit it.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::span_ids::SpanIds;
use serde::ser::{SerializeMap, Serializer as _};
use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// Unified service tags written as `dd.service`, `dd.env`, `dd.version`.
#[derive(Debug, Clone)]
pub struct LogTags {
    pub service: String,
    pub env: String,
    pub version: String,
}

/// The tracer's own diagnostics (an unreachable agent fails every flush, once a second) are
/// folded: the first of a kind is written, the repeats within this window are counted and the
/// count is written with the next one.
const TRACER_DIAGNOSTIC_WINDOW: Duration = Duration::from_secs(60);

pub struct JsonLogLayer<W> {
    writer: W,
    injection: Option<LogTags>,
    folded: Mutex<HashMap<String, Folded>>,
}

struct Folded {
    last_written: Instant,
    suppressed: u64,
}

impl<W> JsonLogLayer<W>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    pub fn new(writer: W, injection: Option<LogTags>) -> Self {
        Self {
            writer,
            injection,
            folded: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a diagnostic of the tracer is written now; returns how many like it were
    /// held back since the last one written.
    fn admit_tracer_diagnostic(&self, key: &str) -> Option<u64> {
        let now = Instant::now();
        let mut folded = self.folded.lock().unwrap_or_else(|e| e.into_inner());
        match folded.get_mut(key) {
            Some(f) if now.duration_since(f.last_written) < TRACER_DIAGNOSTIC_WINDOW => {
                f.suppressed += 1;
                None
            }
            Some(f) => {
                let held = f.suppressed;
                f.suppressed = 0;
                f.last_written = now;
                Some(held)
            }
            None => {
                folded.insert(
                    key.to_owned(),
                    Folded {
                        last_written: now,
                        suppressed: 0,
                    },
                );
                Some(0)
            }
        }
    }
}

/// Whether an event comes from the tracer's crates rather than from the service.
pub fn is_tracer_diagnostic(target: &str) -> bool {
    target.starts_with("datadog_opentelemetry")
        || target.starts_with("libdd")
        || target.starts_with("opentelemetry")
}

impl<S, W> Layer<S> for JsonLogLayer<W>
where
    S: Subscriber,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = FieldCollector::default();
        event.record(&mut fields);

        let mut repeated = None;
        if is_tracer_diagnostic(meta.target()) {
            match self.admit_tracer_diagnostic(&fields.message) {
                None => return,
                Some(0) => {}
                Some(held) => repeated = Some(held),
            }
            fields.trim_backtraces();
        }
        let ids = if self.injection.is_some() {
            let ids = SpanIds::current();
            (ids.trace_id != 0).then_some((ids.trace_id, ids.span_id))
        } else {
            None
        };

        // Written straight into a buffer (no intermediate JSON tree): this runs once per
        // request on the hot path.
        let mut out = Vec::with_capacity(512);
        let mut ser = serde_json::Serializer::new(&mut out);
        let written = (|| -> Result<(), serde_json::Error> {
            let mut map = ser.serialize_map(None)?;
            map.serialize_entry("timestamp", &now_rfc3339())?;
            map.serialize_entry("level", meta.level().as_str())?;
            map.serialize_entry("message", &fields.message)?;
            map.serialize_entry("logger", meta.target())?;
            if let Some(held) = repeated {
                map.serialize_entry("repeated", &held)?;
            }
            for (k, v) in &fields.values {
                map.serialize_entry(k, v)?;
            }
            if let (Some(tags), Some((trace_id, span_id))) = (&self.injection, ids) {
                map.serialize_entry("dd.trace_id", &trace_id.to_string())?;
                map.serialize_entry("dd.span_id", &span_id.to_string())?;
                map.serialize_entry("dd.service", &tags.service)?;
                map.serialize_entry("dd.env", &tags.env)?;
                map.serialize_entry("dd.version", &tags.version)?;
            }
            map.end()
        })();
        if written.is_err() {
            return;
        }
        out.push(b'\n');
        // A write error here (stdout closed) has nowhere better to go.
        let _ = self.writer.make_writer().write_all(&out);
    }
}

#[derive(Default)]
struct FieldCollector {
    message: String,
    values: Vec<(&'static str, Value)>,
}

impl FieldCollector {
    /// The tracer's errors carry anyhow backtraces when RUST_BACKTRACE is set; one line of
    /// diagnosis is what a log reader needs.
    fn trim_backtraces(&mut self) {
        for (_, v) in &mut self.values {
            if let Value::String(s) = v {
                if let Some(at) = s.find("\n\nStack backtrace:") {
                    s.truncate(at);
                }
            }
        }
    }
}

impl Visit for FieldCollector {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.values
                .push((field.name(), Value::String(value.to_owned())));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.values.push((field.name(), Value::from(value)));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.values.push((field.name(), Value::from(value)));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.values.push((field.name(), Value::from(value)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.values.push((field.name(), Value::from(value)));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.values
            .push((field.name(), Value::String(value.to_string())));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.values
                .push((field.name(), Value::String(format!("{value:?}"))));
        }
    }
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
        type Writer = Capture;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    fn lines(capture: &Capture) -> Vec<Value> {
        String::from_utf8(capture.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn lines_are_json_with_fields_and_no_ids_outside_a_trace() {
        let capture = Capture::default();
        let tags = LogTags {
            service: "s".into(),
            env: "e".into(),
            version: "v".into(),
        };
        let subscriber =
            tracing_subscriber::registry().with(JsonLogLayer::new(capture.clone(), Some(tags)));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(http.status_code = 200_u64, "request handled");
        });
        let got = lines(&capture);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["message"], "request handled");
        assert_eq!(got[0]["level"], "INFO");
        assert_eq!(got[0]["http.status_code"], 200);
        assert!(got[0].get("dd.trace_id").is_none());
    }

    #[test]
    fn tracer_diagnostics_are_folded() {
        let capture = Capture::default();
        let subscriber =
            tracing_subscriber::registry().with(JsonLogLayer::new(capture.clone(), None));
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..5 {
                tracing::error!(target: "datadog_opentelemetry::span_exporter", "export failed");
            }
            tracing::error!(target: "demo_service", "own error");
        });
        let got = lines(&capture);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[1]["message"], "own error");
    }
}
