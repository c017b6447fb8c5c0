//! The command line as a user meets it: help, bad values, the configuration file, `status`.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Agent, BIN};
use lab_testkit::free_port;

fn run(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("DD_") || k.starts_with("AGENT_LITE_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(envs.iter().copied());
    let out = cmd.output().expect("run agent-lite");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn help_lists_every_option_with_its_variable() {
    let (code, out, _) = run(&["--help"], &[]);
    assert_eq!(code, 0);
    for var in [
        "DD_BIND_HOST",
        "DD_APM_RECEIVER_PORT",
        "DD_APM_RECEIVER_SOCKET",
        "DD_DOGSTATSD_PORT",
        "DD_DOGSTATSD_SOCKET",
        "DD_HOSTNAME",
        "DD_APM_MAX_PAYLOAD_SIZE",
        "AGENT_LITE_CONFIG",
        "AGENT_LITE_API_PORT",
    ] {
        assert!(out.contains(var), "--help names {var}:\n{out}");
    }
}

#[test]
fn a_bad_value_names_the_option() {
    let (code, _, err) = run(&[], &[("DD_APM_RECEIVER_PORT", "eighty")]);
    assert_eq!(code, 2);
    assert!(err.contains("eighty"), "{err}");
    assert!(err.contains("--apm-port"), "{err}");
}

#[test]
fn the_configuration_file_sets_what_flags_and_variables_do_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (apm, statsd, api) = (free_port(), free_port(), free_port());
    let path = dir.path().join("datadog.yaml");
    std::fs::write(
        &path,
        format!(
            "hostname: from-file\nbind_host: 127.0.0.1\ndogstatsd_port: {statsd}\napm_config:\n  receiver_port: {apm}\nagent_lite:\n  api_port: 1\n  flush_secs: 1\n"
        ),
    )
    .expect("write the file");
    // The variable wins over the file's api_port, as the Agent's variables win over datadog.yaml.
    let agent = Agent::attach(
        &["--config", &path.to_string_lossy()],
        &[("AGENT_LITE_API_PORT", api.to_string())],
        apm,
        statsd,
        api,
    );
    let (_, status) = agent.get("/status");
    assert_eq!(status["hostname"], "from-file", "{status}");
    agent.send_statsd("lab.from_file:1|c");
    agent.wait_total("sum:lab.from_file{host:from-file}.as_count()", 1.0);
}

#[test]
fn a_mistake_in_the_file_stops_the_start_with_the_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("datadog.yaml");
    std::fs::write(&path, "apm_config:\n  reciever_port: 1\n").expect("write");
    let (code, _, err) = run(&["--config", &path.to_string_lossy()], &[]);
    assert_eq!(code, 1);
    assert!(
        err.contains("unknown key apm_config.reciever_port"),
        "{err}"
    );
    let (code, _, err) = run(&[], &[("AGENT_LITE_CONFIG", "/nonexistent/datadog.yaml")]);
    assert_eq!(code, 1);
    assert!(err.contains("/nonexistent/datadog.yaml"), "{err}");
}

#[test]
fn status_without_an_agent_says_so_quickly() {
    let started = std::time::Instant::now();
    let url = format!("http://127.0.0.1:{}", free_port());
    let (code, _, err) = run(&["status", "--url", &url], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("agent-lite does not answer"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn status_prints_counters_like_agent_status() {
    let agent = Agent::start(&[]);
    agent.send_statsd("lab.x:1|c\nbroken");
    agent.wait_total("sum:lab.x{*}.as_count()", 1.0);
    let (code, out, err) = run(&["status", "--url", &agent.api_url("")], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("dogstatsd"), "{out}");
    // Each counter is printed with what it counts, from agent-lite's one list of them.
    assert!(out.contains("DogStatsD metric lines taken."), "{out}");
    assert!(
        out.contains("DogStatsD lines or datagrams refused, by reason"),
        "{out}"
    );
    let (code, out, _) = run(&["status", "--json", "--url", &agent.api_url("")], &[]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON status");
    assert_eq!(v["counters"]["dogstatsd.metrics"], 1);
}

#[test]
fn check_monitors_names_each_file_and_fails_on_a_refused_one() {
    let lab = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../compose/monitors");
    let (code, out, err) = run(&["check-monitors", &lab.to_string_lossy()], &[]);
    assert_eq!(code, 0, "the lab's own monitors load: {out}{err}");
    assert!(out.contains("host-cpu-high.json: High CPU usage"), "{out}");

    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"name": "x", "type": "metric alert", "query": "avg(last_5m):avg:x{*} > 1", "options": {"thresholds": {"warning": 3}}}"#,
    )
    .expect("write");
    let (code, out, _) = run(&["check-monitors", &bad.to_string_lossy()], &[]);
    assert_eq!(code, 1);
    assert!(out.contains("bad.json"), "{out}");
    assert!(out.contains("warning (3) must be below critical"), "{out}");
}
