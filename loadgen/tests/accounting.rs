//! Exact accounting under load: loadgen drives the demo service at half its maximum rate for
//! 60 s, the service traces every request into agent-lite, and agent-lite's hits (and errors)
//! over the window equal the requests loadgen saw answered (and its 500s), to the unit.
//!
//! The maximum is measured first, on this machine as it is now (a closed-model burst of
//! loadgen's own, with the same mix: an `/error` goes through inventory and PostgreSQL and
//! costs many times a `/`), so the test holds on a fast laptop and on a busy 2-core CI
//! machine alike.

mod common;

use std::time::{Duration, Instant};

use common::procs::{answered, phase, run_loadgen, AgentLite, Demo};
use lab_testkit::wait_for;

/// inventory's pool: its `/error` calls are short, but arrive in bursts on a busy machine;
/// none of the half-rate run's may wait past the pool's timeout (a 503 instead of the 500).
const POOL: u64 = 16;

/// The run's mix.
const MIX: &str = r#"{ "/" = 95, "/error" = 5 }"#;

/// As many users as loadgen's benchmark uses back to back: enough to saturate the service.
fn probe() -> String {
    format!(
        r#"
name = "probe"
users = 32

[traffic]
users = 32
mix = {MIX}

[[phase]]
name = "flat out"
duration = "5s"
"#
    )
}

fn half_rate(rate: u64) -> String {
    format!(
        r#"
name = "half"
description = "half the demo service's maximum rate, with errors"
timeout = "30s"

[traffic]
rate = {rate}
mix = {MIX}

[[phase]]
name = "half rate"
duration = "60s"
"#
    )
}

#[test]
fn at_half_the_maximum_rate_agent_lite_counts_every_request_loadgen_saw_answered() {
    let started = Instant::now();
    let work = tempfile::tempdir().expect("temp dir");

    // The maximum: the demo service flat out for 5 s, traced to an agent-lite of its own, as
    // below (at full speed the tracer may drop spans by design; none of these are counted).
    let probe_dir = work.path().join("probe");
    std::fs::create_dir(&probe_dir).expect("dir");
    let probe_agent = AgentLite::start(&[]);
    let mut probe_svc = Demo::start(&probe_agent, POOL, &[]);
    let probe = run_loadgen(&probe_dir, &probe(), &probe_svc.base);
    probe_svc.stop();
    drop(probe_agent);
    let max = phase(&probe, "flat out")["rps"].as_f64().unwrap_or(0.0);
    assert!(max > 50.0, "the demo service's maximum: {max} req/s");
    let rate = (max / 2.0).round() as u64;
    println!("maximum {max:.0} req/s; driving at {rate} req/s for 60 s");

    // Half of it for 60 s.
    let agent = AgentLite::start(&[]);
    let run_dir = work.path().join("run");
    std::fs::create_dir(&run_dir).expect("dir");
    let mut svc = Demo::start(&agent, POOL, &[("DD_ENV", "acct".into())]);
    let report = run_loadgen(&run_dir, &half_rate(rate), &svc.base);
    // SIGTERM: the service answers what is in flight and flushes every span before exiting;
    // then inventory, likewise.
    svc.stop();

    let run = phase(&report, "half rate");
    let answered_all = answered(&report, None, None);
    let answered_500 = answered(&report, None, Some(500));
    println!(
        "loadgen: {answered_all} answered ({answered_500} 500s), {} transport errors, {} unsent, {:.0} req/s, p95 {} ms",
        run["transport_errors"], run["unsent"], run["rps"].as_f64().unwrap_or(0.0), run["latency"]["p95_ms"]
    );
    // The load is what was asked, give or take what a busy machine takes from loadgen (the
    // count below is exact whatever the rate turned out to be).
    assert!(
        answered_all as f64 >= 0.5 * rate as f64 * 60.0,
        "loadgen could not hold the rate: {answered_all} answered of {} due",
        rate * 60
    );
    assert!(answered_500 > 0, "the mix sends /error");

    let hits = "sum:trace.http.server.request.hits{service:demo-service,env:acct}.as_count()";
    let errors = "sum:trace.http.server.request.errors{service:demo-service,env:acct}.as_count()";
    // The spans are all in agent-lite once the service has exited; the stats are written as
    // each payload arrives, so this settles at once. Polled anyway: the query is cheap.
    let counted = wait_for(
        "agent-lite's hits to equal loadgen's answered requests",
        Duration::from_secs(30),
        || {
            let got = agent.total(hits) as u64;
            (got == answered_all).then_some(got)
        },
    );
    assert_eq!(counted, answered_all);
    assert_eq!(agent.total(errors) as u64, answered_500);
    // And nothing else: each `/` made one span, each `/error` four (its server span, its
    // call to inventory, inventory's server span and the refused UPDATE under it), every
    // span agent-lite received is one of them, and none was refused.
    let status = agent.status();
    assert_eq!(
        status["counters"]["traces.spans"].as_u64(),
        Some(answered_all + 3 * answered_500),
        "{status}"
    );
    assert!(
        status["counters"]
            .as_object()
            .is_some_and(|c| c.keys().all(|k| !k.contains("rejected"))),
        "{status}"
    );
    println!("the whole test took {:.0?}", started.elapsed());
}
