//! A pprof attachment: decompressed by its magic bytes, as Datadog's intake detects the codec
//! (libdatadog sends zstd, older exporters and Go's runtime gzip; plain protobuf is taken
//! too), then decoded with the pprof types of Datadog's own `libdd-profiling-protobuf`
//! (prost messages, its `prost_impls`): the crate libdatadog's profiler encodes with, and the
//! prost version agent-lite already decodes the trace protobufs with.

use std::io::Read as _;

pub use libdd_profiling_protobuf::prost_impls::Profile;
use prost::Message as _;

/// The most bytes an attachment may decompress to: 16 times the largest upload would be a
/// decompression bomb, not a profile (Python's are a few MiB at most decompressed).
pub const MAX_DECOMPRESSED: usize = 128 << 20;

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why an attachment is not a profile.
#[derive(Debug)]
pub enum PprofError {
    Compression(String),
    Protobuf(String),
}

/// The attachment's protobuf bytes: decompressed when they start with zstd's or gzip's magic.
pub fn decompress(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, PprofError> {
    let limited = |reader: &mut dyn std::io::Read, codec: &str| {
        let mut out = Vec::new();
        reader
            .take(MAX_DECOMPRESSED as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| PprofError::Compression(format!("{codec}: {e}")))?;
        if out.len() > MAX_DECOMPRESSED {
            return Err(PprofError::Compression(format!(
                "{codec}: decompresses to more than {MAX_DECOMPRESSED} bytes"
            )));
        }
        Ok(std::borrow::Cow::Owned(out))
    };
    if bytes.starts_with(&ZSTD_MAGIC) {
        let mut decoder = zstd::stream::read::Decoder::new(bytes)
            .map_err(|e| PprofError::Compression(format!("zstd: {e}")))?;
        limited(&mut decoder, "zstd")
    } else if bytes.starts_with(&GZIP_MAGIC) {
        limited(&mut flate2::read::MultiGzDecoder::new(bytes), "gzip")
    } else {
        Ok(std::borrow::Cow::Borrowed(bytes))
    }
}

/// The attachment decoded: decompressed, then a pprof `Profile`, with its string indexes
/// checked (every index it holds names a string), so that readers never index out of range.
pub fn decode(bytes: &[u8]) -> Result<Profile, PprofError> {
    let raw = decompress(bytes)?;
    let profile = Profile::decode(&*raw).map_err(|e| PprofError::Protobuf(e.to_string()))?;
    check_strings(&profile)?;
    Ok(profile)
}

fn check_strings(p: &Profile) -> Result<(), PprofError> {
    let n = p.string_table.len() as i64;
    let bad = |what: &str, i: i64| {
        PprofError::Protobuf(format!(
            "{what} names string {i}, the table has {n} strings"
        ))
    };
    let check = |what: &str, i: i64| {
        if (0..n.max(1)).contains(&i) {
            Ok(())
        } else {
            Err(bad(what, i))
        }
    };
    for t in p.sample_types.iter().chain(p.period_type.iter()) {
        check("a sample type", t.r#type)?;
        check("a sample unit", t.unit)?;
    }
    for f in &p.functions {
        check("a function", f.name)?;
        check("a function", f.system_name)?;
        check("a function's file", f.filename)?;
    }
    for s in &p.samples {
        if s.values.len() != p.sample_types.len() {
            return Err(PprofError::Protobuf(format!(
                "a sample has {} values for {} sample types",
                s.values.len(),
                p.sample_types.len()
            )));
        }
        for l in &s.labels {
            check("a label key", l.key)?;
            check("a label value", l.str)?;
        }
    }
    Ok(())
}

/// The string at `i` ("" when out of range or the table is empty).
pub fn string(p: &Profile, i: i64) -> &str {
    usize::try_from(i)
        .ok()
        .and_then(|i| p.string_table.get(i))
        .map_or("", String::as_str)
}

/// Whether each sample type has a sample of its own: profilers declare types they did not
/// measure (Python's lists GPU and lock types with no sample), which the type list leaves out.
pub fn measured(p: &Profile) -> Vec<bool> {
    (0..p.sample_types.len())
        .map(|i| {
            p.samples
                .iter()
                .any(|s| s.values.get(i).is_some_and(|v| *v != 0))
        })
        .collect()
}

/// The profile's sample types, as `(type, unit)`: `("cpu-time", "nanoseconds")`, ...
pub fn sample_types(p: &Profile) -> Vec<(String, String)> {
    p.sample_types
        .iter()
        .map(|t| (string(p, t.r#type).to_owned(), string(p, t.unit).to_owned()))
        .collect()
}

/// The profile type a sample type belongs to, in Datadog's names (the type picker of its
/// profile view): `cpu`, `wall`, `alloc`, `heap`, `lock`, `exception`; another type keeps its
/// own name.
pub fn profile_type(sample_type: &str) -> &str {
    match sample_type {
        "cpu-time" | "cpu-samples" | "cpu" => "cpu",
        "wall-time" | "wall-samples" | "wall" | "sample" => "wall",
        "alloc-samples" | "alloc-space" | "alloc-size" | "alloc_objects" | "alloc_space" => "alloc",
        "heap-space" | "heap-live-size" | "heap-live-samples" | "inuse_space" | "inuse_objects" => {
            "heap"
        }
        "exception-samples" => "exception",
        t if t.starts_with("lock-") => "lock",
        t if t.starts_with("gpu-") => "gpu",
        t => t,
    }
}

/// Which value of each sample measures `profile_type`: a time or size over a count
/// (`cpu-time` over `cpu-samples`), the first of its type otherwise.
pub fn value_index(types: &[(String, String)], profile_type_wanted: &str) -> Option<usize> {
    let of_type = || {
        types
            .iter()
            .enumerate()
            .filter(|(_, (t, _))| profile_type(t) == profile_type_wanted)
    };
    of_type()
        .find(|(_, (_, unit))| unit != "count")
        .or_else(|| of_type().next())
        .map(|(i, _)| i)
}
