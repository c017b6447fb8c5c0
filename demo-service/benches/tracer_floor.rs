//! The least CPU Datadog's tracer can cost `GET /slow?ms=0`, whatever the service does around
//! it: the request's four spans (demo-service's server and client spans, inventory's server and
//! query spans) made straight through the OpenTelemetry API, the trace context injected into
//! HTTP headers as demo-service does and extracted as inventory does, every trace exported to a
//! real trace receiver. One process does both services' share: it pays no second exporter and
//! no tracing layers, so the figure is a lower bound.
//!
//! The requests come at a fixed rate (`--rate`, 400 a second as bench/demo-service.sh loads the
//! services), so that, as in a service, each finds its caches cold from the sleep before it; at
//! `--rate 0` they come back to back, caches hot. Each figure is the process's CPU (every
//! thread, the exporter's included, until the traces reached the receiver) a request, less the
//! same loop's CPU with no span (its sleeps and wakeups), the three loops taken in turn:
//! - `bare_us`: spans with a name and a kind, nothing else: the tracer's fixed cost;
//! - `attributes_us`: the same spans with the attributes the lab's spans carry.
//!
//! bench/demo-service.sh runs it in the same run as the services and sets it beside the
//! untraced request's CPU:
//!
//!   cargo bench -p demo-service --bench tracer_floor -- --agent-url http://127.0.0.1:8126
//!
//! Prints one JSON object: {"requests", "rate", "idle_us", "bare_us", "attributes_us"}.

use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Parser;
use datadog_opentelemetry::configuration::Config as DdConfig;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use reqwest::header::HeaderMap;

#[path = "../src/http/header_injector.rs"]
mod header_injector;
use header_injector::HeaderInjector;

#[derive(Parser)]
struct Args {
    /// The trace receiver (a Datadog Agent or a stand-in).
    #[arg(long)]
    agent_url: String,
    /// Requests a figure is taken over.
    #[arg(long, default_value_t = 4_000)]
    requests: u32,
    /// Requests a second (0: back to back).
    #[arg(long, default_value_t = 400)]
    rate: u32,
    /// cargo bench passes `--bench`; nothing else is expected.
    #[arg(long, hide = true)]
    bench: bool,
}

/// What each request makes.
#[derive(Clone, Copy, PartialEq)]
enum Spans {
    None,
    Bare,
    WithAttributes,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.requests < FLUSH_EVERY {
        bail!("--requests must be at least {FLUSH_EVERY} (one flush's worth)");
    }
    check_receiver(&args.agent_url)?;
    let [idle, bare, attributes] = cpu_per_request(&args)?;
    println!(
        "{}",
        serde_json::json!({
            "requests": args.requests,
            "rate": args.rate,
            "idle_us": round(idle),
            "bare_us": round(bare - idle),
            "attributes_us": round(attributes - idle),
        })
    );
    Ok(())
}

/// The tracer keeps its failed sends to itself: without a receiver the figures would leave the
/// sending out, so one must answer first.
fn check_receiver(url: &str) -> anyhow::Result<()> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("--agent-url {url:?}"))?;
    let addrs = parsed
        .socket_addrs(|| None)
        .with_context(|| format!("--agent-url {url:?}: no address to connect to"))?;
    let addr = addrs
        .first()
        .with_context(|| format!("--agent-url {url:?}: no address to connect to"))?;
    std::net::TcpStream::connect_timeout(addr, Duration::from_secs(2))
        .with_context(|| format!("no trace receiver answers at {url}"))?;
    Ok(())
}

fn round(us: f64) -> f64 {
    (us * 100.0).round() / 100.0
}

/// Requests whose traces are flushed together: the services flush once a second, at 400 req/s
/// (DB_RATE) as many traces a flush. Without a flush now and then the back-to-back loop would
/// outrun the exporter, which drops what does not fit its 5 MB buffer: the figure would err low.
const FLUSH_EVERY: u32 = 400;

const ORDER: [Spans; 3] = [Spans::None, Spans::Bare, Spans::WithAttributes];

/// One tracer, a warm-up, then `requests` requests of each kind of [`ORDER`] at `rate`, in
/// blocks of [`FLUSH_EVERY`] taken in turn, so that what else the machine does meanwhile falls
/// on the three alike (one after the other, 10 s each, the figures moved by a fifth): the
/// process's CPU a request of each, in µs, each block counted until its traces were flushed.
fn cpu_per_request(args: &Args) -> anyhow::Result<[f64; 3]> {
    let mut cfg = DdConfig::builder();
    cfg.set_service("tracer-floor".to_owned())
        .set_env("bench".to_owned())
        .set_version("1.0".to_owned())
        .set_trace_agent_url(args.agent_url.clone());
    let provider = datadog_opentelemetry::tracing()
        .with_config(cfg.build())
        .init();
    let tracer = provider.tracer("tracer-floor");
    let period = (args.rate > 0).then(|| Duration::from_secs(1) / args.rate);
    let block = |spans: Spans| -> anyhow::Result<Duration> {
        let before = process_cpu()?;
        let mut next = Instant::now();
        for _ in 0..FLUSH_EVERY {
            if let Some(period) = period {
                next += period;
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            if spans != Spans::None {
                request(&tracer, spans == Spans::WithAttributes);
            }
        }
        provider
            .force_flush()
            .context("flushing the traces to the receiver")?;
        Ok(process_cpu()? - before)
    };
    for spans in ORDER {
        block(spans)?;
    }
    let mut spent = [Duration::ZERO; 3];
    let blocks = args.requests / FLUSH_EVERY;
    for _ in 0..blocks {
        for (total, spans) in spent.iter_mut().zip(ORDER) {
            *total += block(spans)?;
        }
    }
    provider
        .shutdown_with_timeout(Duration::from_secs(30))
        .context("stopping the tracer")?;
    let requests = f64::from(blocks * FLUSH_EVERY);
    Ok(spent.map(|s| s.as_secs_f64() * 1e6 / requests))
}

/// One `GET /slow?ms=0`: demo-service's spans, the call's headers, inventory's spans.
fn request(tracer: &SdkTracer, with_attributes: bool) {
    let attrs = |make: fn() -> Vec<KeyValue>| {
        if with_attributes {
            make()
        } else {
            Vec::new()
        }
    };
    let server = tracer
        .span_builder("http.request")
        .with_kind(SpanKind::Server)
        .with_attributes(attrs(server_attributes))
        .start(tracer);
    let demo = Context::new().with_span(server);
    let client = tracer
        .span_builder("http.client")
        .with_kind(SpanKind::Client)
        .with_attributes(attrs(client_attributes))
        .start_with_context(tracer, &demo);
    let call = demo.with_span(client);
    let mut headers = HeaderMap::new();
    opentelemetry::global::get_text_map_propagator(|p| {
        p.inject_context(&call, &mut HeaderInjector(&mut headers))
    });

    let remote =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&HeaderExtractor(&headers)));
    let iserver = tracer
        .span_builder("http.request")
        .with_kind(SpanKind::Server)
        .with_attributes(attrs(server_attributes))
        .start_with_context(tracer, &remote);
    let inventory = remote.with_span(iserver);
    let mut query = tracer
        .span_builder("postgres.query")
        .with_kind(SpanKind::Client)
        .with_attributes(attrs(query_attributes))
        .start_with_context(tracer, &inventory);
    query.end();
    inventory.span().end();
    call.span().end();
    demo.span().end();
}

/// What the lab's server spans carry (http/server_span.rs), with the status set at the end.
fn server_attributes() -> Vec<KeyValue> {
    vec![
        KeyValue::new("operation.name", "http.server.request"),
        KeyValue::new("resource.name", "GET /slow"),
        KeyValue::new("span.type", "web"),
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("http.route", "/slow"),
        KeyValue::new("url.full", "http://127.0.0.1:8080/slow?ms=0"),
        KeyValue::new("client.address", "127.0.0.1"),
        KeyValue::new("user_agent.original", "wrk"),
        KeyValue::new("http.response.status_code", 200),
    ]
}

/// What the lab's call to inventory carries (http/client_span.rs).
fn client_attributes() -> Vec<KeyValue> {
    vec![
        KeyValue::new("operation.name", "http.client.request"),
        KeyValue::new("resource.name", "GET /items"),
        KeyValue::new("span.type", "http"),
        KeyValue::new("component", "reqwest"),
        KeyValue::new("http.request.method", "GET"),
        KeyValue::new("url.full", "http://127.0.0.1:8081/items?ms=0"),
        KeyValue::new("out.host", "127.0.0.1"),
        KeyValue::new("network.destination.port", 8081),
        KeyValue::new("peer.service", "inventory"),
        KeyValue::new("http.response.status_code", 200),
    ]
}

/// What the lab's query spans carry (inventory/db.rs).
fn query_attributes() -> Vec<KeyValue> {
    let statement = "SELECT sku, name, stock FROM items ORDER BY sku";
    vec![
        KeyValue::new("operation.name", "postgres.query"),
        KeyValue::new("resource.name", statement),
        KeyValue::new("span.type", "sql"),
        KeyValue::new("component", "tokio-postgres"),
        KeyValue::new("db.system", "postgresql"),
        KeyValue::new("db.name", "inventory"),
        KeyValue::new("db.user", "inventory"),
        KeyValue::new("db.statement", statement),
        KeyValue::new("db.row_count", 8),
        KeyValue::new("out.host", "127.0.0.1"),
        KeyValue::new("network.destination.port", 5432),
        KeyValue::new("peer.service", "postgres"),
    ]
}

/// The CPU this process spent so far, all its threads, user and system.
fn process_cpu() -> anyhow::Result<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole rusage into the pointer it is given.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        bail!("getrusage: {}", std::io::Error::last_os_error());
    }
    // SAFETY: getrusage succeeded, so it filled the struct.
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    Ok(time(usage.ru_utime) + time(usage.ru_stime))
}

/// Reads the call's headers as inventory does (its server span reads actix's header map, the
/// same lookups).
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
