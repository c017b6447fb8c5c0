//! DogStatsD intake on UDP (8125) and, when configured, a Unix datagram socket: datagrams of
//! newline-separated lines; a bad line is skipped and counted, the rest of the datagram is
//! kept. One task owns the aggregator and flushes it into the store every flush interval.

pub mod aggregator;
mod config;
pub mod parser;
#[cfg(test)]
mod tests;

use tokio::net::{UdpSocket, UnixDatagram};

use crate::clock::now_secs;
use crate::counters::{Counter, Counters, Family};
use crate::hostname::Hostname;
use crate::shutdown::Stop;
use crate::store::events::{AlertType, Event, Priority, SharedEvents};
use crate::store::SharedStore;
use aggregator::Aggregator;
pub use config::DogStatsDConfig;
use parser::{Line, ParseError};

/// Largest datagram read, as the Agent's default dogstatsd_buffer_size.
pub const BUFFER_SIZE: usize = 8192;
/// The receive buffer is one byte longer, so that a datagram over BUFFER_SIZE shows as one
/// that filled it: the kernel cuts a datagram to the buffer without saying so, and the cut
/// last line could parse as a different metric (a value or a tag cut short).
const RECV_SIZE: usize = BUFFER_SIZE + 1;

pub enum Source {
    Udp(UdpSocket),
    Unix(UnixDatagram),
}

impl Source {
    async fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::Udp(s) => s.recv(buf).await,
            Source::Unix(s) => s.recv(buf).await,
        }
    }
}

/// What the intake writes: points (through its aggregator) into the metric store, events
/// and service checks into the event stream, and its counters.
#[derive(Clone)]
pub struct Output {
    pub store: SharedStore,
    pub events: SharedEvents,
    pub counters: Counters,
    /// Tagged on every point, and the host of events that name none.
    pub host: Hostname,
}

impl Output {
    /// An output into fresh stores of its own, reporting as `host` (tests, fuzzing).
    pub fn detached(host: &str) -> Self {
        Self {
            store: SharedStore::default(),
            events: SharedEvents::default(),
            counters: Counters::default(),
            host: Hostname::new(host),
        }
    }
}

/// Receives from every source (bound by [`DogStatsDConfig::bind`]) and flushes as `cfg`
/// says; on `stop`, takes what is already queued and flushes a last time, so that a shutdown
/// loses no point.
pub async fn run(sources: Vec<Source>, cfg: DogStatsDConfig, out: Output, stop: Stop) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4096);
    for source in sources {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; RECV_SIZE];
            loop {
                match source.recv(&mut buf).await {
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "dogstatsd receive failed"),
                }
            }
        });
    }
    drop(tx);
    let cap = out.store.lock().max_series();
    let mut agg = Aggregator::with_context_cap(cap);
    let mut ticker = tokio::time::interval(cfg.flush_every());
    let stop = stop.wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            packet = rx.recv() => match packet {
                Some(p) => handle_packet(&p, &mut agg, &out),
                None => break,
            },
            _ = ticker.tick() => flush(&mut agg, &out),
            () = &mut stop => {
                while let Ok(p) = rx.try_recv() {
                    handle_packet(&p, &mut agg, &out);
                }
                break;
            }
        }
    }
    flush(&mut agg, &out);
}

/// Writes what the aggregator holds into the store.
pub fn flush(agg: &mut Aggregator, out: &Output) {
    let refused = agg.flush(&mut out.store.lock());
    out.counters.add(Counter::DogstatsdPointsRefused, refused);
}

/// Parses a datagram and feeds the aggregator and the event stream.
pub fn handle_packet(packet: &[u8], agg: &mut Aggregator, out: &Output) {
    let counters = &out.counters;
    counters.incr(Counter::DogstatsdPackets);
    if packet.len() > BUFFER_SIZE {
        // Cut by the receive buffer: refused whole and counted, never parsed half.
        counters.incr_reason(Family::DogstatsdRejected, "packet_too_large");
        tracing::debug!(
            max = BUFFER_SIZE,
            "dogstatsd datagram over the buffer size refused"
        );
        return;
    }
    let (mut metrics, mut events, mut checks) = (0u64, 0u64, 0u64);
    let text = String::from_utf8_lossy(packet);
    let now = now_secs();
    let host_tag = out.host.tag();
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        if line.is_empty() {
            continue;
        }
        match parser::parse_line(line) {
            Ok(Line::Metric(m)) => {
                metrics += 1;
                agg.add(&m, std::slice::from_ref(host_tag), now);
            }
            Ok(Line::Event(e)) => {
                events += 1;
                let event = Event::new(
                    e.source.unwrap_or("dogstatsd"),
                    e.title,
                    e.text,
                    e.timestamp.unwrap_or(now),
                )
                .with_priority(e.priority)
                .with_alert_type(e.alert_type)
                .with_host(e.host.unwrap_or(out.host.as_str()))
                .with_tags(e.tags.iter().map(|t| (*t).to_owned()).collect());
                let event = match e.aggregation_key {
                    Some(key) => event.with_aggregation_key(key),
                    None => event,
                };
                out.events.lock().push(event);
            }
            Ok(Line::ServiceCheck(c)) => {
                checks += 1;
                let alert_type = match c.status {
                    0 => AlertType::Success,
                    1 => AlertType::Warning,
                    2 => AlertType::Error,
                    _ => AlertType::Info,
                };
                let event = Event::new(
                    "service_check",
                    format!("Service check {}", c.name),
                    c.message.unwrap_or_default(),
                    c.timestamp.unwrap_or(now),
                )
                .with_priority(Priority::Normal)
                .with_alert_type(alert_type)
                .with_host(c.host.unwrap_or(out.host.as_str()))
                .with_tags(c.tags.iter().map(|t| (*t).to_owned()).collect())
                .with_aggregation_key(c.name);
                out.events.lock().push(event);
            }
            Err(e) => reject(counters, &e, line),
        }
    }
    counters.add(Counter::DogstatsdMetrics, metrics);
    counters.add(Counter::DogstatsdEvents, events);
    counters.add(Counter::DogstatsdServiceChecks, checks);
}

fn reject(counters: &Counters, e: &ParseError, line: &str) {
    counters.incr_reason(Family::DogstatsdRejected, e.reason());
    tracing::debug!(error = %e, line = %line.chars().take(200).collect::<String>(), "dogstatsd line skipped");
}
