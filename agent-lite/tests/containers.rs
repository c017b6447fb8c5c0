//! The container collector against this machine's Docker Engine: a container started from
//! an image built here without a registry (a static binary, `docker import`ed) shows its
//! CPU, its memory against the limit it was given, its tags, a restart after a kill, and
//! its events. These tests need the Engine: without it they fail and say so, they are not
//! skipped (CI has it).

mod common;

use std::process::Command;
use std::time::Duration;

use common::docker::{docker_ok, image, unique_name, Container};
use common::Agent;
use lab_testkit::wait_for;
use serde_json::Value;

/// The last point of `query`, summed over its series, once there is one.
fn latest(agent: &Agent, query: &str) -> Option<f64> {
    let v = agent.query(query);
    let series = v["series"].as_array().filter(|s| !s.is_empty())?;
    let mut sum = 0.0;
    for s in series {
        sum += s["pointlist"]
            .as_array()?
            .iter()
            .rev()
            .find_map(|p| p[1].as_f64())?;
    }
    Some(sum)
}

fn wait_until(agent: &Agent, query: &str, ok: impl Fn(f64) -> bool) -> f64 {
    wait_for(query, Duration::from_secs(60), || {
        latest(agent, query).filter(|v| ok(*v))
    })
}

/// The events of `container` whose title ends with `what`.
fn events(agent: &Agent, container: &str, what: &str) -> Vec<Value> {
    let (_, v) = agent.get("/api/v1/events");
    let tag = format!("container_name:{container}");
    v["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| {
            e["tags"]
                .as_array()
                .is_some_and(|t| t.iter().any(|x| *x == *tag))
        })
        .filter(|e| e["title"].as_str().is_some_and(|t| t.ends_with(what)))
        .cloned()
        .collect()
}

fn wait_event(agent: &Agent, container: &str, what: &str) -> Value {
    wait_for(
        &format!("event '{what}' of {container}"),
        Duration::from_secs(60),
        || events(agent, container, what).into_iter().next(),
    )
}

#[test]
fn a_container_shows_cpu_memory_against_its_limit_restarts_and_events() {
    image();
    let agent = Agent::start(&[
        ("AGENT_LITE_CHECK_INTERVAL_SECS", "1".into()),
        ("AGENT_LITE_HOST_METRICS", "false".into()),
    ]);
    let name = unique_name("metrics");
    let c = Container::run(
        &name,
        &[
            "--memory",
            "64m",
            "--restart",
            "always",
            "--env",
            "ALLOC_MB=24",
            "--env",
            "BURN_PCT=25",
            "--label",
            "com.datadoghq.tags.service=sleepy",
            "--label",
            "com.datadoghq.tags.env=test",
            "--label",
            "com.datadoghq.tags.version=1.2",
            "--label",
            "com.docker.compose.project=lab",
            "--label",
            "com.docker.compose.service=sleeper",
            "--health-cmd",
            "true",
            "--health-interval",
            "1s",
        ],
    );
    let scope = format!("container_name:{name}");

    let usage = wait_until(
        &agent,
        &format!("avg:container.memory.usage{{{scope}}}"),
        |v| v >= (24 << 20) as f64,
    );
    let limit = wait_until(
        &agent,
        &format!("avg:container.memory.limit{{{scope}}}"),
        |_| true,
    );
    assert_eq!(limit, (64 << 20) as f64, "the limit it was given, in bytes");
    assert!(usage < limit, "{usage} under {limit}");
    wait_until(&agent, &format!("avg:docker.mem.in_use{{{scope}}}"), |v| {
        v > 0.3 && v < 1.0
    });
    // 25% of a core burnt: well above 2% even on a busy machine.
    wait_until(
        &agent,
        &format!("avg:container.cpu.usage{{{scope}}}"),
        |v| v > 2e7,
    );
    wait_until(&agent, &format!("avg:docker.cpu.usage{{{scope}}}"), |v| {
        v > 2.0 && v < 200.0
    });
    wait_until(&agent, &format!("avg:container.uptime{{{scope}}}"), |v| {
        v >= 0.0
    });

    // Unified service tagging, Compose and image tags, as a dashboard filters by them.
    wait_until(
        &agent,
        "avg:container.memory.usage{service:sleepy,env:test,version:1.2,compose_project:lab,compose_service:sleeper,short_image:sleeper,image_tag:1}",
        |v| v > 0.0,
    );
    wait_until(
        &agent,
        "avg:docker.containers.running{short_image:sleeper,service:sleepy}",
        |v| v >= 1.0,
    );
    wait_until(
        &agent,
        &format!("avg:docker.container.healthy{{{scope}}}"),
        |v| v == 1.0,
    );
    let start = wait_event(&agent, &name, ": start");
    assert_eq!(start["source_type_name"], "docker");
    assert_eq!(start["host"], "lab");
    wait_event(&agent, &name, "health_status: healthy");

    // A crash (its process killed from outside, as the OOM killer would): the restart
    // policy brings it back and the count says so. Docker 20.10 takes `docker kill` as a
    // manual stop and does not restart after it.
    assert_eq!(
        latest(&agent, &format!("avg:container.restarts{{{scope}}}")),
        Some(0.0)
    );
    let pid = docker_ok(&["inspect", "--format", "{{.State.Pid}}", &name]);
    let killed = Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill");
    assert!(
        killed.success(),
        "kill -KILL {pid} (the test runs as root, as CI does)"
    );
    let die = wait_event(&agent, &name, ": die");
    assert!(
        die["text"]
            .as_str()
            .is_some_and(|t| t.contains("exit code 137")),
        "{die}"
    );
    let exit_check = wait_for("docker.exit", Duration::from_secs(30), || {
        events(&agent, &name, "docker.exit").into_iter().next()
    });
    assert_eq!(exit_check["alert_type"], "error");
    wait_until(&agent, &format!("avg:container.restarts{{{scope}}}"), |v| {
        v == 1.0
    });

    docker_ok(&["kill", &name]);
    let kill = wait_event(&agent, &name, ": kill");
    assert_eq!(kill["alert_type"], "error");
    assert!(
        kill["text"]
            .as_str()
            .is_some_and(|t| t.ends_with("signal 9")),
        "{kill}"
    );
    drop(c);
    let counters = agent.get("/status").1;
    assert!(counters["counters"]["collectors.docker.unavailable"].is_null());
}
