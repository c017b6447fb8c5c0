//! What search reads of a kept trace, taken once at intake from its root span. The trace store
//! keeps traces as the msgpack the tracer sent, and search must not decode thousands of them
//! to filter a page; a summary's texts are byte ranges of that msgpack ([`TextRef`]), so taking
//! one allocates nothing.

use super::{Span, SpanView};
use rustc_hash::FxHashSet;

/// A text of a trace's msgpack, by its place in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextRef {
    start: u32,
    len: u32,
}

impl TextRef {
    /// Where `text` lies in `within`, which it was decoded from. Empty for a text that is not
    /// part of it (the "" Datadog's decoder gives a field the span does not have).
    pub fn of(text: &str, within: &[u8]) -> TextRef {
        let base = within.as_ptr() as usize;
        let at = text.as_ptr() as usize;
        let inside = at >= base && at + text.len() <= base + within.len();
        match (
            u32::try_from(at.wrapping_sub(base)),
            u32::try_from(text.len()),
        ) {
            (Ok(start), Ok(len)) if inside && len > 0 => TextRef { start, len },
            _ => TextRef::default(),
        }
    }

    /// The text in `within`, the msgpack it was taken from (UTF-8, as the decoder checked).
    pub fn get<'a>(&self, within: &'a [u8]) -> &'a str {
        let range = self.start as usize..(self.start as usize + self.len as usize);
        within
            .get(range)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

/// A chunk of a trace as search sees it: its root span's fields, and what its spans add up to.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub trace_id: u64,
    pub root_span_id: u64,
    /// The root has no parent at all, not only none in this chunk: a chunk holding the trace's
    /// true root wins over one whose spans hang from another chunk.
    pub root_is_top: bool,
    pub start: i64,
    pub duration_ns: i64,
    pub spans: u32,
    pub error: bool,
    pub service: TextRef,
    pub resource: TextRef,
    pub env: Option<TextRef>,
    pub status: Option<TextRef>,
}

impl Summary {
    /// The summary of `chunk`, whose spans were decoded from `msgpack`; `None` for no span.
    pub fn of(chunk: &[Span<'_>], msgpack: &[u8]) -> Option<Summary> {
        let root = root_of(chunk)?;
        let text = |s: &str| TextRef::of(s, msgpack);
        Some(Summary {
            trace_id: root.trace_id64(),
            root_span_id: root.span_id,
            root_is_top: root.parent_id == 0,
            start: root.start,
            duration_ns: root.duration,
            spans: u32::try_from(chunk.len()).unwrap_or(u32::MAX),
            error: chunk.iter().any(SpanView::is_error),
            service: text(root.service()),
            resource: text(root.resource()),
            env: root.meta("env").map(text),
            status: root.status_code().map(text),
        })
    }

    /// The root span's duration.
    pub fn duration_ms(&self) -> f64 {
        self.duration_ns as f64 / 1e6
    }

    /// Whether `other`'s root, from another chunk of the same trace, is the trace's root
    /// rather than this one's: a span without parent first, then the earliest.
    pub fn yields_root_to(&self, other: &Summary) -> bool {
        (other.root_is_top, std::cmp::Reverse(other.start))
            > (self.root_is_top, std::cmp::Reverse(self.start))
    }
}

/// The root: the span without a parent in the chunk (the earliest, if several), else the first.
fn root_of<'c, 'a>(chunk: &'c [Span<'a>]) -> Option<&'c Span<'a>> {
    let earliest = |spans: &mut dyn Iterator<Item = &'c Span<'a>>| spans.min_by_key(|s| s.start);
    // Tracers send the root with parent 0: the common case needs no set of ids.
    if let Some(root) = earliest(&mut chunk.iter().filter(|s| s.parent_id == 0)) {
        return Some(root);
    }
    let ids: FxHashSet<u64> = chunk.iter().map(|s| s.span_id).collect();
    earliest(&mut chunk.iter().filter(|s| !ids.contains(&s.parent_id))).or_else(|| chunk.first())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_ref_finds_its_text_again_and_outsiders_are_empty() {
        let msgpack = b"xxservice-nameyy".to_vec();
        let text = std::str::from_utf8(&msgpack[2..14]).expect("utf-8");
        let r = TextRef::of(text, &msgpack);
        assert_eq!(r.get(&msgpack), "service-name");
        assert_eq!(TextRef::of("elsewhere", &msgpack).get(&msgpack), "");
        assert_eq!(TextRef::of("", &msgpack), TextRef::default());
    }
}
