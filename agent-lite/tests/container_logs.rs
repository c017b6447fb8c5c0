//! Container logs against this machine's Docker Engine: containers of the test image write
//! JSON lines with `dd.trace_id` to stdout, JSON and plain lines to stderr, and agent-lite
//! must keep them, joined to their trace and named by service, for every container
//! (DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL) or only the labelled ones, including containers
//! started after it, without repeating a line when a container restarts. These tests need
//! the Engine: without it they fail and say so (CI has it).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::docker::{docker_ok, image, unique_name, Container};
use common::Agent;
use lab_testkit::wait_for;
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

/// A trace id of this run alone.
fn unique_trace_id(n: u64) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (nanos % 1_000_000_000_000_000 * 10 + n).to_string()
}

/// An agent-lite that collects logs only (fewer tasks on a busy machine).
fn agent(extra: &[(&str, String)]) -> Agent {
    let mut envs = vec![
        ("AGENT_LITE_HOST_METRICS", "false".to_owned()),
        ("AGENT_LITE_CONTAINER_METRICS", "false".to_owned()),
    ];
    envs.extend(extra.iter().cloned());
    Agent::start(&envs)
}

/// A test container writing a few lines every `every_ms` for `trace_id`.
fn talker(name: &str, trace_id: &str, every_ms: u32, args: &[&str]) -> Container {
    let every = format!("LOG_EVERY_MS={every_ms}");
    let trace = format!("LOG_TRACE_ID={trace_id}");
    let mut all = vec!["--env", &every, "--env", &trace];
    all.extend_from_slice(args);
    Container::run(name, &all)
}

fn search(agent: &Agent, params: &[(&str, &str)]) -> Vec<Value> {
    let res = agent
        .http
        .get(agent.api_url("/api/v0/logs"))
        .query(params)
        .query(&[("limit", "1000")])
        .send()
        .unwrap_or_else(|e| panic!("GET /api/v0/logs {params:?}: {e}"));
    assert_eq!(res.status(), 200, "/api/v0/logs {params:?}");
    let v: Value = res.json().expect("logs JSON");
    v["logs"].as_array().cloned().unwrap_or_default()
}

fn message(line: &Value) -> &str {
    line["message"].as_str().unwrap_or("")
}

/// The containers agent-lite says it follows.
fn followed(agent: &Agent) -> BTreeSet<String> {
    let (_, status) = agent.get("/status");
    status["collectors"]["logs"]["containers_followed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn collect_all_follows_every_container_and_joins_its_lines_to_their_trace() {
    image();
    let trace_a = unique_trace_id(1);
    let name_a = unique_name("logs-all-a");
    let _a = talker(
        &name_a,
        &trace_a,
        300,
        &["--label", "com.datadoghq.tags.service=tagged-svc"],
    );
    // What A printed before agent-lite looked is history, as the Agent tails a container
    // already running from its end.
    std::thread::sleep(Duration::from_millis(1500));
    let agent = agent(&[("DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL", "true".into())]);

    let lines = wait_for("A's stdout and stderr lines by trace id", WAIT, || {
        let lines = search(&agent, &[("trace_id", &trace_a)]);
        let stdout = lines.iter().any(|l| message(l).starts_with("tick "));
        let stderr = lines.iter().any(|l| message(l).starts_with("stderr tick "));
        (stdout && stderr).then_some(lines)
    });
    for l in &lines {
        assert_eq!(l["trace_id"], *trace_a, "{l}");
        assert_eq!(l["service"], "tagged-svc", "the tags label names it: {l}");
        assert_eq!(l["container_name"], *name_a, "{l}");
        assert_eq!(l["short_image"], "sleeper", "{l}");
        assert_eq!(
            l["source"], "sleeper",
            "the short image, as the Agent's default: {l}"
        );
        assert_eq!(l["host"], "lab", "{l}");
        if message(l).starts_with("stderr") {
            assert_eq!(l["status"], "error", "{l}");
        } else {
            assert_eq!(l["status"], "info", "{l}");
            assert_eq!(l["span_id"], "7", "{l}");
        }
    }
    assert!(
        !lines.iter().any(|l| message(l).starts_with("tick 0 run")),
        "lines from before agent-lite started are not collected"
    );
    let plain = wait_for("A's plain stderr lines", WAIT, || {
        search(
            &agent,
            &[("service", "tagged-svc"), ("query", "plain stderr tick")],
        )
        .into_iter()
        .find(|l| l["container_name"] == *name_a)
    });
    assert_eq!(plain["status"], "error", "stderr without a level: {plain}");
    assert!(plain["trace_id"].is_null(), "{plain}");

    // Started after agent-lite: picked up, from its very first line.
    let trace_b = unique_trace_id(2);
    let name_b = unique_name("logs-all-b");
    let b = talker(&name_b, &trace_b, 300, &[]);
    let first = wait_for("B's first line", WAIT, || {
        search(&agent, &[("trace_id", &trace_b)])
            .into_iter()
            .find(|l| message(l).starts_with("tick 0 run"))
    });
    assert_eq!(
        first["service"], *name_b,
        "without labels, the container's name: {first}"
    );

    let (_, status) = agent.get("/status");
    let c = &status["collectors"];
    assert_eq!(c["containers"]["state"], "available", "{c}");
    assert_eq!(c["logs"]["container_collect"], "all", "{c}");
    assert!(
        c["logs"]["lines_received"]["containers"]
            .as_u64()
            .is_some_and(|n| n >= 4),
        "{c}"
    );
    let now = followed(&agent);
    assert!(now.contains(&name_a) && now.contains(&name_b), "{now:?}");

    // Removed: no longer followed.
    drop(b);
    wait_for("B released", WAIT, || {
        (!followed(&agent).contains(&name_b)).then_some(())
    });
}

#[test]
fn only_containers_labelled_for_logs_are_followed_by_default() {
    image();
    let agent = agent(&[]);
    let (trace_l, trace_u) = (unique_trace_id(3), unique_trace_id(4));
    let (name_l, name_u) = (unique_name("logs-labelled"), unique_name("logs-unlabelled"));
    let _l = talker(
        &name_l,
        &trace_l,
        300,
        &[
            "--label",
            r#"com.datadoghq.ad.logs=[{"source":"csrc","service":"labelled-svc"}]"#,
            "--label",
            "com.datadoghq.tags.service=not-this-one",
        ],
    );
    let _u = talker(&name_u, &trace_u, 300, &[]);

    let lines = wait_for("the labelled container's lines by service", WAIT, || {
        let lines = search(&agent, &[("service", "labelled-svc")]);
        let stderr = lines
            .iter()
            .any(|l| message(l).starts_with("stderr tick ") && l["status"] == "error");
        let plain = lines
            .iter()
            .any(|l| message(l).starts_with("plain stderr") && l["status"] == "error");
        (stderr && plain).then_some(lines)
    });
    for l in &lines {
        assert_eq!(l["source"], "csrc", "the label's source: {l}");
        assert_eq!(l["container_name"], *name_l, "{l}");
    }
    let joined = search(&agent, &[("trace_id", &trace_l)]);
    assert!(
        joined
            .iter()
            .any(|l| message(l).starts_with("tick ") && l["status"] == "info"),
        "{joined:?}"
    );
    assert!(
        joined.iter().all(|l| l["service"] == "labelled-svc"),
        "{joined:?}"
    );

    // The unlabelled one printed as much, at the same time: none of it is collected.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        search(&agent, &[("trace_id", &trace_u)]),
        Vec::<Value>::new()
    );
    let now = followed(&agent);
    assert!(now.contains(&name_l) && !now.contains(&name_u), "{now:?}");
    let (_, status) = agent.get("/status");
    assert_eq!(
        status["collectors"]["logs"]["container_collect"], "labelled",
        "{status}"
    );
}

#[test]
fn a_restarted_container_is_followed_on_without_a_repeated_or_lost_line() {
    image();
    let agent = agent(&[("DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL", "true".into())]);
    let trace = unique_trace_id(5);
    let name = unique_name("logs-restart");
    let _c = talker(&name, &trace, 150, &["--restart", "always"]);
    let ticks = |agent: &Agent| -> BTreeMap<String, Vec<u64>> {
        // run -> tick numbers of its stdout lines, in the order received
        let mut runs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for l in search(agent, &[("trace_id", &trace)]).iter().rev() {
            let words: Vec<&str> = message(l).split(' ').collect();
            if let ["tick", n, "run", run] = words[..] {
                if let Ok(n) = n.parse() {
                    runs.entry(run.to_owned()).or_default().push(n);
                }
            }
        }
        runs
    };
    wait_for("ten lines of the first run", WAIT, || {
        (ticks(&agent).values().next().is_some_and(|t| t.len() >= 10)).then_some(())
    });
    // SIGTERM, then a start: the log stream ends, and is taken up again.
    docker_ok(&["restart", "-t", "5", &name]);
    let runs = wait_for("ten lines of the second run", WAIT, || {
        let runs = ticks(&agent);
        (runs.len() == 2 && runs.values().all(|t| t.len() >= 10)).then_some(runs)
    });
    for (run, got) in &runs {
        let want: Vec<u64> = (0..got.len() as u64).collect();
        assert_eq!(got, &want, "run {run}: every line once, none lost");
    }
    let all = search(&agent, &[("trace_id", &trace)]);
    let unique: BTreeSet<&str> = all.iter().map(message).collect();
    assert_eq!(unique.len(), all.len(), "no line repeated");
}
