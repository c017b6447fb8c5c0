//! The intake on uploads built here as libdatadog's exporter builds them (multipart, event
//! JSON, zstd or gzip pprof), and on what it must refuse.

use bytes::Bytes;
use prost::Message as _;

use super::pprof::Profile;
use super::*;
use libdd_profiling_protobuf::prost_impls::{Function, Label, Line, Location, Sample, ValueType};

const BOUNDARY: &str = "------------------------abc123";

/// A CPU profile of two stacks: main > work > spin (3 samples), main > idle (1), the first
/// labelled with a span.
pub fn cpu_profile() -> Profile {
    let strings = [
        "",
        "cpu-samples",
        "count",
        "cpu-time",
        "nanoseconds",
        "main",
        "work",
        "spin",
        "idle",
        "local root span id",
        "span id",
    ];
    let function = |id: u64, name: i64| Function {
        id,
        name,
        ..Default::default()
    };
    let location = |id: u64, function_id: u64| Location {
        id,
        lines: vec![Line {
            function_id,
            line: 1,
        }],
        ..Default::default()
    };
    Profile {
        sample_types: vec![
            ValueType { r#type: 1, unit: 2 },
            ValueType { r#type: 3, unit: 4 },
        ],
        samples: vec![
            Sample {
                location_ids: vec![3, 2, 1],
                values: vec![3, 30_000_000],
                labels: vec![
                    Label {
                        key: 9,
                        num: 77,
                        ..Default::default()
                    },
                    Label {
                        key: 10,
                        num: 78,
                        ..Default::default()
                    },
                ],
            },
            Sample {
                location_ids: vec![4, 1],
                values: vec![1, 10_000_000],
                labels: vec![],
            },
        ],
        functions: vec![
            function(1, 5),
            function(2, 6),
            function(3, 7),
            function(4, 8),
        ],
        locations: vec![
            location(1, 1),
            location(2, 2),
            location(3, 3),
            location(4, 4),
        ],
        string_table: strings.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    }
}

pub fn event_json(attachments: &[&str]) -> String {
    serde_json::json!({
        "attachments": attachments,
        "tags_profiler": "service:checkout,env:dev,version:1.2,host:lab,runtime:CPython,language:python",
        "start": "2026-12-04T20:00:00.000000000Z",
        "end": "2026-12-04T20:01:00.123456789Z",
        "family": "python",
        "version": "4",
        "endpoint_counts": null,
        "internal": {"libdatadog_version": "1.0.0"},
        "info": {}
    })
    .to_string()
}

/// A multipart body of `(field name, file name, bytes)` parts.
pub fn multipart(parts: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

fn zstd_pprof() -> Vec<u8> {
    zstd::encode_all(&cpu_profile().encode_to_vec()[..], 3).expect("zstd")
}

fn upload(out: &Output, body: Vec<u8>) -> Result<u64, ProfileError> {
    receive(out, Some(&content_type()), Bytes::from(body), 16 << 20)
}

#[test]
fn a_libdatadog_upload_is_kept_with_its_tags_and_types() {
    let out = Output::default();
    let pprof = zstd_pprof();
    let event = event_json(&["profile.pprof"]);
    let id = upload(
        &out,
        multipart(&[
            ("event", "event.json", event.as_bytes()),
            ("profile.pprof", "profile.pprof", &pprof),
        ]),
    )
    .expect("taken");
    let store = out.profiles.lock();
    let p = store.get(id).expect("kept");
    assert_eq!(
        (
            &*p.meta.service,
            &*p.meta.env,
            &*p.meta.version,
            &*p.meta.host,
            &*p.meta.runtime
        ),
        ("checkout", "dev", "1.2", "lab", "CPython")
    );
    assert_eq!(p.types(), vec!["cpu"]);
    // Kept as uploaded: still zstd.
    assert_eq!(&p.attachments[0].uploaded[..], &pprof[..]);
    assert_eq!(out.counters.snapshot().get("profiles.received"), Some(&1));
}

#[test]
fn the_aggregate_is_a_tree_by_function_and_a_span_selects_its_samples() {
    let out = Output::default();
    let gz = {
        use std::io::Write as _;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&cpu_profile().encode_to_vec()).expect("gzip");
        e.finish().expect("gzip")
    };
    let event = event_json(&["auto.pprof"]);
    upload(
        &out,
        multipart(&[
            ("event", "event.json", event.as_bytes()),
            ("auto.pprof", "auto.pprof", &gz),
        ]),
    )
    .expect("gzip taken");
    let all = out.profiles.lock().list(&store::Filter::default());
    let agg = flame::aggregate(&all, "cpu", &flame::SpanFilter::default());
    assert_eq!(agg.unit, "nanoseconds");
    assert_eq!(agg.tree.value, 40_000_000);
    let main = &agg.tree.children[0];
    assert_eq!((&*main.name, main.value), ("main", 40_000_000));
    assert_eq!(
        (&*main.children[0].name, main.children[0].value),
        ("work", 30_000_000)
    );
    assert_eq!(main.children[0].children[0].name, "spin");
    assert_eq!(agg.top[0].name, "spin");
    assert_eq!(
        (agg.top[0].self_value, agg.top[0].total),
        (30_000_000, 30_000_000)
    );

    let spans = flame::SpanFilter {
        local_root_span_ids: vec![77],
        span_ids: vec![],
    };
    let hot = flame::aggregate(&all, "cpu", &spans);
    assert_eq!(hot.tree.value, 30_000_000);
}

#[test]
fn bad_uploads_are_refused_with_their_reason_and_counted() {
    let out = Output::default();
    let pprof = zstd_pprof();
    let good_event = event_json(&["profile.pprof"]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("invalid_multipart", b"--nope".to_vec()),
        (
            "no_event",
            multipart(&[("profile.pprof", "profile.pprof", &pprof)]),
        ),
        (
            "invalid_event",
            multipart(&[("event", "event.json", b"{\"attachments\": 3}")]),
        ),
        (
            "missing_attachment",
            multipart(&[("event", "event.json", good_event.as_bytes())]),
        ),
        (
            "invalid_pprof",
            multipart(&[
                ("event", "event.json", good_event.as_bytes()),
                (
                    "profile.pprof",
                    "profile.pprof",
                    b"\xff\xff\xff not protobuf",
                ),
            ]),
        ),
        (
            "bad_compression",
            multipart(&[
                ("event", "event.json", good_event.as_bytes()),
                ("profile.pprof", "profile.pprof", &pprof[..pprof.len() / 2]),
            ]),
        ),
    ];
    for (reason, body) in cases {
        let e = upload(&out, body).expect_err(reason);
        assert_eq!(e.reason(), reason, "{e}");
        assert_eq!(e.status(), axum::http::StatusCode::BAD_REQUEST);
    }
    let e = receive(
        &out,
        Some("application/json"),
        Bytes::from_static(b"{}"),
        100,
    )
    .expect_err("json");
    assert_eq!(e.reason(), "bad_content_type");
    let e = receive(&out, Some(&content_type()), Bytes::from(vec![0; 101]), 100).expect_err("big");
    assert_eq!(e.status(), axum::http::StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(out.profiles.lock().len(), 0);
    assert_eq!(
        out.counters
            .snapshot()
            .get("profiles.rejected.invalid_pprof"),
        Some(&1)
    );
}

#[test]
fn a_string_index_out_of_range_is_refused_not_read() {
    let mut p = cpu_profile();
    p.samples[0].labels[0].key = 999;
    let e = pprof::decode(&p.encode_to_vec()).expect_err("refused");
    assert!(matches!(e, pprof::PprofError::Protobuf(_)));
}

#[test]
fn the_store_keeps_the_newest_within_its_count_and_bytes() {
    let mut store = ProfileStore::new(2, 1 << 20);
    let meta = |min: u32| store::Meta {
        service: "s".into(),
        env: "dev".into(),
        version: String::new(),
        host: "h".into(),
        family: "rust".into(),
        runtime: "rust".into(),
        start: chrono::DateTime::from_timestamp(i64::from(min) * 60, 0).expect("time"),
        end: chrono::DateTime::from_timestamp(i64::from(min) * 60 + 60, 0).expect("time"),
        tags: vec![],
    };
    for min in 0..3 {
        store.insert(meta(min), vec![]);
    }
    let listed: Vec<u64> = store
        .list(&store::Filter::default())
        .iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(listed, vec![3, 2]);
    assert_eq!(store.evicted, 1);
    assert!(store.get(1).is_none());
    let mut by_bytes = ProfileStore::new(100, 1000);
    let att = || Attachment {
        name: "profile.pprof".into(),
        uploaded: Bytes::from(vec![0; 600]),
        sample_types: vec![],
        measured: vec![],
    };
    by_bytes.insert(meta(0), vec![att()]);
    by_bytes.insert(meta(1), vec![att()]);
    assert_eq!(by_bytes.len(), 1);
    assert!(by_bytes.bytes() <= 1000);
}
