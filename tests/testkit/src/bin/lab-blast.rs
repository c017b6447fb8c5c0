//! `lab-blast`: the load of agent-lite's benchmark (`bench/agent-lite.sh`), the same bytes for
//! agent-lite and for its peer.
//!
//! - `lab-blast traces --url http://127.0.0.1:8126`: v0.4 msgpack payloads of spans shaped
//!   like demo-service's (`GET /`, `GET /slow` with its three child spans, `GET /error` with
//!   its error tags), encoded once before the clock starts, then PUT to `/v0.4/traces` by C
//!   connections for D seconds. Counts the spans of the payloads answered 2xx.
//! - `lab-blast dogstatsd --addr 127.0.0.1:8125`: datagrams of ~20 DogStatsD lines (counts,
//!   gauges, histograms, timers, distributions, sets, with tags), built once, then sent over
//!   UDP for D seconds at full speed or at a given rate. UDP says nothing of what arrived, so
//!   with `--status-url` the lines agent-lite processed are read from its own counters.
//!
//! Both print one JSON object on stdout. The run is bounded by `--duration` (and each request
//! by `--request-timeout`): this is a load tool, not a timed test; the bench script turns its
//! counts into figures per CPU-second of the receiver.

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use bytes::Bytes;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "lab-blast",
    about = "Load for agent-lite's benchmark: v0.4 trace payloads over HTTP, DogStatsD over UDP"
)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// PUT pre-encoded v0.4 msgpack trace payloads to URL/v0.4/traces.
    Traces(TracesArgs),
    /// Send pre-built DogStatsD datagrams over UDP.
    Dogstatsd(StatsdArgs),
}

#[derive(Args)]
struct TracesArgs {
    /// Base URL of the trace intake (the path /v0.4/traces is added).
    #[arg(long, default_value = "http://127.0.0.1:8126")]
    url: String,
    /// Distinct payloads encoded before the run and sent in turn. Enough of them that a trace
    /// id comes back only after the receiver's recent-trace store (200,000 spans by default in
    /// agent-lite) has let it go: a repeated id would grow an old trace instead of adding one.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    payloads: u64,
    /// Spans in a payload (whole traces: the last trace may take it a few spans over).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    spans_per_payload: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    connections: u64,
    /// Seconds of sending (requests in flight then are awaited and counted).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Seconds one request may take before it counts as failed.
    #[arg(long, default_value_t = 30.0)]
    request_timeout: f64,
    /// `env` of the spans.
    #[arg(long, default_value = "bench")]
    env: String,
    /// agent-lite's status API (e.g. http://127.0.0.1:5002/status): its `traces.*` counters
    /// are read before and after, to show what it decoded.
    #[arg(long)]
    status_url: Option<String>,
    /// Write the first payload to this file and send nothing: the same bytes for a profiler,
    /// a decoder micro-benchmark or `curl --data-binary`.
    #[arg(long)]
    save_payload: Option<std::path::PathBuf>,
}

#[derive(Args)]
struct StatsdArgs {
    /// DogStatsD address (UDP).
    #[arg(long, default_value = "127.0.0.1:8125")]
    addr: SocketAddr,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Lines a second to aim at, over all senders; 0 sends as fast as the senders can.
    #[arg(long, default_value_t = 0)]
    rate: u64,
    /// Sending threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=64))]
    senders: u64,
    /// Distinct datagrams built before the run and sent in turn.
    #[arg(long, default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    datagrams: u64,
    /// Lines in a datagram (a datagram stays within 8192 bytes, the Agent's buffer).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=200))]
    lines_per_datagram: u64,
    /// `env` tag of the metrics.
    #[arg(long, default_value = "bench")]
    env: String,
    /// agent-lite's status API (e.g. http://127.0.0.1:5002/status): the lines it processed are
    /// its `dogstatsd.*` counters after the run minus before.
    #[arg(long)]
    status_url: Option<String>,
    /// After sending, how long to wait at most for agent-lite's counters to stop moving (it
    /// may still hold queued datagrams).
    #[arg(long, default_value_t = 10.0)]
    settle_timeout: f64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let out = match cli.mode {
        Mode::Traces(a) => blast_traces(a)?,
        Mode::Dogstatsd(a) => blast_dogstatsd(a)?,
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn seconds(what: &str, s: f64) -> anyhow::Result<Duration> {
    if !(s.is_finite() && s > 0.0 && s <= 24.0 * 3600.0) {
        bail!("{what} must be a number of seconds in (0, 86400], not {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

/// A small deterministic generator (splitmix64): the payloads are the same from run to run,
/// so agent-lite and its peer get the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// An id tracers would send: non-zero.
    fn id(&mut self) -> u64 {
        self.next() | 1
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

// ---------------------------------------------------------------------------------------
// Traces

/// A v0.4 span as tracers encode it: a msgpack map with these field names, zero and empty
/// fields left out as dd-trace-rs does.
#[derive(Serialize)]
struct Span {
    service: &'static str,
    name: &'static str,
    resource: &'static str,
    trace_id: u64,
    span_id: u64,
    #[serde(skip_serializing_if = "is_zero")]
    parent_id: u64,
    start: i64,
    duration: i64,
    #[serde(skip_serializing_if = "is_zero_i32")]
    error: i32,
    meta: BTreeMap<&'static str, String>,
    metrics: BTreeMap<&'static str, f64>,
    r#type: &'static str,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

/// A Rust backtrace of the size demo-service puts in `error.stack` (about 1.5 kB).
const ERROR_STACK: &str = "   0: demo_service::http::errors::DemoError::simulated\n             at ./demo-service/src/http/errors.rs:28:20\n   1: demo_service::http::routes::checkout::reserve_stock\n             at ./demo-service/src/http/routes.rs:153:13\n   2: demo_service::http::routes::checkout::place_order\n             at ./demo-service/src/http/routes.rs:148:9\n   3: demo_service::http::routes::error::{{closure}}\n             at ./demo-service/src/http/routes.rs:138:15\n   4: actix_web::handler::handler_service::{{closure}}::{{closure}}\n             at actix-web-4.18.1/src/handler.rs:113:22\n   5: <demo_service::http::server_span::ServerSpanService<S> as actix_service::Service<actix_web::service::ServiceRequest>>::call::{{closure}}\n             at ./demo-service/src/http/server_span.rs:131:45\n   6: <tracing::instrument::Instrumented<T> as core::future::future::Future>::poll\n             at tracing-0.1.44/src/instrument.rs:321:15\n   7: actix_http::h1::dispatcher::InnerDispatcher<T,S,B,X,U>::handle_request\n             at actix-http-3.20.0/src/h1/dispatcher.rs:880:38\n   8: actix_http::h1::dispatcher::InnerDispatcher<T,S,B,X,U>::poll_request\n             at actix-http-3.20.0/src/h1/dispatcher.rs:1052:21\n   9: tokio::runtime::task::core::Core<T,S>::poll\n             at tokio-1.48.0/src/runtime/task/core.rs:365:24\n";

struct TraceShape<'a> {
    env: &'a str,
    runtime_id: String,
    pid: f64,
    start: i64,
}

impl TraceShape<'_> {
    /// Tags every span of demo-service carries (datadog-opentelemetry 0.6).
    fn common_meta(&self, kind: &'static str, trace_id: u64) -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("span.kind", kind.to_owned()),
            ("deployment.environment.name", self.env.to_owned()),
            ("telemetry.sdk.language", "rust".to_owned()),
            ("otel.trace_id", format!("6b06d7b200000000{trace_id:016x}")),
            ("_dd.p.dm", "-0".to_owned()),
            ("env", self.env.to_owned()),
            ("otel.scope.name", "demo-service".to_owned()),
            ("otel.status_code", "Unset".to_owned()),
            ("telemetry.sdk.name", "datadog".to_owned()),
            ("telemetry.sdk.version", "0.6.0".to_owned()),
            ("version", "1.0".to_owned()),
        ])
    }

    /// The server span of one request.
    fn root(&self, rng: &mut Rng, route: &'static str, status: u16, dur_ns: i64) -> Span {
        let trace_id = rng.id();
        let mut meta = self.common_meta("server", trace_id);
        let resource = match route {
            "/" => "GET /",
            "/slow" => "GET /slow",
            _ => "GET /error",
        };
        meta.insert("http.status_code", status.to_string());
        meta.insert("http.method", "GET".to_owned());
        meta.insert("http.route", route.to_owned());
        meta.insert("http.url", format!("http://127.0.0.1:8080{route}"));
        meta.insert("http.client_ip", "127.0.0.1".to_owned());
        meta.insert("http.useragent", "wrk/4.2.0".to_owned());
        meta.insert("language", "rust".to_owned());
        meta.insert("runtime-id", self.runtime_id.clone());
        meta.insert("_dd.sdk.otlp_export", "false".to_owned());
        let mut error = 0;
        if status >= 500 {
            error = 1;
            meta.insert("error.type", "demo_service::SimulatedFailure".to_owned());
            meta.insert(
                "error.message",
                "inventory service answered 503: stock reservation failed".to_owned(),
            );
            meta.insert("error.stack", ERROR_STACK.to_owned());
        }
        Span {
            service: "demo-service",
            name: "http.server.request",
            resource,
            trace_id,
            span_id: rng.id(),
            parent_id: 0,
            start: self.start + rng.below(1_000_000_000) as i64,
            duration: dur_ns,
            error,
            meta,
            metrics: BTreeMap::from([
                ("http.status_code", f64::from(status)),
                ("_sampling_priority_v1", 1.0),
                ("process_id", self.pid),
                ("_top_level", 1.0),
            ]),
            r#type: "web",
        }
    }

    fn child(
        &self,
        rng: &mut Rng,
        root: &Span,
        name: &'static str,
        resource: &'static str,
        kind: &'static str,
        span_type: &'static str,
    ) -> Span {
        Span {
            service: "demo-service",
            name,
            resource,
            trace_id: root.trace_id,
            span_id: rng.id(),
            parent_id: root.span_id,
            start: root.start + 100_000,
            duration: root.duration / 4,
            error: 0,
            meta: self.common_meta(kind, root.trace_id),
            metrics: BTreeMap::from([("_sampling_priority_v1", 1.0)]),
            r#type: span_type,
        }
    }

    /// One trace, chosen as a demo load mixes them: mostly `GET /`, some `GET /slow` (four
    /// spans), some `GET /error`.
    fn trace(&self, rng: &mut Rng) -> Vec<Span> {
        match rng.below(10) {
            0 => {
                let dur = 500_000_000 + rng.below(1_000_000_000) as i64;
                let root = self.root(rng, "/slow", 200, dur);
                let mut http =
                    self.child(rng, &root, "http.client.request", "GET", "client", "http");
                http.meta.insert("http.status_code", "200".to_owned());
                http.meta.insert("http.method", "GET".to_owned());
                http.meta.insert(
                    "http.url",
                    "http://inventory.internal/items?limit=20".to_owned(),
                );
                http.meta
                    .insert("http.server_name", "inventory.internal".to_owned());
                http.meta.insert("peer.service", "inventory".to_owned());
                http.metrics.insert("_dd.measured", 1.0);
                http.metrics.insert("http.status_code", 200.0);
                let mut sql = self.child(
                    rng,
                    &root,
                    "postgresql.query",
                    "SELECT id, total FROM orders WHERE created_at > ? ORDER BY created_at DESC LIMIT ?",
                    "client",
                    "sql",
                );
                sql.meta.insert("db.system", "postgresql".to_owned());
                sql.meta.insert("db.name", "shop".to_owned());
                sql.meta.insert(
                    "db.statement",
                    "SELECT id, total FROM orders WHERE created_at > $1 ORDER BY created_at DESC LIMIT 20"
                        .to_owned(),
                );
                sql.meta.insert("db.operation", "SELECT".to_owned());
                sql.meta.insert("peer.service", "postgres".to_owned());
                sql.metrics.insert("_dd.measured", 1.0);
                let render = self.child(
                    rng,
                    &root,
                    "template.render",
                    "orders.html",
                    "internal",
                    "custom",
                );
                vec![root, http, sql, render]
            }
            1 => {
                let dur = 300_000_000 + rng.below(100_000_000) as i64;
                vec![self.root(rng, "/error", 500, dur)]
            }
            _ => {
                let dur = 40_000 + rng.below(200_000) as i64;
                vec![self.root(rng, "/", 200, dur)]
            }
        }
    }
}

struct Payload {
    body: Bytes,
    traces: usize,
    spans: u64,
}

fn encode_payloads(a: &TracesArgs) -> anyhow::Result<Vec<Payload>> {
    let now_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let shape = TraceShape {
        env: &a.env,
        runtime_id: "a1b8e9c2-88d7-4e9c-86ff-ae6f3b6a5242".to_owned(),
        pid: f64::from(std::process::id()),
        // Ten seconds ago: the spans end in the past, as spans a tracer flushes do.
        start: now_ns - 10_000_000_000,
    };
    let mut rng = Rng(0x1AB_B1A5);
    let mut payloads = Vec::with_capacity(a.payloads as usize);
    for _ in 0..a.payloads {
        let mut traces: Vec<Vec<Span>> = Vec::new();
        let mut spans = 0u64;
        while spans < a.spans_per_payload {
            let t = shape.trace(&mut rng);
            spans += t.len() as u64;
            traces.push(t);
        }
        let body = rmp_serde::to_vec_named(&traces).context("encoding a v0.4 payload")?;
        payloads.push(Payload {
            body: Bytes::from(body),
            traces: traces.len(),
            spans,
        });
    }
    Ok(payloads)
}

#[derive(Default)]
struct TraceTally {
    payloads: AtomicU64,
    spans: AtomicU64,
    traces: AtomicU64,
    errors: AtomicU64,
    /// The first few failures, to say why.
    samples: Mutex<Vec<String>>,
}

impl TraceTally {
    fn fail(&self, why: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut s = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        if s.len() < 5 {
            s.push(why);
        }
    }
}

fn blast_traces(a: TracesArgs) -> anyhow::Result<serde_json::Value> {
    let duration = seconds("--duration", a.duration)?;
    let request_timeout = seconds("--request-timeout", a.request_timeout)?;
    let url = format!("{}/v0.4/traces", a.url.trim_end_matches('/'));
    let payloads = Arc::new(encode_payloads(&a)?);
    if let Some(path) = &a.save_payload {
        let first = payloads.first().context("no payload encoded")?;
        std::fs::write(path, &first.body).with_context(|| format!("writing {}", path.display()))?;
        return Ok(json!({
            "mode": "traces",
            "saved": path.display().to_string(),
            "bytes": first.body.len(),
            "traces": first.traces,
            "spans": first.spans,
        }));
    }
    let bytes: usize = payloads.iter().map(|p| p.body.len()).sum();
    let spans_encoded: u64 = payloads.iter().map(|p| p.spans).sum();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    let client = reqwest::Client::builder()
        .timeout(request_timeout)
        .pool_max_idle_per_host(a.connections as usize)
        .build()
        .context("building the HTTP client")?;

    let before = match &a.status_url {
        Some(u) => Some(read_counters(u)?),
        None => None,
    };
    let tally = Arc::new(TraceTally::default());
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    runtime.block_on(async {
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..a.connections {
            let (client, url, payloads, tally, next) = (
                client.clone(),
                url.clone(),
                Arc::clone(&payloads),
                Arc::clone(&tally),
                Arc::clone(&next),
            );
            workers.spawn(async move {
                while Instant::now() < deadline {
                    let p = &payloads[next.fetch_add(1, Ordering::Relaxed) % payloads.len()];
                    let sent = client
                        .put(&url)
                        .header("Content-Type", "application/msgpack")
                        .header("X-Datadog-Trace-Count", p.traces.to_string())
                        .header("Datadog-Meta-Lang", "rust")
                        .header("Datadog-Meta-Tracer-Version", "lab-blast")
                        .body(p.body.clone())
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            // Read the answer to the end so the connection is reused.
                            if let Err(e) = r.bytes().await {
                                tally.fail(format!("reading the answer: {e}"));
                                continue;
                            }
                            tally.payloads.fetch_add(1, Ordering::Relaxed);
                            tally.traces.fetch_add(p.traces as u64, Ordering::Relaxed);
                            tally.spans.fetch_add(p.spans, Ordering::Relaxed);
                        }
                        Ok(r) => {
                            let status = r.status();
                            let text = r.text().await.unwrap_or_default();
                            tally.fail(format!(
                                "{status}: {}",
                                text.chars().take(200).collect::<String>()
                            ));
                        }
                        Err(e) => {
                            tally.fail(format!("{e}"));
                            // A refused connection fails at once: do not spin on it.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            });
        }
        while workers.join_next().await.is_some() {}
    });
    let elapsed = started.elapsed().as_secs_f64();
    let spans = tally.spans.load(Ordering::Relaxed);
    let mut out = json!({
        "mode": "traces",
        "url": url,
        "connections": a.connections,
        "distinct_payloads": payloads.len(),
        "spans_per_payload": spans_encoded as f64 / payloads.len() as f64,
        "payload_bytes_avg": bytes as f64 / payloads.len() as f64,
        "payloads": tally.payloads.load(Ordering::Relaxed),
        "traces": tally.traces.load(Ordering::Relaxed),
        "spans": spans,
        "errors": tally.errors.load(Ordering::Relaxed),
        "error_samples": *tally.samples.lock().unwrap_or_else(|e| e.into_inner()),
        "elapsed": elapsed,
        "spans_per_s": spans as f64 / elapsed,
    });
    if let (Some(u), Some(before)) = (&a.status_url, before) {
        let after = read_counters(u)?;
        out["receiver_counters"] = json!(delta(&before, &after, "traces."));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// DogStatsD

/// Datagrams of newline-separated lines, as a tracer's or an application's DogStatsD client
/// buffers them: the runtime metrics demo-service sends, the tracer's health counters, and
/// application metrics of every type, over a bounded set of series (4 instances, 8 routes).
fn build_datagrams(a: &StatsdArgs) -> anyhow::Result<Vec<Vec<u8>>> {
    const ROUTES: [&str; 8] = [
        "get_/",
        "get_/slow",
        "get_/error",
        "get_/burn",
        "post_/orders",
        "get_/orders/?",
        "get_/items",
        "get_/healthz",
    ];
    let mut rng = Rng(0xD06_57A7);
    let mut out = Vec::with_capacity(a.datagrams as usize);
    for d in 0..a.datagrams {
        let instance = d % 4;
        let base = format!(
            "service:demo-service,env:{},version:1.0,runtime-id:5f0c3a8e-7d1b-4c2a-9e6f-00000000000{instance},lang:rust",
            a.env
        );
        let mut lines: Vec<String> = Vec::new();
        for i in 0..a.lines_per_datagram {
            let route = ROUTES[rng.below(ROUTES.len() as u64) as usize];
            let r = rng.next();
            let line = match i % 10 {
                0 => format!("runtime.rust.cpu.percent:{:.2}|g|#{base}", (r % 10_000) as f64 / 100.0),
                1 => format!("runtime.rust.mem.rss:{}|g|#{base}", 20_000_000 + r % 5_000_000),
                2 => format!("runtime.rust.cpu.ctx_switch.voluntary:{}|c|#{base}", r % 500),
                3 => format!(
                    "datadog.tracer.exporter.requests:1|c|#lang:rust,tracer_version:0.6.0,service:demo-service,env:{}",
                    a.env
                ),
                4 => format!(
                    "http.server.request.duration:{:.4}|h|#{base},resource_name:{route},http.status_code:200",
                    (r % 100_000) as f64 / 1e5
                ),
                5 => format!(
                    "http.server.request.latency:{}|ms|@0.5|#{base},resource_name:{route}",
                    r % 1500
                ),
                6 => format!(
                    "checkout.order.total:{:.2}|d|#{base},currency:eur",
                    (r % 50_000) as f64 / 100.0
                ),
                7 => format!("checkout.orders:1|c|#{base},result:ok,resource_name:{route}"),
                8 => format!("cache.lookup:1|c|@0.25|#{base},hit:{}", r.is_multiple_of(2)),
                _ => format!("visitors.unique:user{}|s|#{base}", r % 1000),
            };
            lines.push(line);
        }
        let datagram = lines.join("\n").into_bytes();
        if datagram.len() > 8192 {
            bail!(
                "a datagram of {} lines is {} bytes, over DogStatsD's 8192: lower --lines-per-datagram",
                a.lines_per_datagram,
                datagram.len()
            );
        }
        out.push(datagram);
    }
    Ok(out)
}

fn blast_dogstatsd(a: StatsdArgs) -> anyhow::Result<serde_json::Value> {
    let duration = seconds("--duration", a.duration)?;
    let settle = seconds("--settle-timeout", a.settle_timeout)?;
    let datagrams = Arc::new(build_datagrams(&a)?);
    let lines_per = a.lines_per_datagram;
    let bytes: usize = datagrams.iter().map(Vec::len).sum();

    let before = match &a.status_url {
        Some(u) => Some(read_counters(u)?),
        None => None,
    };
    let sent = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    // Datagrams a second for each sender, when paced.
    let per_sender_rate = (a.rate as f64 / lines_per as f64) / a.senders as f64;
    let mut threads = Vec::new();
    for s in 0..a.senders {
        let (datagrams, sent, errors, addr) = (
            Arc::clone(&datagrams),
            Arc::clone(&sent),
            Arc::clone(&errors),
            a.addr,
        );
        let socket = UdpSocket::bind("127.0.0.1:0").context("binding a UDP socket")?;
        socket
            .connect(addr)
            .with_context(|| format!("connecting the UDP socket to {addr}"))?;
        threads.push(std::thread::spawn(move || {
            let mut i = s as usize;
            let mut mine = 0u64;
            while Instant::now() < deadline {
                // Send a burst of 64, then look at the clock (and at the pace, if any).
                for _ in 0..64 {
                    let d = &datagrams[i % datagrams.len()];
                    i += 1;
                    match socket.send(d) {
                        Ok(_) => mine += 1,
                        Err(_) => {
                            // Loopback refuses (ECONNREFUSED) when nobody listens, or the
                            // send buffer is full: count it and give the receiver a moment.
                            errors.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(Duration::from_micros(200));
                        }
                    }
                }
                if per_sender_rate > 0.0 {
                    let due = started.elapsed().as_secs_f64() * per_sender_rate;
                    let ahead = mine as f64 - due;
                    if ahead > 0.0 {
                        std::thread::sleep(Duration::from_secs_f64(ahead / per_sender_rate));
                    }
                }
            }
            sent.fetch_add(mine, Ordering::Relaxed);
        }));
    }
    for t in threads {
        if t.join().is_err() {
            bail!("a sending thread panicked");
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let datagrams_sent = sent.load(Ordering::Relaxed);
    let lines_sent = datagrams_sent * lines_per;
    let mut out = json!({
        "mode": "dogstatsd",
        "addr": a.addr.to_string(),
        "senders": a.senders,
        "target_lines_per_s": a.rate,
        "lines_per_datagram": lines_per,
        "datagram_bytes_avg": bytes as f64 / datagrams.len() as f64,
        "datagrams_sent": datagrams_sent,
        "lines_sent": lines_sent,
        "send_errors": errors.load(Ordering::Relaxed),
        "elapsed": elapsed,
        "lines_sent_per_s": lines_sent as f64 / elapsed,
    });
    if let (Some(u), Some(before)) = (&a.status_url, before) {
        let (after, settled_after) = settle_counters(u, settle)?;
        let d = delta(&before, &after, "dogstatsd.");
        let Some(&packets) = d.get("dogstatsd.packets") else {
            bail!(
                "{u} has no counter dogstatsd.packets: did agent-lite's counter names change? (see agent-lite/src/intake/dogstatsd/mod.rs)"
            );
        };
        // Parsed: metrics, events and service checks; rejected: dogstatsd.rejected.<reason>.
        let parsed: u64 = [
            "dogstatsd.metrics",
            "dogstatsd.events",
            "dogstatsd.service_checks",
        ]
        .iter()
        .filter_map(|k| d.get(*k))
        .sum();
        let rejected: u64 = d
            .iter()
            .filter(|(k, _)| k.starts_with("dogstatsd.rejected."))
            .map(|(_, v)| v)
            .sum();
        let processed = parsed + rejected;
        out["packets_received"] = json!(packets);
        out["lines_parsed"] = json!(parsed);
        out["lines_rejected"] = json!(rejected);
        out["lines_processed"] = json!(processed);
        out["lines_processed_per_s"] = json!(processed as f64 / elapsed);
        out["lost_pct"] = json!(if lines_sent > 0 {
            100.0 * (1.0 - processed as f64 / lines_sent as f64)
        } else {
            0.0
        });
        out["settle_s"] = json!(settled_after);
        out["receiver_counters"] = json!(d);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// agent-lite's counters

fn http() -> anyhow::Result<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("building the HTTP client")
}

/// `counters` of agent-lite's `GET /status`.
fn read_counters(url: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    #[derive(serde::Deserialize)]
    struct Status {
        counters: BTreeMap<String, u64>,
    }
    let status: Status = http()?
        .get(url)
        .send()
        .and_then(|r| r.error_for_status())
        .with_context(|| format!("GET {url}"))?
        .json()
        .with_context(|| format!("{url} did not answer a JSON object with `counters`"))?;
    Ok(status.counters)
}

/// Reads the counters until two reads 250 ms apart agree (the receiver has drained what it
/// had queued), or `limit` passes; returns them and the seconds it took.
fn settle_counters(url: &str, limit: Duration) -> anyhow::Result<(BTreeMap<String, u64>, f64)> {
    let started = Instant::now();
    let mut last = read_counters(url)?;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let now = read_counters(url)?;
        if now == last || started.elapsed() > limit {
            return Ok((now, started.elapsed().as_secs_f64()));
        }
        last = now;
    }
}

fn delta(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    prefix: &str,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| {
            (
                k.clone(),
                v.saturating_sub(before.get(k).copied().unwrap_or(0)),
            )
        })
        .filter(|(_, v)| *v > 0)
        .collect()
}
