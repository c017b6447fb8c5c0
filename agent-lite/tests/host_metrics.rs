//! The host collector of a running agent-lite, read back through the query API and checked
//! against /proc and df read here independently; and an agent without a Docker socket, which
//! says so once and runs on.

mod common;

use std::time::Duration;

use common::Agent;
use lab_testkit::wait_for;
use serde_json::Value;

/// The last point of the only series of `query`, once there is one.
fn latest(agent: &Agent, query: &str) -> Option<f64> {
    let v = agent.query(query);
    let series = v["series"].as_array()?;
    let points = series.first()?["pointlist"].as_array()?;
    points.iter().rev().find_map(|p| p[1].as_f64())
}

fn wait_latest(agent: &Agent, query: &str) -> f64 {
    wait_for(query, Duration::from_secs(30), || latest(agent, query))
}

fn meminfo_kib(field: &str) -> f64 {
    let text = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/meminfo"))
}

/// `df -k` of `/`: its device and size in KiB.
fn df_root() -> (String, f64) {
    let out = std::process::Command::new("df")
        .args(["-k", "--output=source,size", "/"])
        .output()
        .expect("df");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().nth(1).expect("a df line");
    let mut fields = line.split_whitespace();
    let device = fields.next().expect("device").to_owned();
    let size = fields.next().and_then(|s| s.parse().ok()).expect("size");
    (device, size)
}

#[test]
fn host_figures_read_back_as_proc_and_df_give_them() {
    let agent = Agent::start(&[
        ("AGENT_LITE_CHECK_INTERVAL_SECS", "1".into()),
        ("AGENT_LITE_CONTAINER_METRICS", "false".into()),
    ]);
    let total = wait_latest(&agent, "avg:system.mem.total{host:lab}");
    assert_eq!(total, meminfo_kib("MemTotal") / 1024.0, "MiB, as the Agent");
    let pct = wait_latest(&agent, "avg:system.mem.pct_usable{host:lab}");
    assert!((0.0..=1.0).contains(&pct), "a fraction: {pct}");

    let shares: f64 = ["user", "system", "iowait", "idle", "stolen"]
        .iter()
        .map(|s| wait_latest(&agent, &format!("avg:system.cpu.{s}{{host:lab}}")))
        .sum();
    // Each share is the last of its 10 s bucket; they may come from two collections a
    // second apart, so their sum is 100 only within a margin.
    assert!((shares - 100.0).abs() < 15.0, "shares sum to {shares}");

    let (device, size_kib) = df_root();
    let disk = wait_latest(
        &agent,
        &format!("avg:system.disk.total{{host:lab,device:{device}}}"),
    );
    assert_eq!(disk, size_kib, "KiB, as df -k");
    let in_use = wait_latest(
        &agent,
        &format!("avg:system.disk.in_use{{device:{device}}}"),
    );
    assert!((0.0..=1.0).contains(&in_use), "a fraction: {in_use}");
    assert!(latest(&agent, "avg:system.disk.total{device:proc}").is_none());

    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .expect("/proc/uptime");
    let reported = wait_latest(&agent, "avg:system.uptime{host:lab}");
    assert!((uptime - reported).abs() < 30.0, "{reported} vs {uptime}");
    let load = wait_latest(&agent, "avg:system.load.1{host:lab}");
    let norm = wait_latest(&agent, "avg:system.load.norm.1{host:lab}");
    let cores = wait_latest(&agent, "avg:system.cpu.num_cores{host:lab}");
    assert!(cores >= 1.0);
    assert!((norm * cores - load).abs() < 1e-3 * load.max(1.0));
}

#[test]
fn without_a_docker_socket_the_agent_says_so_once_and_runs_on() {
    let agent = Agent::start(&[
        ("AGENT_LITE_CHECK_INTERVAL_SECS", "1".into()),
        ("DOCKER_HOST", "unix:///nonexistent/docker.sock".into()),
    ]);
    wait_for("the unavailable counter", Duration::from_secs(20), || {
        (agent.counter("collectors.docker.unavailable.no_socket") == 1).then_some(())
    });
    // Several collections later, still said once.
    wait_for("three host collections", Duration::from_secs(20), || {
        (agent.counter("collectors.host.runs") >= 3).then_some(())
    });
    assert_eq!(agent.counter("collectors.docker.unavailable"), 1);
    let warnings: Vec<Value> = agent
        .proc
        .json_lines()
        .into_iter()
        .filter(|l| {
            l["message"].as_str().is_some_and(|m| {
                m.contains("container metrics, Docker events and container logs are off")
            })
        })
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["level"], "WARN");
    assert!(warnings[0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("/nonexistent/docker.sock")));
    let (_, events) = agent.get("/api/v1/events");
    let said: Vec<&Value> = events["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["title"] == "Docker Engine unavailable")
        .collect();
    assert_eq!(said.len(), 1);

    // The rest runs on: host metrics and DogStatsD.
    wait_latest(&agent, "avg:system.mem.total{host:lab}");
    agent.send_statsd("lab.alive:1|c");
    agent.wait_total("sum:lab.alive{*}.as_count()", 1.0);
}
