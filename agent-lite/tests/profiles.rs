//! Python's ddtrace profiler on the seed's Flask app sends its profiles to agent-lite: they
//! read back through the profiles API (list, the pprof as uploaded, the merged flame tree,
//! a trace's code hotspots); bad uploads are refused with their reason and counted, and the
//! agent lives on.

mod common;

use std::time::{Duration, Instant};

use common::Agent;
use lab_testkit::process::ChildProcess;
use lab_testkit::test_agent::lab_python;
use lab_testkit::{free_port, wait_for};
use serde_json::Value;

/// Every name in the tree under `node`.
fn names(node: &Value, out: &mut Vec<String>) {
    if let Some(n) = node["name"].as_str() {
        out.push(n.to_owned());
    }
    for c in node["children"].as_array().into_iter().flatten() {
        names(c, out);
    }
}

#[test]
fn pythons_profiler_on_the_seeds_app_reads_back_as_flame_graphs_and_hotspots() {
    let agent = Agent::start(&[]);
    let python = lab_python();
    let bin = python.parent().expect("venv bin");
    assert!(
        bin.join("ddtrace-run").exists(),
        "{} has no ddtrace-run: run tests/setup",
        bin.display()
    );
    let port = free_port();
    let peers = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/peers");
    let mut app = ChildProcess::spawn(
        &bin.join("ddtrace-run").to_string_lossy(),
        &[
            &bin.join("gunicorn").to_string_lossy(),
            "-w",
            "1",
            "-b",
            &format!("127.0.0.1:{port}"),
            "--chdir",
            &peers.to_string_lossy(),
            "flask_app:app",
        ],
        &[
            ("DD_SERVICE", "flask-demo-bootcamp".into()),
            ("DD_ENV", "dev".into()),
            ("DD_VERSION", "1.0".into()),
            ("DD_TRACE_AGENT_URL", agent.apm_url("")),
            ("DD_INSTRUMENTATION_TELEMETRY_ENABLED", "false".into()),
            ("DD_PROFILING_ENABLED", "true".into()),
            ("DD_PROFILING_UPLOAD_INTERVAL", "2".into()),
            ("LOG_LEVEL", "WARNING".into()),
        ],
    );
    let http = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}/");
    wait_for("the Flask app", Duration::from_secs(30), || {
        http.get(&base)
            .send()
            .ok()
            .filter(|r| r.status().is_success())
    });
    // Load until two profiles with CPU samples have come (bounded by the wait's deadline).
    let started = Instant::now();
    loop {
        for _ in 0..50 {
            let _ = http.get(&base).send();
        }
        let (status, list) = agent.get("/api/v0/profiles?service=flask-demo-bootcamp&env=dev");
        assert_eq!(status, 200);
        let with_cpu = list["profiles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| {
                p["types"]
                    .as_array()
                    .is_some_and(|t| t.contains(&"cpu".into()))
            })
            .count();
        if with_cpu >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no profiles after 60 s: {list}, status {}",
            agent.get("/status").1["counters"]
        );
    }
    // The profiler sends what it has left as it exits: read the list after.
    assert!(app.terminate(Duration::from_secs(30)).success());
    let (_, list) = agent.get("/api/v0/profiles?service=flask-demo-bootcamp&env=dev");

    let profiles = list["profiles"].as_array().expect("profiles");
    let first = &profiles[0];
    assert_eq!(first["service"], "flask-demo-bootcamp");
    assert_eq!(first["env"], "dev");
    assert_eq!(first["version"], "1.0");
    assert_eq!(first["runtime"], "CPython");
    assert_eq!(
        first["host"], "lab",
        "the agent's host name, as the Agent's proxy adds it"
    );
    let types: Vec<&str> = first["types"]
        .as_array()
        .expect("types")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        types.contains(&"cpu") && types.contains(&"wall"),
        "{types:?}"
    );
    assert!(
        !types.iter().any(|t| t.starts_with("gpu")),
        "unmeasured types left out: {types:?}"
    );
    let ends: Vec<&str> = profiles.iter().filter_map(|p| p["end"].as_str()).collect();
    assert!(
        ends.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {ends:?}"
    );
    assert_eq!(agent.counter("profiles.received") as usize, profiles.len());

    // The pprof as uploaded: libdatadog's zstd.
    let id = first["id"].as_str().expect("id");
    let raw = agent
        .http
        .get(agent.api_url(&format!("/api/v0/profiles/{id}")))
        .send()
        .expect("GET profile");
    assert_eq!(raw.status(), 200);
    let bytes = raw.bytes().expect("body");
    assert_eq!(&bytes[..4], &[0x28, 0xb5, 0x2f, 0xfd], "zstd, as uploaded");
    assert_eq!(agent.get("/api/v0/profiles/999999").0, 404);

    // The merged CPU profile: the tree itself, `{name, value, children}`; Flask's request
    // handling is in it, by function name (the tree cut at 60 frames, inside serde_json's
    // nesting limit).
    let (status, agg) =
        agent.get("/api/v0/profiles/aggregate?service=flask-demo-bootcamp&type=cpu&max_depth=60");
    assert_eq!(status, 200, "{agg}");
    assert_eq!(agg["unit"], "nanoseconds");
    assert_eq!(agg["name"], "root");
    assert!(agg["value"].as_i64().unwrap_or(0) > 0, "{agg}");
    assert!(agg["children"].as_array().is_some_and(|c| !c.is_empty()));
    let mut all = Vec::new();
    names(&agg, &mut all);
    assert!(
        all.iter()
            .any(|n| n.contains("wsgi_app") || n.contains("dispatch_request")),
        "Flask's frames in the CPU tree: {:?}",
        &all[..all.len().min(40)]
    );
    // The top table of the same merge: a function's total covers its self value, and the
    // hottest self value is at most the whole.
    let (status, top) = agent.get("/api/v0/profiles/top?service=flask-demo-bootcamp&type=cpu");
    assert_eq!(status, 200, "{top}");
    assert_eq!(top["samples"], agg["samples"]);
    assert_eq!(top["total"], agg["value"]);
    let entries = top["top"].as_array().expect("top");
    assert!(!entries.is_empty());
    for e in entries {
        assert!(e["total"].as_i64() >= e["self"].as_i64(), "{e}");
    }
    assert!(entries[0]["self"].as_i64() <= agg["value"].as_i64());

    // Code hotspots: the samples taken under the traces agent-lite kept, by their root span.
    let (_, traces) = agent.get("/api/v0/traces?service=flask-demo-bootcamp&limit=200");
    let roots: Vec<String> = traces["traces"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["root"]["span_id"].as_u64())
        .map(|id| id.to_string())
        .collect();
    assert!(!roots.is_empty(), "traces kept: {traces}");
    let (status, hot) = agent.get(&format!(
        "/api/v0/profiles/aggregate?service=flask-demo-bootcamp&type=wall&max_depth=60&local_root_span_id={}",
        roots.join(",")
    ));
    assert_eq!(status, 200, "{hot}");
    assert!(
        hot["samples"].as_u64().unwrap_or(0) > 0,
        "samples under the kept traces: {hot}"
    );
    let mut hot_names = Vec::new();
    names(&hot, &mut hot_names);
    assert!(hot_names
        .iter()
        .any(|n| n.contains("wsgi_app") || n.contains("dispatch_request")));
}

#[test]
fn bad_uploads_are_refused_with_their_reason_counted_and_the_agent_lives_on() {
    let agent = Agent::start(&[("AGENT_LITE_MAX_PROFILE_UPLOAD_BYTES", "100000".into())]);
    let url = agent.apm_url("/profiling/v1/input");
    let post = |content_type: &str, body: Vec<u8>| {
        let res = agent
            .http
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .expect("POST");
        (res.status().as_u16(), res.text().unwrap_or_default())
    };
    let multipart = "multipart/form-data; boundary=xyz";
    let (status, reason) = post(multipart, b"--xyz\r\nnot a part".to_vec());
    assert_eq!(status, 400);
    assert!(reason.contains("malformed multipart"), "{reason}");
    let event_only = b"--xyz\r\nContent-Disposition: form-data; name=\"event\"; filename=\"event.json\"\r\n\r\n{\"attachments\":[\"profile.pprof\"],\"start\":\"2026-01-01T00:00:00Z\",\"end\":\"2026-01-01T00:01:00Z\",\"family\":\"go\"}\r\n--xyz--\r\n";
    let (status, reason) = post(multipart, event_only.to_vec());
    assert_eq!(status, 400);
    assert!(reason.contains("profile.pprof"), "{reason}");
    let (status, _) = post("application/json", b"{}".to_vec());
    assert_eq!(status, 400);
    let (status, reason) = post(multipart, vec![b'x'; 200_000]);
    assert_eq!(status, 413, "{reason}");
    assert_eq!(agent.counter("profiles.rejected.invalid_multipart"), 1);
    assert_eq!(agent.counter("profiles.rejected.missing_attachment"), 1);
    assert_eq!(agent.counter("profiles.rejected.bad_content_type"), 1);
    assert_eq!(agent.counter("profiles.rejected.too_large"), 1);
    assert_eq!(
        agent.get("/api/v0/profiles").1["profiles"],
        serde_json::json!([])
    );
    let info = agent.http.get(agent.apm_url("/info")).send().expect("info");
    assert_eq!(info.status(), 200, "the agent lives on");
}
