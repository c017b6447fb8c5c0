//! What a msgpack payload's lengths may claim, checked before Datadog's decoder reads it.
//!
//! libdd-trace-utils (16) reserves memory for as many traces, spans and tags as an array or
//! map header announces, before reading them: a payload of a few bytes announcing 2^32 traces
//! makes it ask for hundreds of gigabytes, and an allocation that fails aborts the whole
//! process, whatever the payload limit. Found by fuzzing (`fuzz/`, the `traces_v0*` targets).
//!
//! Every msgpack value takes at least one byte, so a payload is refused as soon as the values
//! it still owes outnumber the bytes left. One pass over the markers (strings and binaries
//! skipped by their length), no allocation and no recursion: the count of values still owed is
//! the whole state.

use std::ops::Range;

/// `Err` with the reason when `body` holds no complete msgpack value, or when one of its
/// arrays, maps, strings or binaries claims more than the bytes after it.
pub fn check(body: &[u8]) -> Result<(), &'static str> {
    value_end(body, 0).map(|_| ())
}

/// The byte range of each element of the array `body` starts with, each checked as [`check`]
/// checks a payload: a trace payload's traces, which the intake decodes a batch at a time and
/// the trace store keeps as they came.
pub fn array_elements(body: &[u8]) -> Result<Vec<Range<usize>>, &'static str> {
    let mut pos = 1usize;
    let count = match *body.first().ok_or("the payload is empty")? {
        marker @ 0x90..=0x9f => u64::from(marker & 0x0f),
        0xdc => length(body, &mut pos, 2)?,
        0xdd => length(body, &mut pos, 4)?,
        _ => return Err("the payload is not an array"),
    };
    if count > (body.len() - pos) as u64 {
        return Err("an array or map claims more elements than the payload has bytes");
    }
    let mut elements = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let end = value_end(body, pos)?;
        elements.push(pos..end);
        pos = end;
    }
    Ok(elements)
}

/// Where the value starting at `start` ends.
fn value_end(body: &[u8], start: usize) -> Result<usize, &'static str> {
    let mut pos = start;
    let mut owed: u64 = 1;
    while owed > 0 {
        let marker = *body
            .get(pos)
            .ok_or("the payload ends before its last value")?;
        pos += 1;
        // (bytes of payload after the header, values nested in it)
        let (skip, nested): (u64, u64) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0x80..=0x8f => (0, 2 * u64::from(marker & 0x0f)),
            0x90..=0x9f => (0, u64::from(marker & 0x0f)),
            0xa0..=0xbf => (u64::from(marker & 0x1f), 0),
            0xc1 => return Err("0xc1 is not a msgpack marker"),
            // bin, str
            0xc4 | 0xd9 => (length(body, &mut pos, 1)?, 0),
            0xc5 | 0xda => (length(body, &mut pos, 2)?, 0),
            0xc6 | 0xdb => (length(body, &mut pos, 4)?, 0),
            // ext: the length, then a type byte
            0xc7 => (length(body, &mut pos, 1)? + 1, 0),
            0xc8 => (length(body, &mut pos, 2)? + 1, 0),
            0xc9 => (length(body, &mut pos, 4)? + 1, 0),
            // float, uint, int
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 => (2, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            // fixext: a type byte and 1 to 16 bytes
            0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xd6 => (5, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xdc => (0, length(body, &mut pos, 2)?),
            0xdd => (0, length(body, &mut pos, 4)?),
            0xde => (0, 2 * length(body, &mut pos, 2)?),
            0xdf => (0, 2 * length(body, &mut pos, 4)?),
        };
        let left = (body.len() - pos) as u64;
        if skip > left {
            return Err("a string or binary runs past the end of the payload");
        }
        pos += skip as usize;
        owed = owed - 1 + nested;
        if owed > left - skip {
            return Err("an array or map claims more elements than the payload has bytes");
        }
    }
    Ok(pos)
}

/// A big-endian length of `width` bytes at `pos`, which moves past it.
fn length(body: &[u8], pos: &mut usize, width: usize) -> Result<u64, &'static str> {
    let bytes = body
        .get(*pos..*pos + width)
        .ok_or("the payload ends inside a length")?;
    *pos += width;
    Ok(bytes.iter().fold(0, |n, b| n << 8 | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::check;
    use crate::intake::traces::decode::{to_v04, Version};
    use crate::intake::traces::payload::Payload;

    #[test]
    fn payloads_as_tracers_send_them_pass() {
        // [[{"service": "web", "span_id": 7, "duration": 1.5e9 as u64, "meta": {"a": "b"}}]]
        let span = b"\x91\x91\x84\xa7service\xa3web\xa7span_id\x07\xa8duration\xce\x59\x68\x2f\x00\xa4meta\x81\xa1a\xa1b";
        assert_eq!(check(span), Ok(()));
        assert_eq!(check(b"\x90"), Ok(()), "an empty flush");
        // v0.5: [string table, traces]
        assert_eq!(check(b"\x92\x91\xa0\x90"), Ok(()));
        assert_eq!(check(b"\xcb\x3f\xf8\0\0\0\0\0\0"), Ok(()), "a float64");
    }

    #[test]
    fn lengths_past_the_end_are_refused() {
        assert!(check(b"").is_err());
        assert!(check(b"\x92\x01").is_err(), "an element short");
        assert!(check(b"\xa5abc").is_err(), "a string cut");
        assert!(check(b"\xdb\xff\xff\xff\xff").is_err(), "a 4 GB string");
        assert!(
            check(b"\xdf\x00\x00\x00\x02\x01\x02\x03").is_err(),
            "a map short of a value"
        );
        assert!(check(b"\xc1").is_err());
    }

    /// The inputs the fuzz targets found, each a few bytes announcing billions of elements:
    /// before the check, decoding them aborted the process (memory allocation failed).
    #[test]
    fn fuzzed_payloads_announcing_billions_of_elements_are_refused_not_allocated() {
        let v04 = b"\xdd\x5b\x5b\x7b\x22service";
        let v03 = b"\x9a\xdd\x5b\x5b\x7b\x22service";
        let v05 = b"\x92\xdd\x92\x00\x92\x00\xd7\x00\x00\x00\x00\x00\x00\x26";
        for (version, body) in [
            (Version::V04, &v04[..]),
            (Version::V03, &v03[..]),
            (Version::V05, &v05[..]),
        ] {
            let err = to_v04(version, Some("application/msgpack"), body.to_vec())
                .and_then(|v04| Payload::new(version, v04))
                .err()
                .expect("refused");
            assert_eq!(err.reason(), "invalid_msgpack");
            assert!(err.to_string().contains("claims more elements"), "{err}");
        }
    }
}
