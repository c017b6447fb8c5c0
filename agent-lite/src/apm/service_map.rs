//! The service map, computed from the recent traces: which service calls which, and how those
//! calls go (requests, errors, p95), as Datadog's service map and a service's "downstream" and
//! "database queries" tables show them.
//!
//! How a call is found, as the Agent marks what it aggregates by peer tags
//! (`pkg/trace/stats/span_concentrator.go`): an outbound span is a client or producer span
//! (`span.kind`), or, for tracers that set no kind, a span of an outbound type (`http`, `sql`,
//! `redis`, ...). Its callee is, in order:
//!
//! 1. the service of a child span across the trace (the callee's server span, joined by its
//!    parent id, from another process' payload);
//! 2. its own service, when the tracer named the span by its integration and kept the
//!    application's in `_dd.base_service` (ddtrace's `sqlite`; its `requests` spans too, when
//!    the callee is not traced);
//! 3. its peer tags: `peer.service`, then for a database `peer.db.name`, then the host
//!    (`out.host`, `net.peer.name`, `server.address`, `peer.hostname`), then `db.system`.
//!
//! A span whose parent belongs to another service and is not outbound (a tracer that marks
//! nothing) still makes an edge, parent's service to its own. A node's figures are its service
//! entry spans (no parent, or a parent of another service; not a client span named by its
//! integration); a dependency seen only through its callers (a database) takes the figures of
//! the calls made to it.

use std::collections::BTreeMap;

use bytes::Bytes;
use libdd_trace_obfuscation::obfuscation_config::{DbmsKind, SqlConfig};
use libdd_trace_obfuscation::sql::obfuscate_sql_resource;
use libdd_trace_utils::msgpack_decoder::v04;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize, Serializer};
use sketches_ddsketch::DDSketch;
use smallvec::SmallVec;

use super::trace_store::TraceStore;
use super::{behind_array_header, Span, SpanView};
use crate::store::new_sketch;

/// `?from=&to=&env=` of the service map's API: unix seconds, the last hour by default.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct MapQuery {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub env: Option<String>,
}

impl MapQuery {
    /// The window in unix seconds, or why it is not one.
    pub fn window(&self, now: i64) -> Result<(i64, i64), String> {
        let to = self.to.unwrap_or(now);
        let from = self.from.unwrap_or(to - 3600);
        if from > to {
            return Err(format!("from ({from}) is after to ({to})"));
        }
        Ok((from, to))
    }
}

/// Requests, errors and latency of a node, an edge or a query.
#[derive(Clone)]
pub struct Figures {
    pub requests: u64,
    pub errors: u64,
    sketch: DDSketch,
}

impl Default for Figures {
    fn default() -> Self {
        Self {
            requests: 0,
            errors: 0,
            sketch: new_sketch(),
        }
    }
}

impl std::fmt::Debug for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Figures")
            .field("requests", &self.requests)
            .field("errors", &self.errors)
            .field("p95_ms", &self.p95_ms())
            .finish()
    }
}

impl Figures {
    fn add(&mut self, span: &Span<'_>) {
        self.requests += 1;
        self.errors += u64::from(span.is_error());
        self.sketch.add(span.duration.max(0) as f64 / 1e6);
    }

    fn merge(&mut self, other: &Figures) {
        self.requests += other.requests;
        self.errors += other.errors;
        // Sketches made by `new_sketch` share their configuration: merging cannot fail.
        let _ = self.sketch.merge(&other.sketch);
    }

    /// The 95th percentile of the durations, in milliseconds (DDSketch, 1% relative accuracy).
    pub fn p95_ms(&self) -> Option<f64> {
        self.sketch.quantile(0.95).ok().flatten()
    }
}

impl Serialize for Figures {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut out = serializer.serialize_struct("Figures", 4)?;
        out.serialize_field("requests", &self.requests)?;
        out.serialize_field("errors", &self.errors)?;
        let rate = (self.requests > 0).then(|| self.errors as f64 / self.requests as f64);
        out.serialize_field("error_rate", &rate)?;
        out.serialize_field("p95_ms", &self.p95_ms())?;
        out.end()
    }
}

/// What a node is: a traced service, or a dependency known only from its callers' peer tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    Service,
    Database,
    External,
}

#[derive(Debug, Serialize)]
pub struct Node {
    pub service: String,
    pub kind: NodeKind,
    /// Seen as the service of spans (traced), not only named by its callers.
    pub traced: bool,
    #[serde(flatten)]
    pub figures: Figures,
}

/// Calls from one service to another, as the caller's outbound spans measured them.
#[derive(Debug, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    /// The calls' span type as the tracer set it (`http`, `sql`, `web`, ...), the most common.
    #[serde(rename = "type")]
    pub span_type: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One normalised database statement a service ran.
#[derive(Debug, Serialize)]
pub struct Query {
    pub statement: String,
    pub db_system: String,
    /// The database node the calls went to.
    pub database: String,
    #[serde(rename = "calls")]
    pub calls: u64,
    pub errors: u64,
    pub p95_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct ServiceMap {
    pub from: i64,
    pub to: i64,
    pub env: Option<String>,
    /// Traces read; the map covers what the trace store still holds of the window.
    pub traces: usize,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// One service's neighbours and queries, for its APM page.
#[derive(Debug, Serialize)]
pub struct ServiceDependencies {
    pub service: String,
    pub from: i64,
    pub to: i64,
    pub traces: usize,
    pub node: Option<Node>,
    pub downstream: Vec<Edge>,
    pub upstream: Vec<Edge>,
    pub queries: Vec<Query>,
}

/// The window and env a map is computed for, in the store's units.
struct Scope<'q> {
    from_ns: i64,
    to_ns: i64,
    env: Option<&'q str>,
}

/// Everything gathered while reading the traces.
#[derive(Default)]
struct Gathered {
    traces: usize,
    /// Entry spans per service.
    entries: BTreeMap<String, Figures>,
    edges: BTreeMap<(String, String), EdgeAcc>,
    queries: BTreeMap<(String, String, String, String), Figures>,
}

#[derive(Default)]
struct EdgeAcc {
    figures: Figures,
    kind: Option<NodeKind>,
    types: BTreeMap<String, u64>,
}

/// The chunks to read, copied out of the store under its lock; decoding happens after.
pub fn snapshot(store: &TraceStore, from: i64, to: i64) -> Vec<SmallVec<[Bytes; 1]>> {
    // Spans of a trace started a little before the window may end inside it.
    store.chunks_between(
        from.saturating_sub(60).saturating_mul(1_000_000_000),
        to.saturating_add(1).saturating_mul(1_000_000_000),
    )
}

/// The service map of `traces` (from [`snapshot`]) over `[from, to]` (unix seconds).
pub fn service_map(
    traces: &[SmallVec<[Bytes; 1]>],
    from: i64,
    to: i64,
    env: Option<&str>,
) -> ServiceMap {
    let g = gather(traces, from, to, env);
    ServiceMap {
        from,
        to,
        env: env.map(str::to_owned),
        traces: g.traces,
        nodes: nodes(&g),
        edges: edges(&g, |_| true),
    }
}

/// `service`'s downstream and upstream calls and its database queries over `[from, to]`.
pub fn dependencies(
    traces: &[SmallVec<[Bytes; 1]>],
    service: &str,
    from: i64,
    to: i64,
    env: Option<&str>,
) -> ServiceDependencies {
    let g = gather(traces, from, to, env);
    let mut queries: Vec<Query> = g
        .queries
        .iter()
        .filter(|((caller, ..), _)| caller == service)
        .map(|((_, database, db_system, statement), f)| Query {
            statement: statement.clone(),
            db_system: db_system.clone(),
            database: database.clone(),
            calls: f.requests,
            errors: f.errors,
            p95_ms: f.p95_ms(),
        })
        .collect();
    queries.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.statement.cmp(&b.statement)));
    ServiceDependencies {
        service: service.to_owned(),
        from,
        to,
        traces: g.traces,
        node: nodes(&g).into_iter().find(|n| n.service == service),
        downstream: edges(&g, |(caller, _)| caller == service),
        upstream: edges(&g, |(_, callee)| callee == service),
        queries,
    }
}

fn gather(traces: &[SmallVec<[Bytes; 1]>], from: i64, to: i64, env: Option<&str>) -> Gathered {
    let scope = Scope {
        from_ns: from.saturating_mul(1_000_000_000),
        to_ns: to.saturating_add(1).saturating_mul(1_000_000_000),
        env,
    };
    let mut g = Gathered::default();
    for chunks in traces {
        let parts: Vec<&[u8]> = chunks.iter().map(|c| &c[..]).collect();
        let payload = behind_array_header(parts.len(), &parts);
        // Each chunk decoded when it was received; a failure now would be a bug, not input.
        let Ok((decoded, _)) = v04::from_slice(&payload) else {
            continue;
        };
        let spans: Vec<&Span<'_>> = decoded.iter().flatten().collect();
        if read_trace(&spans, &scope, &mut g) {
            g.traces += 1;
        }
    }
    g
}

/// Span types of outbound calls, for tracers that set no `span.kind`.
const OUTBOUND_TYPES: &[&str] = &[
    "http",
    "sql",
    "db",
    "cache",
    "redis",
    "memcached",
    "mongodb",
    "cassandra",
    "elasticsearch",
    "grpc",
    "queue",
];

/// Span types of databases.
const DATABASE_TYPES: &[&str] = &[
    "sql",
    "db",
    "cache",
    "redis",
    "memcached",
    "mongodb",
    "cassandra",
    "elasticsearch",
];

fn is_outbound(span: &Span<'_>) -> bool {
    match span.meta("span.kind") {
        Some(kind) => matches!(kind, "client" | "producer"),
        None => OUTBOUND_TYPES.contains(&&*span.r#type),
    }
}

fn is_database(span: &Span<'_>) -> bool {
    span.meta("db.system").is_some() || DATABASE_TYPES.contains(&&*span.r#type)
}

/// The host a client span called, from its peer tags.
fn peer_host<'s>(span: &'s Span<'_>) -> Option<&'s str> {
    [
        "out.host",
        "net.peer.name",
        "server.address",
        "peer.hostname",
    ]
    .iter()
    .find_map(|k| span.meta(k).filter(|v| !v.is_empty()))
}

/// The dependency a client span names by its peer tags, and what kind it is.
fn peer_of<'s>(span: &'s Span<'_>) -> Option<(&'s str, NodeKind)> {
    let database = is_database(span);
    let kind = if database {
        NodeKind::Database
    } else {
        NodeKind::External
    };
    if let Some(peer) = span.meta("peer.service").filter(|v| !v.is_empty()) {
        return Some((peer, kind));
    }
    let named = if database {
        span.meta("peer.db.name")
            .filter(|v| !v.is_empty())
            .or_else(|| peer_host(span))
            .or_else(|| span.meta("db.system"))
    } else {
        peer_host(span)
    };
    named.filter(|v| !v.is_empty()).map(|n| (n, kind))
}

/// Reads one trace's spans into `g`; false when none was in scope.
fn read_trace(spans: &[&Span<'_>], scope: &Scope<'_>, g: &mut Gathered) -> bool {
    let by_id: FxHashMap<u64, &Span<'_>> = spans.iter().map(|s| (s.span_id, *s)).collect();
    let mut children: FxHashMap<u64, SmallVec<[&Span<'_>; 2]>> = FxHashMap::default();
    for s in spans {
        if s.parent_id != 0 {
            children.entry(s.parent_id).or_default().push(s);
        }
    }
    // A span without its own env tag takes the trace's (tracers tag the root at least).
    let trace_env = spans.iter().find_map(|s| s.meta("env"));
    let mut any = false;
    for span in spans {
        let end = span.start.saturating_add(span.duration);
        if end < scope.from_ns || end >= scope.to_ns {
            continue;
        }
        if let Some(want) = scope.env {
            if span.meta("env").or(trace_env) != Some(want) {
                continue;
            }
        }
        any = true;
        let parent = by_id.get(&span.parent_id).copied();
        let service = span.service();
        let base = span
            .meta("_dd.base_service")
            .filter(|b| !b.is_empty())
            .or(parent.map(SpanView::service));
        // A client span named by its integration is its application's call, not an entry
        // into a service of its own.
        let integration_call = is_outbound(span) && base.is_some_and(|b| b != service);
        if parent.is_none_or(|p| p.service() != service) && !integration_call {
            g.entries.entry(service.to_owned()).or_default().add(span);
        }
        let call = if is_outbound(span) {
            outbound_call(span, base, &children)
        } else {
            // A server span called by a parent that is not marked outbound.
            parent
                .filter(|p| p.service() != service && !is_outbound(p))
                .map(|p| (p.service(), service, NodeKind::Service))
        };
        let Some((caller, callee, kind)) = call else {
            continue;
        };
        if caller == callee {
            continue;
        }
        let edge = g
            .edges
            .entry((caller.to_owned(), callee.to_owned()))
            .or_default();
        edge.figures.add(span);
        edge.kind = edge.kind.max(Some(kind));
        *edge.types.entry(span.r#type.to_string()).or_default() += 1;
        if is_database(span) {
            let system = span.meta("db.system").unwrap_or(&span.r#type);
            let statement = span
                .meta("db.statement")
                .filter(|s| !s.is_empty())
                .unwrap_or(span.resource());
            let key = (
                caller.to_owned(),
                callee.to_owned(),
                system.to_owned(),
                normalise(statement, system),
            );
            g.queries.entry(key).or_default().add(span);
        }
    }
    any
}

/// The caller, callee and callee's kind of an outbound span.
fn outbound_call<'s>(
    span: &'s Span<'_>,
    base: Option<&'s str>,
    children: &FxHashMap<u64, SmallVec<[&'s Span<'_>; 2]>>,
) -> Option<(&'s str, &'s str, NodeKind)> {
    let service = span.service();
    let own_kind = if is_database(span) {
        NodeKind::Database
    } else {
        NodeKind::External
    };
    // The application that made the call, when the tracer named the span by its integration
    // (ddtrace's `requests`, `sqlite`).
    let named_by_integration = base.filter(|b| *b != service);
    let caller = named_by_integration.unwrap_or(service);
    let child = children.get(&span.span_id).and_then(|c| {
        c.iter()
            .copied()
            .find(|c| c.service() != service && c.service() != caller)
    });
    if let Some(child) = child {
        return Some((caller, child.service(), NodeKind::Service));
    }
    if named_by_integration.is_some() {
        return Some((caller, service, own_kind));
    }
    peer_of(span).map(|(peer, kind)| (service, peer, kind))
}

/// A statement as the Agent's obfuscator normalises it: literals become `?`, so that one
/// query with different values is one row.
fn normalise(statement: &str, db_system: &str) -> String {
    if statement.is_empty() {
        return String::new();
    }
    let dbms = DbmsKind::try_from(db_system).unwrap_or_default();
    obfuscate_sql_resource(statement, &SqlConfig::default(), dbms)
}

fn nodes(g: &Gathered) -> Vec<Node> {
    let mut out: BTreeMap<&str, Node> = BTreeMap::new();
    for (service, figures) in &g.entries {
        out.insert(
            service,
            Node {
                service: service.clone(),
                kind: NodeKind::Service,
                traced: true,
                figures: figures.clone(),
            },
        );
    }
    for ((caller, callee), edge) in &g.edges {
        for name in [caller, callee] {
            out.entry(name).or_insert_with(|| Node {
                service: name.clone(),
                kind: if name == callee {
                    edge.kind.unwrap_or(NodeKind::External)
                } else {
                    NodeKind::Service
                },
                traced: false,
                figures: Figures::default(),
            });
        }
        let node = out.get_mut(callee.as_str());
        if let Some(node) = node.filter(|n| !n.traced) {
            node.figures.merge(&edge.figures);
        }
    }
    out.into_values().collect()
}

fn edges(g: &Gathered, keep: impl Fn(&(String, String)) -> bool) -> Vec<Edge> {
    g.edges
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|((from, to), e)| Edge {
            from: from.clone(),
            to: to.clone(),
            span_type: e
                .types
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(t, _)| t.clone())
                .unwrap_or_default(),
            figures: e.figures.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests;
