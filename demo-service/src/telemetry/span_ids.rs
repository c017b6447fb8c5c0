//! Which span each thread runs under, in Datadog's terms: a tracing layer that, as a span is
//! entered, writes its trace id (low 64 bits), its span id and its local root span id (the
//! outermost span of this process, the server span) into thread-locals, and puts back the
//! enclosing span's as it is left. Two readers: the JSON log lines (`dd.trace_id`,
//! `dd.span_id`) and the profiler's signal handler (`span id` / `local root span id`, what a
//! trace's code hotspots select samples by).
//!
//! tracing-opentelemetry can instead make its OpenTelemetry context current on every entry
//! (its "context activation"), which the log layer used to read while the profiler kept ids
//! of its own: two mechanisms for one fact, both paid on every poll of every instrumented
//! future. Here the ids are worked out once a span, on its first entry (which is also where
//! the tracer starts the span), and each entry after that is three stores.

use std::cell::Cell;

use opentelemetry::trace::TraceContextExt as _;
use tracing::span;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

thread_local! {
    // Const-initialised, no destructor: readable from a signal handler (no lazy init, no
    // allocation), which is where the profiler's sampler reads them.
    static TRACE_ID: Cell<u64> = const { Cell::new(0) };
    static SPAN_ID: Cell<u64> = const { Cell::new(0) };
    static LOCAL_ROOT_SPAN_ID: Cell<u64> = const { Cell::new(0) };
}

/// A span's Datadog ids; all zero outside any span.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpanIds {
    /// The low 64 bits of the 128-bit trace id: what Datadog's log correlation matches.
    pub trace_id: u64,
    pub span_id: u64,
    pub local_root_span_id: u64,
}

impl SpanIds {
    /// The ids of the span the calling thread is in (zeros outside any).
    pub fn current() -> Self {
        Self {
            trace_id: TRACE_ID.try_with(Cell::get).unwrap_or(0),
            span_id: SPAN_ID.try_with(Cell::get).unwrap_or(0),
            local_root_span_id: LOCAL_ROOT_SPAN_ID.try_with(Cell::get).unwrap_or(0),
        }
    }

    fn make_current(self) {
        let _ = TRACE_ID.try_with(|c| c.set(self.trace_id));
        let _ = SPAN_ID.try_with(|c| c.set(self.span_id));
        let _ = LOCAL_ROOT_SPAN_ID.try_with(|c| c.set(self.local_root_span_id));
    }
}

/// The (trace id low 64 bits, span id) of a tracing span, as Datadog's tracer writes them:
/// the OpenTelemetry ids its bridge gave the span, read as big-endian integers.
fn otel_ids(id: &span::Id) -> (u64, u64) {
    tracing::dispatcher::get_default(|dispatch| {
        tracing_opentelemetry::get_otel_context(id, dispatch)
            .map(|cx| {
                let span = cx.span();
                let sc = span.span_context();
                let trace = u128::from_be_bytes(sc.trace_id().to_bytes());
                (trace as u64, u64::from_be_bytes(sc.span_id().to_bytes()))
            })
            .unwrap_or((0, 0))
    })
}

/// The layer: filter it to the spans the tracer records (`becomes_a_span`).
pub struct SpanIdsLayer;

impl<S> Layer<S> for SpanIdsLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let known = span.extensions().get::<SpanIds>().copied();
        let ids = match known {
            Some(ids) => ids,
            None => {
                let (trace_id, span_id) = otel_ids(id);
                // The root was entered before any span inside it: its ids are known.
                let local_root_span_id = span
                    .scope()
                    .from_root()
                    .next()
                    .filter(|root| root.id() != *id)
                    .map_or(span_id, |root| {
                        let known = root.extensions().get::<SpanIds>().map(|r| r.span_id);
                        known.unwrap_or_else(|| otel_ids(&root.id()).1)
                    });
                let ids = SpanIds {
                    trace_id,
                    span_id,
                    local_root_span_id,
                };
                span.extensions_mut().insert(ids);
                ids
            }
        };
        ids.make_current();
    }

    fn on_exit(&self, id: &span::Id, ctx: Context<'_, S>) {
        // Back to the enclosing span's ids (spans nest on a thread), or none.
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .and_then(|p| p.extensions().get::<SpanIds>().copied());
        parent.unwrap_or_default().make_current();
    }
}
