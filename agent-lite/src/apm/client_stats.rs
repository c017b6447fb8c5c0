//! Client-computed stats (`/v0.6/stats`): the msgpack `ClientStatsPayload` that tracers send
//! when the Agent advertises the endpoint, decoded with Datadog's own protobuf types and
//! DDSketch, and turned into the same aggregates agent-lite computes from spans.
//!
//! A tracer that computes stats marks its trace payloads `Datadog-Client-Computed-Stats`;
//! those traces are then kept for search but not counted again, as the Agent does.

use libdd_ddsketch::pb::DdSketch as SketchProto;
use libdd_ddsketch::DDSketch as WireSketch;
use libdd_trace_protobuf::pb::{ClientGroupedStats, ClientStatsPayload};
use prost::Message as _;

use super::stats::{Aggregate, Key};
use crate::store::bucket_of;

#[derive(Debug, thiserror::Error)]
pub enum ClientStatsError {
    #[error("invalid msgpack stats payload: {0}")]
    Msgpack(String),
    #[error("invalid DDSketch in the stats of {service} {resource}: {reason}")]
    Sketch {
        service: String,
        resource: String,
        reason: &'static str,
    },
}

impl ClientStatsError {
    /// The reason counted in `datadog.agent_lite.stats.rejected`.
    pub fn reason(&self) -> &'static str {
        match self {
            ClientStatsError::Msgpack(_) => "invalid_msgpack",
            ClientStatsError::Sketch { .. } => "invalid_sketch",
        }
    }
}

/// Decodes a payload into aggregates; nothing is returned unless every group decodes, so a
/// bad payload is refused whole rather than counted half-way.
pub fn decode(body: &[u8]) -> Result<Vec<(Key, Aggregate)>, ClientStatsError> {
    let payload: ClientStatsPayload =
        rmp_serde::from_slice(body).map_err(|e| ClientStatsError::Msgpack(e.to_string()))?;
    let env = if payload.env.is_empty() {
        "none".to_owned()
    } else {
        payload.env.clone()
    };
    let mut out = Vec::new();
    for bucket in &payload.stats {
        let end_secs = (bucket.start.saturating_add(bucket.duration) / 1_000_000_000) as i64;
        for group in &bucket.stats {
            let key = Key {
                service: if group.service.is_empty() {
                    payload.service.clone()
                } else {
                    group.service.clone()
                },
                env: env.clone(),
                version: payload.version.clone(),
                name: group.name.clone(),
                resource: group.resource.clone(),
                status: (group.http_status_code != 0).then(|| group.http_status_code.to_string()),
                // The bucket's last second, so that the points land where the spans ended.
                bucket: bucket_of(end_secs.saturating_sub(1)),
            };
            out.push((key, aggregate(group)?));
        }
    }
    Ok(out)
}

/// The most spans one bin of a tracer's sketch stands for: 2^32. With at most 2^16 bins a
/// summary (see `decode_sketch`), the counts of a group stay far from u64::MAX.
const MAX_BIN_WEIGHT: f64 = 4_294_967_296.0;

fn aggregate(group: &ClientGroupedStats) -> Result<Aggregate, ClientStatsError> {
    let mut agg = Aggregate {
        hits: group.hits as f64,
        errors: group.errors as f64,
        seconds: group.duration as f64 / 1e9,
        ..Aggregate::default()
    };
    for summary in [&group.ok_summary, &group.error_summary] {
        if summary.is_empty() {
            continue;
        }
        let invalid = |reason| ClientStatsError::Sketch {
            service: group.service.clone(),
            resource: group.resource.clone(),
            reason,
        };
        let wire = decode_sketch(summary).map_err(invalid)?;
        for (nanos, weight) in wire.ordered_bins() {
            if weight > 0.0 {
                // The payload's own index mapping can put a bin at infinity, where our
                // sketch's key arithmetic overflows (found by fuzzing).
                if !nanos.is_finite() {
                    return Err(invalid("a bin's value is not a finite number"));
                }
                // Capped: the sketch adds counts in a u64, which weights near u64::MAX from
                // a payload would overflow (found by fuzzing). No tracer puts billions of
                // spans in one bin of a 10 s bucket.
                let count = weight.round().clamp(1.0, MAX_BIN_WEIGHT) as u64;
                agg.sketch.add_with_count(nanos / 1e9, count);
            }
        }
    }
    Ok(agg)
}

/// libdd-ddsketch reads only contiguous bins; tracers such as Java's send sparse ones, which
/// are laid out contiguously first.
fn decode_sketch(bytes: &[u8]) -> Result<WireSketch, &'static str> {
    let mut proto = SketchProto::decode(bytes).map_err(|_| "not a DDSketch protobuf")?;
    if let Some(store) = proto.positive_values.as_mut() {
        if !store.bin_counts.is_empty() {
            let first = store.contiguous_bin_index_offset;
            let last = first + store.contiguous_bin_counts.len() as i32 - 1;
            let lo = store.bin_counts.keys().copied().min().unwrap_or(first);
            let hi = store.bin_counts.keys().copied().max().unwrap_or(last);
            let (lo, hi) = if store.contiguous_bin_counts.is_empty() {
                (lo, hi)
            } else {
                (lo.min(first), hi.max(last))
            };
            if i64::from(hi) - i64::from(lo) > 1 << 16 {
                return Err("bins spread too wide");
            }
            let mut bins = vec![0.0; (hi - lo + 1) as usize];
            for (i, c) in store.contiguous_bin_counts.iter().enumerate() {
                bins[(first - lo) as usize + i] += c;
            }
            for (i, c) in &store.bin_counts {
                bins[(i - lo) as usize] += c;
            }
            store.contiguous_bin_counts = bins;
            store.contiguous_bin_index_offset = lo;
            store.bin_counts.clear();
        }
    }
    WireSketch::from_pb(proto).ok_or("no index mapping")
}

#[cfg(test)]
mod tests {
    use super::*;
    use libdd_trace_protobuf::pb::ClientStatsBucket;

    fn payload(summary: Vec<u8>) -> Vec<u8> {
        let mut ok = WireSketch::default();
        for ms in [10.0, 20.0, 30.0, 40.0, 500.0] {
            ok.add(ms * 1e6).expect("positive");
        }
        let group = ClientGroupedStats {
            service: "web".into(),
            name: "http.server.request".into(),
            resource: "GET /slow".into(),
            http_status_code: 200,
            hits: 5,
            errors: 1,
            duration: 600_000_000,
            ok_summary: ok.encode_to_vec(),
            error_summary: summary,
            top_level_hits: 5,
            ..Default::default()
        };
        let p = ClientStatsPayload {
            env: "dev".into(),
            version: "1.2".into(),
            service: "web".into(),
            stats: vec![ClientStatsBucket {
                start: 1_000_000_000_000_000_000,
                duration: 10_000_000_000,
                stats: vec![group],
                agent_time_shift: 0,
            }],
            ..Default::default()
        };
        rmp_serde::to_vec_named(&p).expect("encodes")
    }

    #[test]
    fn a_tracers_stats_become_trace_metrics() {
        let aggs = decode(&payload(Vec::new())).expect("decodes");
        assert_eq!(aggs.len(), 1);
        let (key, agg) = &aggs[0];
        assert_eq!(key.resource, "GET /slow");
        assert_eq!(key.env, "dev");
        assert_eq!(key.status.as_deref(), Some("200"));
        assert_eq!(key.bucket, 1_000_000_000);
        assert_eq!((agg.hits, agg.errors), (5.0, 1.0));
        assert!((agg.seconds - 0.6).abs() < 1e-9);
        let p50 = agg.sketch.quantile(0.5).ok().flatten().expect("p50");
        assert!((p50 - 0.030).abs() < 0.030 * 0.02, "p50 {p50}");
        let max = agg.sketch.max().expect("max");
        assert!((max - 0.5).abs() < 0.5 * 0.02, "max {max}");
    }

    #[test]
    fn sparse_bins_count_too() {
        let mut error = WireSketch::default();
        error.add(2e9).expect("positive");
        let mut proto = error.into_pb();
        if let Some(store) = proto.positive_values.as_mut() {
            let offset = store.contiguous_bin_index_offset;
            for (i, c) in store.contiguous_bin_counts.drain(..).enumerate() {
                if c > 0.0 {
                    store.bin_counts.insert(offset + i as i32, c);
                }
            }
        }
        let aggs = decode(&payload(proto.encode_to_vec())).expect("decodes");
        let max = aggs[0].1.sketch.max().expect("max");
        assert!((max - 2.0).abs() < 0.04, "max {max}");
        assert_eq!(aggs[0].1.sketch.count(), 6);
    }

    /// Found by fuzzing: bins weighing about u64::MAX made the sketch's count overflow.
    #[test]
    fn huge_bin_weights_are_capped_not_overflowed() {
        let mut error = WireSketch::default();
        error.add_with_count(1e6, 1.8e19).expect("positive");
        error.add_with_count(3e9, 1.8e19).expect("positive");
        let aggs = decode(&payload(error.encode_to_vec())).expect("decodes");
        assert_eq!(aggs[0].1.sketch.count(), 5 + 2 * (1 << 32));
    }

    /// Found by fuzzing: a mapping of the payload's own can put bins at infinity.
    #[test]
    fn bins_at_infinity_are_refused() {
        let mut proto = WireSketch::default().into_pb();
        if let Some(m) = proto.mapping.as_mut() {
            m.gamma = 1e300;
        }
        if let Some(store) = proto.positive_values.as_mut() {
            store.contiguous_bin_index_offset = 10_000;
            store.contiguous_bin_counts = vec![1.0];
        }
        let err = decode(&payload(proto.encode_to_vec()))
            .err()
            .expect("refused");
        assert_eq!(err.reason(), "invalid_sketch");
        assert!(err.to_string().contains("not a finite number"), "{err}");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let err = decode(b"\x93\x01").err().expect("refused");
        assert_eq!(err.reason(), "invalid_msgpack");
        let err = decode(&payload(vec![0xff, 0xff, 0xff]))
            .err()
            .expect("refused");
        assert_eq!(err.reason(), "invalid_sketch");
    }
}
