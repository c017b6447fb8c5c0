//! The database slowdown: a phase's `db_lock` takes a real lock on inventory's real `stock`
//! table (in the throwaway cluster from Debian's packages behind the demo service), holds it
//! for its duration, releases it, and says so in the report; a bad connection string is
//! refused before any traffic.

mod common;

use std::time::Duration;

use common::procs::{report, spawn_loadgen, AgentLite, Demo};
use lab_testkit::inventory::DEFAULT_POOL_SIZE;
use lab_testkit::postgres::PgCluster;
use lab_testkit::wait_for;

const SCENARIO: &str = r#"
name = "db lock"
[traffic]
rate = 5
[[phase]]
name = "calm"
duration = "2s"
[[phase]]
name = "database slowdown"
duration = "8s"
db_lock = { table = "stock", at = "1s", duration = "3s" }
"#;

/// Locks on `stock` that PostgreSQL granted in ACCESS EXCLUSIVE mode, as `pg_locks` shows them.
fn exclusive_locks(pg: &PgCluster) -> u32 {
    pg.psql(
        "inventory",
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
         WHERE c.relname = 'stock' AND l.mode = 'AccessExclusiveLock' AND l.granted",
    )
    .parse()
    .unwrap_or(0)
}

#[test]
fn a_db_lock_phase_holds_a_real_table_lock_for_its_duration_then_releases_it() {
    let agent = AgentLite::start(&[]);
    let demo = Demo::start(&agent, DEFAULT_POOL_SIZE, &[]);
    let pg = demo.inventory.pg();
    let work = tempfile::tempdir().expect("temp dir");
    let url = demo.inventory.database_url();
    let mut run = spawn_loadgen(
        work.path(),
        SCENARIO,
        &demo.base,
        &["--quiet", "--postgres", &url],
    );

    wait_for("the lock taken", Duration::from_secs(30), || {
        (exclusive_locks(pg) == 1).then_some(())
    });
    wait_for("the lock released", Duration::from_secs(30), || {
        (exclusive_locks(pg) == 0).then_some(())
    });
    let status = run.wait(Duration::from_secs(60));
    assert!(status.success(), "loadgen: {:?}", run.stderr_lines());

    let events = report(work.path())["chaos"].clone();
    let events = events.as_array().cloned().unwrap_or_default();
    let find = |what: &str| {
        events
            .iter()
            .find(|e| e["action"].as_str().is_some_and(|a| a.contains(what)))
            .cloned()
            .unwrap_or_else(|| panic!("no {what:?} in {events:?}"))
    };
    let taken = find("lock stock");
    assert_eq!(taken["ok"], true, "{taken}");
    assert_eq!(taken["phase"], "database slowdown");
    let released = find("release stock");
    assert_eq!(released["ok"], true, "{released}");
    let held = released["t"].as_f64().unwrap_or(0.0) - taken["t"].as_f64().unwrap_or(0.0);
    assert!((held - 3.0).abs() < 1e-6, "held {held} s as scheduled");
}

#[test]
fn a_db_lock_without_a_reachable_database_is_reported_not_fatal_and_a_bad_url_is_refused() {
    let agent = AgentLite::start(&[]);
    let demo = Demo::start(&agent, DEFAULT_POOL_SIZE, &[]);

    let work = tempfile::tempdir().expect("temp dir");
    let mut run = spawn_loadgen(
        work.path(),
        SCENARIO,
        &demo.base,
        &["--postgres", "postgres://x:notaport/db"],
    );
    let status = run.wait(Duration::from_secs(30));
    assert!(!status.success());
    let stderr = run.stderr_lines().join("\n");
    assert!(stderr.contains("--postgres"), "{stderr}");

    // Nobody listens on this port: the run goes on, the lock is reported as failed.
    let port = lab_testkit::free_port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/inventory");
    let work = tempfile::tempdir().expect("temp dir");
    let mut run = spawn_loadgen(
        work.path(),
        SCENARIO,
        &demo.base,
        &["--quiet", "--postgres", &url],
    );
    let status = run.wait(Duration::from_secs(60));
    assert!(status.success(), "loadgen: {:?}", run.stderr_lines());
    let report = report(work.path());
    let failed = report["chaos"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| {
            e["action"]
                .as_str()
                .is_some_and(|a| a.contains("lock stock"))
        })
        .cloned()
        .unwrap_or_default();
    assert_eq!(failed["ok"], false, "{report}");
    assert!(
        failed["result"]
            .as_str()
            .is_some_and(|r| r.contains("cannot connect")),
        "{failed}"
    );
}
