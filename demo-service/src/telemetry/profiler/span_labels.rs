//! Which span each thread runs under, for the sampler: a tracing layer that, as a span is
//! entered, writes its Datadog span id and its local root span id (the outermost span of this
//! process, the server span) into two thread-locals the signal handler reads. That is what
//! Datadog's `span id` / `local root span id` labels are, and what a trace's code hotspots
//! select samples by.

use std::cell::Cell;

use opentelemetry::trace::TraceContextExt as _;
use tracing::span;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

thread_local! {
    // Const-initialised, no destructor: readable from a signal handler (no lazy init, no
    // allocation), which is where the sampler reads them.
    static SPAN_ID: Cell<u64> = const { Cell::new(0) };
    static LOCAL_ROOT_SPAN_ID: Cell<u64> = const { Cell::new(0) };
}

/// The thread's current `(span id, local root span id)`; zeros outside any span.
pub fn current() -> (u64, u64) {
    (
        SPAN_ID.try_with(Cell::get).unwrap_or(0),
        LOCAL_ROOT_SPAN_ID.try_with(Cell::get).unwrap_or(0),
    )
}

fn set((span, root): (u64, u64)) {
    let _ = SPAN_ID.try_with(|c| c.set(span));
    let _ = LOCAL_ROOT_SPAN_ID.try_with(|c| c.set(root));
}

/// A span's ids, worked out on its first entry and kept in its extensions.
#[derive(Clone, Copy)]
struct Ids((u64, u64));

pub struct SpanLabels;

/// The Datadog span id of a tracing span: the OpenTelemetry span id its bridge gave it, read
/// as Datadog's tracer reads it (the 8 bytes, big-endian).
fn datadog_span_id(id: &span::Id) -> u64 {
    tracing::dispatcher::get_default(|dispatch| {
        tracing_opentelemetry::get_otel_context(id, dispatch)
            .map(|cx| u64::from_be_bytes(cx.span().span_context().span_id().to_bytes()))
            .unwrap_or(0)
    })
}

impl<S> Layer<S> for SpanLabels
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let known = span.extensions().get::<Ids>().copied();
        let ids = match known {
            Some(Ids(ids)) => ids,
            None => {
                let own = datadog_span_id(id);
                let root = span
                    .scope()
                    .from_root()
                    .next()
                    .map(|r| r.id())
                    .filter(|r| r != id)
                    .map_or(own, |r| datadog_span_id(&r));
                span.extensions_mut().insert(Ids((own, root)));
                (own, root)
            }
        };
        set(ids);
    }

    fn on_exit(&self, id: &span::Id, ctx: Context<'_, S>) {
        // Back to the enclosing span's ids (spans nest on a thread), or none.
        let parent = ctx
            .span(id)
            .and_then(|s| s.parent())
            .and_then(|p| p.extensions().get::<Ids>().copied());
        set(parent.map_or((0, 0), |Ids(ids)| ids));
    }
}
