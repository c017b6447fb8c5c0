//! A v0.4 trace payload, decoded a batch of traces at a time.
//!
//! A busy tracer sends a few megabytes every tenth of a second. Decoded whole, such a payload
//! is thousands of spans with their tag tables at once, beside the body and the traces the
//! store already keeps: most of agent-lite's peak memory. A batch is a run of traces of about
//! [`BATCH_BYTES`], copied behind an array header (Datadog's decoder only takes a whole
//! payload); the store keeps slices of those copies, so the body is freed when the payload is
//! done.

use std::ops::Range;

use bytes::Bytes;
use libdd_trace_utils::msgpack_decoder::v04;
use libdd_trace_utils::msgpack_encoder::v04::to_vec_from_v04;

use super::decode::{msgpack_error, DecodeError, Version};
use super::msgpack_bounds::array_elements;
use super::truncate::truncate;
use crate::apm::{behind_array_header, Span};

/// The msgpack decoded at once: big enough that the per-batch work is nothing, small enough
/// that its decoded spans are a small part of the memory.
pub const BATCH_BYTES: usize = 256 * 1024;

/// A v0.4 msgpack payload and the byte range of each of its traces, checked by the one walk
/// over its markers that also bounds what its lengths claim (see msgpack_bounds).
pub struct Payload {
    version: Version,
    body: Vec<u8>,
    traces: Vec<Range<usize>>,
}

/// The traces of one batch, decoded: `chunks[i]` was decoded from `msgpack[ranges[i]]`.
pub struct Batch<'b> {
    /// The index in the payload of the batch's first trace.
    pub first: usize,
    pub msgpack: &'b Bytes,
    pub ranges: &'b [Range<usize>],
    pub chunks: &'b [Vec<Span<'b>>],
}

impl Payload {
    /// `body` as v0.4 msgpack (see `decode::to_v04`); `version` names it in errors.
    pub fn new(version: Version, body: Vec<u8>) -> Result<Self, DecodeError> {
        let traces = array_elements(&body).map_err(|r| msgpack_error(version, r))?;
        Ok(Self {
            version,
            body,
            traces,
        })
    }

    pub fn traces(&self) -> usize {
        self.traces.len()
    }

    /// The msgpack of each trace, oldest first.
    pub fn trace_bytes(&self) -> impl DoubleEndedIterator<Item = usize> + '_ {
        self.traces.iter().map(Range::len)
    }

    /// Decodes every batch, cuts what is over the Agent's limits (truncate), and hands each
    /// batch to `f`; returns how many spans were cut. A batch whose spans were cut is encoded
    /// again, so that what `f` gets is always the msgpack its spans were decoded from.
    /// `Err` at the first batch that does not decode: `f` may have seen the batches before.
    pub fn for_each_batch(&self, mut f: impl FnMut(&Batch<'_>)) -> Result<usize, DecodeError> {
        let mut cut_spans = 0;
        let mut start = 0;
        while start < self.traces.len() {
            let from = self.traces[start].start;
            let end = start
                + 1
                + self.traces[start + 1..]
                    .iter()
                    .take_while(|r| r.end - from <= BATCH_BYTES)
                    .count();
            // Traces are adjacent in the body: a batch is one run of it.
            let to = self.traces[end - 1].end;
            let msgpack = Bytes::from(behind_array_header(end - start, &[&self.body[from..to]]));
            let shift = msgpack.len() - (to - from);
            let ranges: Vec<Range<usize>> = self.traces[start..end]
                .iter()
                .map(|r| r.start - from + shift..r.end - from + shift)
                .collect();
            let (mut chunks, _) =
                v04::from_slice(&msgpack).map_err(|e| msgpack_error(self.version, e))?;
            let cut = chunks
                .iter_mut()
                .flatten()
                .map(truncate)
                .filter(|&cut| cut)
                .count();
            if cut == 0 {
                f(&Batch {
                    first: start,
                    msgpack: &msgpack,
                    ranges: &ranges,
                    chunks: &chunks,
                });
            } else {
                cut_spans += cut;
                let again = Bytes::from(to_vec_from_v04(&chunks));
                drop(chunks);
                let ranges = array_elements(&again).map_err(|r| msgpack_error(self.version, r))?;
                let (chunks, _) =
                    v04::from_slice(&again).map_err(|e| msgpack_error(self.version, e))?;
                f(&Batch {
                    first: start,
                    msgpack: &again,
                    ranges: &ranges,
                    chunks: &chunks,
                });
            }
            start = end;
        }
        Ok(cut_spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apm::SpanView;

    fn payload(traces: u64, tag_bytes: usize) -> Vec<u8> {
        let big = "x".repeat(tag_bytes);
        let list: Vec<Vec<serde_json::Value>> = (1..=traces)
            .map(|id| {
                vec![
                    serde_json::json!({"service": "web", "name": "http.server.request",
                "resource": "GET /", "trace_id": id, "span_id": id, "parent_id": 0, "start": 1,
                "duration": 2, "error": 0, "meta": {"env": "dev", "big": big},
                "metrics": {"_top_level": 1.0}}),
                ]
            })
            .collect();
        rmp_serde::to_vec_named(&list).expect("msgpack")
    }

    #[test]
    fn batches_cover_every_trace_once_in_order_each_within_its_range() {
        // 3,000 traces of about 1 kB: a dozen batches.
        let p = Payload::new(Version::V04, payload(3_000, 900)).expect("sound");
        let (mut ids, mut batches) = (Vec::new(), 0);
        let cut = p
            .for_each_batch(|b| {
                batches += 1;
                assert!(b.msgpack.len() <= BATCH_BYTES + 5);
                assert_eq!(b.ranges.len(), b.chunks.len());
                for (range, chunk) in b.ranges.iter().zip(b.chunks) {
                    let text = chunk[0].service();
                    let at = text.as_ptr() as usize - b.msgpack.as_ptr() as usize;
                    assert!(range.contains(&at), "a span lies within its trace's range");
                    ids.push(chunk[0].trace_id64());
                }
            })
            .expect("decodes");
        assert_eq!(cut, 0);
        assert!(batches > 10, "{batches} batches");
        assert_eq!(ids, (1..=3_000).collect::<Vec<u64>>());
    }

    #[test]
    fn a_batch_with_spans_over_the_limits_is_cut_and_encoded_again() {
        let p = Payload::new(Version::V04, payload(3, 30_000)).expect("sound");
        let mut seen = 0;
        let cut = p
            .for_each_batch(|b| {
                for (range, chunk) in b.ranges.iter().zip(b.chunks) {
                    let big = chunk[0].meta("big").expect("tag");
                    assert!(big.ends_with("..."), "{}", big.len());
                    let at = big.as_ptr() as usize - b.msgpack.as_ptr() as usize;
                    assert!(range.contains(&at), "spans come from the new msgpack");
                    seen += 1;
                }
            })
            .expect("decodes");
        assert_eq!((cut, seen), (3, 3));
    }

    #[test]
    fn a_payload_that_is_not_an_array_of_traces_is_refused() {
        for body in [&b"\x81\xa1a\x01"[..], b"\x91\x01", b"\x92\x90"] {
            let refused =
                Payload::new(Version::V04, body.to_vec()).and_then(|p| p.for_each_batch(|_| {}));
            assert!(refused.is_err(), "{body:?}");
        }
    }
}
