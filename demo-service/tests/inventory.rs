//! The distributed system behind demo-service, against a real PostgreSQL: one trace across
//! demo-service, inventory and a postgres query with Datadog's conventions; errors from the
//! database on the spans of both services; outages of PostgreSQL and of inventory answered
//! with a 5xx (never a hang), recovered from by themselves, their spans still sent.

mod common;

use std::time::Duration;

use common::{inventory, Lab, Service};
use lab_testkit::trace_sink::{Span, TraceSink};
use lab_testkit::wait_for;

fn meta<'a>(s: &'a Span, key: &str) -> Option<&'a str> {
    s.meta.get(key).map(String::as_str)
}

fn only<'a>(spans: &'a [Span], what: &str, keep: impl Fn(&Span) -> bool) -> &'a Span {
    let found: Vec<&Span> = spans.iter().filter(|s| keep(s)).collect();
    assert_eq!(found.len(), 1, "{what}: {found:#?}");
    found[0]
}

fn child_of<'a>(spans: &'a [Span], parent: &Span, what: &str) -> &'a Span {
    only(spans, what, |s| {
        s.parent_id == parent.span_id && s.trace_id == parent.trace_id
    })
}

fn server<'a>(spans: &'a [Span], service: &str, resource: &str) -> &'a Span {
    only(spans, &format!("{service} {resource}"), |s| {
        s.service == service && s.resource == resource && meta(s, "span.kind") == Some("server")
    })
}

/// The conventions of a client span towards `peer`.
fn assert_client(s: &Span, peer: &str) {
    assert_eq!(meta(s, "span.kind"), Some("client"), "{s:#?}");
    assert_eq!(meta(s, "peer.service"), Some(peer), "{s:#?}");
    assert_eq!(meta(s, "out.host"), Some("127.0.0.1"), "{s:#?}");
    assert_eq!(meta(s, "env"), Some("test"), "{s:#?}");
    assert_eq!(meta(s, "version"), Some("9.9"), "{s:#?}");
}

#[test]
fn one_trace_spans_demo_service_inventory_and_a_postgres_query() {
    let sink = TraceSink::start();
    let lab = Lab::start(Some(sink.url()), &[]);
    let slow = lab.get("/slow?ms=80");
    assert_eq!(slow.status(), 200);
    let body: serde_json::Value = slow.json().expect("json");
    assert_eq!(body["items"], 5, "the sample stock: {body}");
    assert_eq!(lab.get("/error").status(), 500);
    let (_service, inventory) = lab.stop();
    let spans = sink.spans();

    // /slow: demo-service -> (client span) -> inventory -> (postgres.query) -> PostgreSQL.
    let root = server(&spans, "demo-service", "GET /slow");
    assert_eq!(root.parent_id, 0);
    let call = child_of(&spans, root, "demo-service's call to inventory");
    assert_eq!(call.service, "demo-service");
    assert_eq!(call.name, "http.client.request");
    assert_eq!(call.resource, "GET /items");
    assert_eq!(call.r#type, "http");
    assert_client(call, "inventory");
    assert_eq!(meta(call, "http.status_code"), Some("200"), "{call:#?}");
    let served = child_of(
        &spans,
        call,
        "inventory's server span, parented by the call",
    );
    assert_eq!(served.service, "inventory");
    assert_eq!(served.resource, "GET /items");
    assert_eq!(meta(served, "span.kind"), Some("server"));
    assert_eq!(meta(served, "env"), Some("test"));
    let query = child_of(&spans, served, "the query under inventory's span");
    assert_eq!(query.name, "postgres.query");
    assert_eq!(
        query.service, "inventory",
        "the caller owns its client span"
    );
    assert_eq!(query.r#type, "sql");
    assert_eq!(
        query.resource,
        "SELECT s.sku, s.name, s.quantity FROM pg_sleep($1) AS wait, stock AS s ORDER BY s.sku",
        "the normalised statement"
    );
    assert_eq!(meta(query, "db.statement"), Some(query.resource.as_str()));
    assert_eq!(meta(query, "db.system"), Some("postgresql"));
    assert_eq!(meta(query, "db.name"), Some("inventory"));
    assert_eq!(meta(query, "db.user"), Some("postgres"));
    assert_client(query, "postgres");
    assert!(
        query.duration >= 80_000_000,
        "the 80 ms are spent in the database: {} ns",
        query.duration
    );
    for (outer, inner) in [(root, call), (call, served), (served, query)] {
        assert!(
            inner.start >= outer.start
                && inner.start + inner.duration <= outer.start + outer.duration + 1_000_000,
            "{inner:#?} inside {outer:#?}"
        );
    }

    // /error: the database refuses the update; both services' spans carry the error and its stack.
    let failed = server(&spans, "demo-service", "GET /error");
    assert_eq!(failed.error, 1);
    assert_eq!(meta(failed, "http.status_code"), Some("500"));
    assert_eq!(
        meta(failed, "error.type"),
        Some("demo_service::InventoryRefused")
    );
    let message = meta(failed, "error.message").unwrap_or_default();
    assert!(
        message.contains("stock reservation failed")
            && message.contains("stock_quantity_not_negative"),
        "{message}"
    );
    // Async frames are inlined into their caller's poll and carry no name of their own in
    // the line tables, but their file and line: the handler's are in the stack.
    assert!(
        meta(failed, "error.stack")
            .is_some_and(|s| s.contains("answered_error") && s.contains("src/http/routes.rs:")),
        "{failed:#?}"
    );
    let call = child_of(&spans, failed, "the reservation call");
    assert_eq!(call.resource, "POST /reservations");
    assert_eq!(meta(call, "http.status_code"), Some("500"));
    // As in Datadog's SDKs, a client span is an error for a 4xx answer only
    // (DD_TRACE_HTTP_CLIENT_ERROR_STATUSES): the 500 is inventory's error, on inventory's span.
    assert_eq!(call.error, 0, "{call:#?}");
    let refused = child_of(&spans, call, "inventory's reservation span");
    assert_eq!(refused.service, "inventory");
    assert_eq!(refused.resource, "POST /reservations");
    assert_eq!(refused.error, 1);
    assert_eq!(
        meta(refused, "error.type"),
        Some("tokio_postgres::error::DbError")
    );
    assert!(
        meta(refused, "error.stack").is_some_and(|s| s.contains("src/inventory/routes.rs:")),
        "{refused:#?}"
    );
    let update = child_of(&spans, refused, "the refused update");
    assert_eq!(update.name, "postgres.query");
    assert_eq!(update.error, 1);
    assert!(update
        .resource
        .starts_with("UPDATE stock SET quantity = quantity - $2"));
    assert!(
        meta(update, "error.message")
            .is_some_and(|m| m.contains("violates check constraint") && m.contains("23514")),
        "{update:#?}"
    );

    // inventory's log lines carry the trace they were written in, as inventory.
    let lines = inventory.json_lines();
    let in_trace: Vec<_> = lines
        .iter()
        .filter(|l| l["dd.trace_id"].as_str() == Some(root.trace_id.to_string().as_str()))
        .collect();
    assert!(!in_trace.is_empty(), "{lines:#?}");
    for l in in_trace {
        assert_eq!(l["dd.service"], "inventory");
        assert_eq!(l["dd.env"], "test");
    }
}

fn status_and_body(svc: &Service, path: &str) -> (u16, String) {
    let res = svc.get(path);
    (res.status().as_u16(), res.text().unwrap_or_default())
}

#[test]
fn outages_of_postgres_and_inventory_are_5xx_never_hangs_and_recover_by_themselves() {
    let sink = TraceSink::start();
    let mut lab = Lab::start(Some(sink.url()), &[]);
    assert_eq!(lab.get("/slow?ms=0").status(), 200);
    let mut failed = 0;

    // PostgreSQL stopped: inventory cannot connect, answers 503, and so does demo-service.
    lab.inventory.pg_mut().stop();
    let (status, body) = status_and_body(&lab.service, "/slow?ms=0");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("PostgreSQL unavailable"), "{body}");
    failed += 1;
    assert_eq!(lab.get("/").status(), 200, "/ has no dependency");
    lab.inventory.pg_mut().restart();
    wait_for(
        "recovery once PostgreSQL is back",
        Duration::from_secs(30),
        || {
            let status = lab.get("/slow?ms=0").status().as_u16();
            if status != 200 {
                failed += 1;
            }
            (status == 200).then_some(())
        },
    );
    assert_eq!(lab.get("/error").status(), 500, "the refusal is back too");

    // inventory stopped: demo-service cannot connect and answers 503 by itself.
    lab.inventory.stop();
    let (status, body) = status_and_body(&lab.service, "/slow?ms=0");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("inventory is unreachable"), "{body}");
    failed += 1;
    lab.inventory.restart();
    wait_for(
        "recovery once inventory is back",
        Duration::from_secs(30),
        || {
            let status = lab.get("/slow?ms=0").status().as_u16();
            if status != 200 {
                failed += 1;
            }
            (status == 200).then_some(())
        },
    );
    let (service, _) = lab.stop();

    // Every failed request's span reached the agent, with its error.
    let spans = sink.spans();
    let errors: Vec<&Span> = spans
        .iter()
        .filter(|s| s.service == "demo-service" && s.resource == "GET /slow" && s.error == 1)
        .collect();
    assert_eq!(errors.len(), failed, "{errors:#?}");
    for s in &errors {
        assert!(
            matches!(meta(s, "http.status_code"), Some("502" | "503" | "504")),
            "{s:#?}"
        );
        assert!(meta(s, "error.message").is_some(), "{s:#?}");
    }
    assert!(service
        .json_lines()
        .iter()
        .any(|l| l["message"] == "inventory call failed" && l["dd.trace_id"].is_string()));
}

#[test]
fn a_stuck_inventory_is_a_504_after_the_timeout() {
    // Accepts connections (the kernel does) and never answers.
    let stuck = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let sink = TraceSink::start();
    let svc = Service::start(&[
        ("DD_TRACE_AGENT_URL", sink.url()),
        (
            "INVENTORY_URL",
            format!("http://{}", stuck.local_addr().expect("addr")),
        ),
        ("INVENTORY_TIMEOUT_MS", "300".into()),
    ]);
    let (status, body) = status_and_body(&svc, "/slow?ms=0");
    assert_eq!(status, 504, "{body}");
    assert!(body.contains("did not answer within 300 ms"), "{body}");
    svc.stop();
    let spans = sink.spans();
    let call = only(&spans, "the timed-out call", |s| {
        s.name == "http.client.request"
    });
    assert_eq!(call.error, 1);
    assert_eq!(
        meta(call, "error.type"),
        Some("demo_service::InventoryTimeout")
    );
    drop(stuck);
}

#[test]
fn inventory_refuses_bad_reservations_with_a_clear_400() {
    let mut inventory = inventory(None);
    let http = reqwest::blocking::Client::new();
    let post = |body: &str| {
        let res = http
            .post(format!("{}/reservations", inventory.url()))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .expect("answer");
        (res.status().as_u16(), res.text().unwrap_or_default())
    };
    let (status, body) = post(r#"{"sku": "widget"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("/reservations") && body.contains("quantity"),
        "{body}"
    );
    assert_eq!(post(r#"{"sku": "widget", "quantity": -3}"#).0, 400);
    assert_eq!(post(r#"{"sku": "widget", "quantity": 99999999999}"#).0, 400);
    assert_eq!(
        post(&format!(
            r#"{{"sku": "{}", "quantity": 1}}"#,
            "x".repeat(5000)
        ))
        .0,
        413
    );
    assert_eq!(post(r#"{"sku": "nothing", "quantity": 1}"#).0, 404);
    let (status, body) = post(r#"{"sku": "gizmo", "quantity": 5}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        inventory.pg().psql(
            "inventory",
            "SELECT quantity FROM stock WHERE sku = 'gizmo'"
        ),
        "40"
    );
    // A restart keeps the stock: the sample rows are only inserted when missing.
    inventory.stop();
    inventory.restart();
    assert_eq!(
        inventory.pg().psql(
            "inventory",
            "SELECT quantity FROM stock WHERE sku = 'gizmo'"
        ),
        "40"
    );
    assert_eq!(
        inventory
            .pg()
            .psql("inventory", "SELECT count(*) FROM stock"),
        "5"
    );
}
