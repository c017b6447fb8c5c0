//! The postgres check against a real PostgreSQL: the Agent's metric names and tags read back
//! through the query API, the rates follow what the test did, `postgres.can_connect` turns
//! critical when the server stops, and status says so.

mod common;

use std::time::Duration;

use common::Agent;
use lab_testkit::postgres::PgCluster;
use lab_testkit::wait_for;

#[test]
fn the_agents_postgres_metrics_and_service_check_from_a_real_server() {
    let mut pg = PgCluster::start();
    pg.create_database("shop");
    pg.psql("shop", "CREATE TABLE stock (sku text PRIMARY KEY, qty int)");
    let agent = Agent::start(&[
        ("DD_POSTGRES_URL", pg.url("shop")),
        ("AGENT_LITE_CHECK_INTERVAL_SECS", "1".into()),
        ("AGENT_LITE_HOST_METRICS", "false".into()),
        ("AGENT_LITE_CONTAINER_METRICS", "false".into()),
    ]);
    // The test cluster's max_connections (lab_testkit::postgres starts it with 50).
    agent.wait_total("max:postgresql.max_connections{*}", 50.0);
    let series = agent.query("max:postgresql.connections{db:shop} by {db,postgresql_version}");
    let tags = series["series"][0]["tag_set"].to_string();
    assert!(tags.contains("postgresql_version:15"), "{tags}");
    assert!(
        agent.totals("max:postgresql.database_size{db:shop}")[0].1 > 1e6,
        "bytes"
    );
    let pct = agent.totals("max:postgresql.percent_usage_connections{*}")[0].1;
    assert!(pct > 0.0 && pct < 1.0, "a fraction: {pct}");

    // 500 rows inserted in one statement: the rate over the interval after it is > 0, and
    // the rows add up (rate x seconds) to what was inserted.
    pg.psql(
        "shop",
        "INSERT INTO stock SELECT 'sku-' || g, g FROM generate_series(1, 500) g",
    );
    wait_for("the inserts' rate", Duration::from_secs(30), || {
        let v = agent.totals("max:postgresql.rows_inserted{db:shop}");
        v.first().filter(|(_, r)| *r > 0.0).map(|_| ())
    });
    assert!(agent.totals("max:postgresql.commits{db:shop}")[0].1 > 0.0);
    let locks = agent.query("max:postgresql.locks{db:shop} by {lock_mode}");
    assert!(locks["series"].is_array(), "{locks}");

    let (_, status) = agent.get("/status");
    let check = &status["collectors"]["postgres"];
    assert_eq!(check["state"], "ok", "{check}");
    assert!(!check["target"].to_string().contains("secret"));
    assert_eq!(check["target"], format!("127.0.0.1:{}/shop", pg.port()));

    pg.stop();
    let events = || {
        let (_, e) = agent.get("/api/v1/events");
        e["events"].as_array().cloned().unwrap_or_default()
    };
    wait_for(
        "postgres.can_connect critical",
        Duration::from_secs(30),
        || {
            events().into_iter().find(|e| {
                e["title"] == "Service check postgres.can_connect" && e["alert_type"] == "error"
            })
        },
    );
    let (_, status) = agent.get("/status");
    assert_eq!(status["collectors"]["postgres"]["state"], "critical");
    assert!(agent.counter("collectors.postgres.errors") >= 1);
    let can_connect: Vec<_> = events()
        .into_iter()
        .filter(|e| e["title"] == "Service check postgres.can_connect")
        .collect();
    assert_eq!(
        can_connect.len(),
        2,
        "OK once, then critical once: {can_connect:?}"
    );
    let tags = can_connect[0]["tags"].to_string();
    assert!(
        tags.contains("db:shop") && tags.contains(&format!("port:{}", pg.port())),
        "{tags}"
    );
}
