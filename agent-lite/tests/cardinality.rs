//! A flood of unique tags over DogStatsD, as a client tagging by request id would send: the
//! series cap holds, agent-lite's memory stays bounded however many unique series arrive,
//! and the drop is visible, exactly, in `/status`, in `agent-lite status`, in the log and as
//! `datadog.agent_lite.*` metrics.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{Agent, BIN};
use lab_testkit::wait_for;
use serde_json::Value;

/// AGENT_LITE_MAX_SERIES for the test.
const CAP: u64 = 2000;
/// Unique series sent in each round.
const ROUND: u64 = 25_000;
/// Lines in a datagram (about 2.5 kB, inside the 8192-byte limit).
const LINES: u64 = 100;

/// Resident memory of a process, from /proc/PID/status, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

/// Sends series `from..to` of `lab.card`, one unique `request_id` tag each, a few datagrams
/// at a time, waiting for agent-lite to take each batch (UDP loses what a full buffer cannot
/// hold, and the counts below are exact).
fn send_unique(agent: &Agent, sock: &UdpSocket, from: u64, to: u64, sent: &mut u64) {
    let mut n = from;
    while n < to {
        for _ in 0..20 {
            if n >= to {
                break;
            }
            let end = (n + LINES).min(to);
            let datagram: Vec<String> = (n..end)
                .map(|i| format!("lab.card:1|c|#env:card,request_id:{i:08}"))
                .collect();
            sock.send_to(
                datagram.join("\n").as_bytes(),
                ("127.0.0.1", agent.statsd_port),
            )
            .expect("send");
            *sent += 1;
            n = end;
        }
        let want = *sent;
        wait_for(
            "agent-lite to take the datagrams",
            Duration::from_secs(30),
            || (agent.counter("dogstatsd.packets") >= want).then_some(()),
        );
    }
}

/// Waits until the aggregator has flushed what was sent (its points are in the store or
/// refused): the number of `lab.card` series plus the points refused stop moving.
fn settled(agent: &Agent) -> (u64, u64) {
    let mut last = (u64::MAX, u64::MAX);
    wait_for(
        "the flush of what was sent",
        Duration::from_secs(30),
        || {
            std::thread::sleep(Duration::from_millis(1500));
            let now = (stored(agent), agent.counter("dogstatsd.points_refused"));
            let same = now == last;
            last = now;
            same.then_some(now)
        },
    )
}

/// `lab.card` series in the store.
fn stored(agent: &Agent) -> u64 {
    let (status, tags) = agent.get("/api/v2/metrics/lab.card/all-tags");
    if status == 404 {
        return 0;
    }
    tags["data"]["attributes"]["tags"]
        .as_array()
        .map(|t| {
            t.iter()
                .filter_map(Value::as_str)
                .filter(|t| t.starts_with("request_id:"))
                .count() as u64
        })
        .unwrap_or(0)
}

fn latest(agent: &Agent, metric: &str) -> Option<f64> {
    let v = agent.query(&format!("max:{metric}{{host:lab}}"));
    v["series"][0]["pointlist"]
        .as_array()
        .and_then(|p| p.iter().rev().find_map(|p| p[1].as_f64()))
}

#[test]
fn a_flood_of_unique_tags_is_capped_with_memory_bounded_and_the_drop_visible() {
    let agent = Agent::start(&[
        ("AGENT_LITE_MAX_SERIES", CAP.to_string()),
        // Only the flood (and agent-lite's own metrics) write series.
        ("AGENT_LITE_HOST_METRICS", "false".into()),
        ("AGENT_LITE_CONTAINER_METRICS", "false".into()),
        ("AGENT_LITE_CONTAINER_LOGS", "false".into()),
    ]);
    let sock = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let pid = agent.proc.pid();
    let mut sent = 0u64;

    // A first round fills the cap and warms the allocator up.
    send_unique(&agent, &sock, 0, ROUND, &mut sent);
    settled(&agent);
    let rss_first = rss_kib(pid);
    // Four rounds more: four times as many unique series again, all over the cap.
    send_unique(&agent, &sock, ROUND, 5 * ROUND, &mut sent);
    let (kept, refused_points) = settled(&agent);
    let rss_last = rss_kib(pid);
    println!(
        "RSS {rss_first} KiB after {ROUND} unique series, {rss_last} KiB after {}; {kept} kept",
        5 * ROUND
    );

    // The cap holds: the store has at most CAP series but agent-lite's own (one each, which
    // are written past the cap so that the drop shows), and the flood got what was left.
    let (_, status) = agent.get("/status");
    let series = status["store"]["series"].as_u64().expect("store.series");
    let (_, metrics) = agent.get("/api/v1/metrics?from=0");
    let own = metrics["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m.as_str()
                .is_some_and(|m| m.starts_with("datadog.agent_lite."))
        })
        .count() as u64;
    assert!(
        series - own <= CAP,
        "{series} series ({own} of agent-lite's own) over the cap of {CAP}"
    );
    assert!(kept > 0 && kept < CAP, "{kept} lab.card series kept");
    // Exactly: every unique series sent was kept or refused and counted, once.
    let unique = 5 * ROUND;
    assert_eq!(kept + refused_points, unique, "kept + refused = sent");
    assert_eq!(
        status["store"]["refused_series"].as_u64(),
        Some(unique - kept),
        "{status}"
    );
    assert_eq!(agent.counter("dogstatsd.metrics"), unique);
    assert_eq!(agent.counter("dogstatsd.packets"), sent);

    // Memory: bounded by the cap, not by what was sent. Four times more unique series than
    // the first round may cost a little (allocator pages, one flush's worth of keys), not the
    // ~350 bytes each that keeping them costs (35 MB here when the aggregator kept every key
    // up to 200,000 whatever the cap).
    let growth = rss_last.saturating_sub(rss_first);
    assert!(
        growth < 16 * 1024,
        "RSS grew by {growth} KiB over {} more unique series ({rss_first} -> {rss_last} KiB)",
        4 * ROUND
    );

    // Visible: `agent-lite status`, one log line, and agent-lite's own metrics, which keep
    // being written while the cap refuses everything new.
    let out = std::process::Command::new(BIN)
        .args(["status", "--url", &agent.api_url("")])
        .output()
        .expect("agent-lite status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("({} refused over the cap)", unique - kept)),
        "{text}"
    );
    let warnings: Vec<String> = agent
        .proc
        .stdout_lines()
        .into_iter()
        .filter(|l| l.contains("series cap reached"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one warning, not one per series: {warnings:?}"
    );
    wait_for(
        "the drop as datadog.agent_lite.* metrics",
        Duration::from_secs(40),
        || {
            let series = latest(&agent, "datadog.agent_lite.store.refused_series");
            let points = latest(&agent, "datadog.agent_lite.dogstatsd.points_refused");
            let want = (unique - kept) as f64;
            (series == Some(want) && points == Some(want)).then_some(())
        },
    );
}
