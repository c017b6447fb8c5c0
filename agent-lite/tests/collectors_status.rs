//! `agent-lite status` on the collectors: a host check that cannot read /proc, a Docker
//! socket that is not there, a log file followed. Each says what it does and why not, and
//! the rest of agent-lite runs on.

mod common;

use std::io::Write as _;
use std::process::Command;
use std::time::Duration;

use common::{Agent, BIN};
use lab_testkit::wait_for;

#[test]
fn status_names_each_collector_and_why_one_is_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    let empty_proc = dir.path().join("proc");
    std::fs::create_dir_all(&empty_proc).expect("proc");
    let log = dir.path().join("app.log");
    std::fs::write(&log, "").expect("log file");
    let agent = Agent::start(&[
        ("AGENT_LITE_CHECK_INTERVAL_SECS", "1".into()),
        ("HOST_PROC", empty_proc.display().to_string()),
        ("DOCKER_HOST", "unix:///nonexistent/docker.sock".into()),
        ("AGENT_LITE_LOGS_FILES", format!("app={}", log.display())),
    ]);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .expect("open log");
    writeln!(
        f,
        r#"{{"level":"warn","message":"hello","dd.trace_id":"77"}}"#
    )
    .expect("write");

    let c = wait_for("the collectors' status", Duration::from_secs(30), || {
        let (_, status) = agent.get("/status");
        let c = status["collectors"].clone();
        let ready = c["containers"]["state"] == "unavailable"
            && c["host"]["failing"]["cpu"].is_string()
            && c["logs"]["lines_received"]["files"] == 1;
        ready.then_some(c)
    });
    assert_eq!(c["host"]["enabled"], true, "{c}");
    assert!(c["host"]["last_error"]["part"].is_string(), "{c}");
    assert!(
        c["containers"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no Docker socket")),
        "{c}"
    );
    assert_eq!(c["logs"]["files_followed"], 1, "{c}");
    assert_eq!(c["logs"]["container_collect"], "labelled", "{c}");
    assert_eq!(c["logs"]["lines_received"]["containers"], 0, "{c}");

    // The rest runs on: the file's line is kept and joined to its trace.
    let (_, found) = agent.get("/api/v0/logs?trace_id=77");
    assert_eq!(found["logs"][0]["service"], "app", "{found}");
    assert_eq!(found["logs"][0]["status"], "warn", "{found}");

    let out = Command::new(BIN)
        .args(["status", "--url", &agent.api_url("")])
        .output()
        .expect("agent-lite status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for want in [
        "collectors:",
        "host metrics: on, cpu cannot be read",
        "containers (Docker Engine): unavailable: no Docker socket",
        "logs: files followed: 1, containers followed: 0",
        "lines received: 1 from files, 0 from containers",
    ] {
        assert!(text.contains(want), "{want:?} in:\n{text}");
    }
}
