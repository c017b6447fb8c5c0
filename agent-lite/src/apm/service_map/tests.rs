use super::*;
use crate::apm::test_span;
use libdd_trace_utils::msgpack_encoder::v04::to_vec_from_v04;

/// A trace sent as two chunks (two processes' payloads), as the store keeps it.
fn kept(chunks: &[Vec<Span<'static>>]) -> SmallVec<[Bytes; 1]> {
    chunks
        .iter()
        .map(|c| {
            // One trace: a one-byte array header, then the chunk.
            Bytes::from(to_vec_from_v04(&[c.as_slice()])).slice(1..)
        })
        .collect()
}

fn typed(mut s: Span<'static>, ty: &str, resource: &str) -> Span<'static> {
    s.r#type = ty.to_owned().into();
    s.resource = resource.to_owned().into();
    s
}

/// demo-service's server span calls inventory over HTTP; inventory's server span queries
/// PostgreSQL (named by peer.service). `fail` makes the query and both hops fail.
fn trace(id: u64, query_ms: i64, fail: bool) -> SmallVec<[Bytes; 1]> {
    let e = i32::from(fail);
    let env = ("env", "dev");
    let demo = vec![
        typed(
            test_span::span(
                id,
                1,
                0,
                "demo-service",
                "http.server.request",
                e,
                30_000_000 + query_ms * 1_000_000,
                &[env, ("span.kind", "server")],
            ),
            "web",
            "GET /slow",
        ),
        typed(
            test_span::span(
                id,
                2,
                1,
                "demo-service",
                "http.client.request",
                e,
                20_000_000 + query_ms * 1_000_000,
                &[
                    env,
                    ("span.kind", "client"),
                    ("out.host", "inventory.internal"),
                ],
            ),
            "http",
            "GET",
        ),
    ];
    let statement =
        format!("SELECT qty FROM stock WHERE sku = 'sku-{id}' AND pg_sleep({query_ms})");
    let inventory = vec![
        typed(
            test_span::span(
                id,
                3,
                2,
                "inventory",
                "http.server.request",
                e,
                10_000_000 + query_ms * 1_000_000,
                &[env, ("span.kind", "server")],
            ),
            "web",
            "GET /stock",
        ),
        typed(
            test_span::span(
                id,
                4,
                3,
                "inventory",
                "postgresql.query",
                e,
                query_ms * 1_000_000,
                &[
                    env,
                    ("span.kind", "client"),
                    ("db.system", "postgresql"),
                    ("peer.service", "postgres"),
                    ("db.statement", &statement),
                ],
            ),
            "sql",
            &statement,
        ),
    ];
    // The callee's chunk arrives first: it ends first.
    kept(&[inventory, demo])
}

fn node<'m>(map: &'m ServiceMap, name: &str) -> &'m Node {
    map.nodes
        .iter()
        .find(|n| n.service == name)
        .unwrap_or_else(|| panic!("no node {name}: {map:?}"))
}

fn edge<'m>(edges: &'m [Edge], from: &str, to: &str) -> &'m Edge {
    edges
        .iter()
        .find(|e| e.from == from && e.to == to)
        .unwrap_or_else(|| panic!("no edge {from} -> {to}: {edges:?}"))
}

/// The test spans end at 1000 s (+ their duration).
const FROM: i64 = 990;
const TO: i64 = 1010;

#[test]
fn a_trace_across_two_services_and_a_database_makes_nodes_and_edges() {
    let mut traces: Vec<_> = (1..=18).map(|id| trace(id, 100, false)).collect();
    traces.push(trace(19, 400, true));
    traces.push(trace(20, 400, false));
    let map = service_map(&traces, FROM, TO, None);
    assert_eq!(map.traces, 20);
    let names: Vec<&str> = map.nodes.iter().map(|n| n.service.as_str()).collect();
    assert_eq!(names, ["demo-service", "inventory", "postgres"]);
    assert_eq!(map.edges.len(), 2, "{:?}", map.edges);

    let demo = node(&map, "demo-service");
    assert_eq!((demo.kind, demo.traced), (NodeKind::Service, true));
    assert_eq!((demo.figures.requests, demo.figures.errors), (20, 1));
    let pg = node(&map, "postgres");
    assert_eq!((pg.kind, pg.traced), (NodeKind::Database, false));
    assert_eq!((pg.figures.requests, pg.figures.errors), (20, 1));

    let http = edge(&map.edges, "demo-service", "inventory");
    assert_eq!(http.span_type, "http", "the child's service, not out.host");
    assert_eq!((http.figures.requests, http.figures.errors), (20, 1));
    let p95 = http.figures.p95_ms().expect("p95");
    assert!(
        (p95 - 420.0).abs() < 420.0 * 0.02,
        "p95 of eighteen 120 ms calls and two of 420: {p95}"
    );
    let sql = edge(&map.edges, "inventory", "postgres");
    assert_eq!(
        (
            sql.figures.requests,
            sql.figures.errors,
            sql.span_type.as_str()
        ),
        (20, 1, "sql")
    );
}

#[test]
fn a_services_page_lists_downstream_calls_and_normalised_queries() {
    let traces: Vec<_> = [(1, 10, false), (2, 20, false), (3, 30, true)]
        .iter()
        .map(|&(id, ms, fail)| trace(id, ms, fail))
        .collect();
    let deps = dependencies(&traces, "inventory", FROM, TO, Some("dev"));
    assert_eq!(deps.downstream.len(), 1);
    assert_eq!(deps.downstream[0].to, "postgres");
    assert_eq!(deps.upstream.len(), 1);
    assert_eq!(deps.upstream[0].from, "demo-service");
    assert_eq!(
        deps.queries.len(),
        1,
        "one statement with different literals: {:?}",
        deps.queries
    );
    let q = &deps.queries[0];
    assert_eq!(
        q.statement,
        "SELECT qty FROM stock WHERE sku = ? AND pg_sleep ( ? )"
    );
    assert_eq!(
        (q.calls, q.errors, q.db_system.as_str(), q.database.as_str()),
        (3, 1, "postgresql", "postgres")
    );
    // DDSketch's p95 of three is the second (rank 0.95 * (n - 1), rounded down).
    assert!(q.p95_ms.is_some_and(|p| (p - 20.0).abs() < 0.4), "{q:?}");
    assert_eq!(deps.node.map(|n| n.figures.requests), Some(3));
}

#[test]
fn env_and_window_filter_and_peer_tags_name_untraced_callees() {
    let traces = vec![trace(1, 10, false)];
    assert_eq!(service_map(&traces, FROM, TO, Some("prod")).edges.len(), 0);
    assert_eq!(service_map(&traces, 2000, 3000, None).traces, 0);
    // Without the callee's chunk, the client span's out.host names the callee.
    let alone = vec![kept(&[vec![typed(
        test_span::span(
            5,
            2,
            0,
            "demo-service",
            "http.client.request",
            0,
            1_000_000,
            &[("span.kind", "client"), ("out.host", "inventory.internal")],
        ),
        "http",
        "GET",
    )]])];
    let map = service_map(&alone, FROM, TO, None);
    let e = edge(&map.edges, "demo-service", "inventory.internal");
    assert_eq!(e.figures.requests, 1);
    assert_eq!(node(&map, "inventory.internal").kind, NodeKind::External);
}

#[test]
fn a_span_named_by_its_dependency_is_an_edge_from_its_base_service() {
    // ddtrace names an integration's spans by the dependency and keeps the app's service in
    // _dd.base_service.
    let chunk = vec![
        typed(
            test_span::span(7, 1, 0, "web", "flask.request", 0, 5_000_000, &[]),
            "web",
            "GET /",
        ),
        typed(
            test_span::span(
                7,
                2,
                1,
                "sqlite",
                "sqlite.query",
                0,
                1_000_000,
                &[("_dd.base_service", "web"), ("db.system", "sqlite")],
            ),
            "sql",
            "select 1",
        ),
    ];
    let map = service_map(&[kept(&[chunk])], FROM, TO, None);
    let e = edge(&map.edges, "web", "sqlite");
    assert_eq!(e.figures.requests, 1);
    assert_eq!(map.edges.len(), 1, "{:?}", map.edges);
    let db = node(&map, "sqlite");
    assert_eq!((db.kind, db.traced), (NodeKind::Database, false));
    assert_eq!(db.figures.requests, 1);
    let names: Vec<&str> = map.nodes.iter().map(|n| n.service.as_str()).collect();
    assert_eq!(names, ["sqlite", "web"]);
}
