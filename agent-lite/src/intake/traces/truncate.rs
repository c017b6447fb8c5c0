//! The Agent's truncator (datadog-agent pkg/trace/agent/truncator.go), applied as the Agent
//! applies it, on intake, before stats and the trace store: a resource over 5,000 bytes, a tag
//! or metric key over 200 and a tag value over 25,000 are cut at a character boundary and end
//! with "...". Without it one tracer sending 100 KB stacks on its error spans filled the trace
//! store, and every other trace was evicted.

use std::borrow::Cow;

use crate::apm::Span;

pub const MAX_RESOURCE_LEN: usize = 5_000;
pub const MAX_META_KEY_LEN: usize = 200;
pub const MAX_META_VALUE_LEN: usize = 25_000;
pub const MAX_METRIC_KEY_LEN: usize = 200;

/// Cuts what is over the Agent's limits; true when anything was cut. Texts within the limits
/// (nearly all) stay slices of the payload's buffer.
pub fn truncate(span: &mut Span<'_>) -> bool {
    let mut cut = false;
    if let Some(r) = shortened(&span.resource, MAX_RESOURCE_LEN) {
        span.resource = r;
        cut = true;
    }
    // Keys and values are changed in place: the tag tables keep their order and capacity.
    for (key, value) in span.meta.iter_mut() {
        if let Some(k) = shortened(key, MAX_META_KEY_LEN) {
            *key = k;
            cut = true;
        }
        if let Some(v) = shortened(value, MAX_META_VALUE_LEN) {
            *value = v;
            cut = true;
        }
    }
    for (key, _) in span.metrics.iter_mut() {
        if let Some(k) = shortened(key, MAX_METRIC_KEY_LEN) {
            *key = k;
            cut = true;
        }
    }
    cut
}

/// `text` cut to at most `limit` bytes at a character boundary, plus "...", when over it.
fn shortened(text: &str, limit: usize) -> Option<Cow<'static, str>> {
    if text.len() <= limit {
        return None;
    }
    Some(Cow::Owned(format!(
        "{}...",
        &text[..text.floor_char_boundary(limit)]
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apm::test_span;
    use crate::apm::SpanView;

    #[test]
    fn texts_over_the_agents_limits_are_cut_and_marked() {
        let stack = "é".repeat(20_000); // 40,000 bytes, two per character
        let long_key = "k".repeat(300);
        let mut span = test_span::span(1, 1, 0, "web", "op", 1, 5, &[("error.stack", &stack)]);
        span.meta.insert(long_key.clone().into(), "v".into());
        span.metrics.insert(long_key.clone().into(), 1.0);
        span.resource = "r".repeat(6_000).into();
        assert!(truncate(&mut span));

        let cut = span.meta("error.stack").unwrap_or_default();
        assert!(
            cut.ends_with("...") && cut.len() <= MAX_META_VALUE_LEN + 3,
            "{}",
            cut.len()
        );
        assert_eq!(
            cut.len(),
            MAX_META_VALUE_LEN + 3,
            "a boundary at 25,000 bytes exactly"
        );
        assert_eq!(span.resource().len(), MAX_RESOURCE_LEN + 3);
        let key = format!("{}...", &long_key[..MAX_META_KEY_LEN]);
        assert_eq!(span.meta(&key), Some("v"));
        assert_eq!(span.metric(&key), Some(1.0));
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        let text = format!("a{}", "é".repeat(10)); // 21 bytes
        let cut = shortened(&text, 4).expect("over the limit");
        assert_eq!(cut, "aé...");
    }

    #[test]
    fn spans_within_the_limits_are_left_alone() {
        let mut span = test_span::span(1, 1, 0, "web", "op", 0, 5, &[("http.url", "/x")]);
        assert!(!truncate(&mut span));
        assert_eq!(span.meta("http.url"), Some("/x"));
    }
}
