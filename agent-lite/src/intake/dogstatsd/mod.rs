//! DogStatsD intake on UDP (8125) and, when configured, a Unix datagram socket: datagrams of
//! newline-separated lines; a bad line is skipped and counted, the rest of the datagram is
//! kept. One task owns the aggregator and flushes it into the store every flush interval.

pub mod aggregator;
pub mod parser;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{UdpSocket, UnixDatagram};

use crate::state::{now_secs, Shared};
use crate::store::events::Event;
use aggregator::Aggregator;
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

/// Receives from every source and flushes every `flush_every`; on `stop`, takes what is
/// already queued and flushes a last time, so that a shutdown loses no point.
pub async fn run(
    sources: Vec<Source>,
    shared: Arc<Shared>,
    flush_every: Duration,
    stop: impl std::future::Future<Output = ()>,
) {
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
    let cap = shared.store().max_series();
    let mut agg = Aggregator::with_context_cap(cap);
    let mut ticker = tokio::time::interval(flush_every);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            packet = rx.recv() => match packet {
                Some(p) => handle_packet(&p, &mut agg, &shared),
                None => break,
            },
            _ = ticker.tick() => flush(&mut agg, &shared),
            () = &mut stop => {
                while let Ok(p) = rx.try_recv() {
                    handle_packet(&p, &mut agg, &shared);
                }
                break;
            }
        }
    }
    flush(&mut agg, &shared);
}

fn flush(agg: &mut Aggregator, shared: &Shared) {
    let refused = {
        let mut store = shared.store();
        agg.flush(&mut store)
    };
    if refused > 0 {
        shared.counters.add("dogstatsd.points_refused", refused);
    }
}

/// Parses a datagram and feeds the aggregator and the event stream.
pub fn handle_packet(packet: &[u8], agg: &mut Aggregator, shared: &Shared) {
    let counters = &shared.counters;
    counters.incr("dogstatsd.packets");
    if packet.len() > BUFFER_SIZE {
        // Cut by the receive buffer: refused whole and counted, never parsed half.
        counters.incr("dogstatsd.rejected.packet_too_large");
        tracing::debug!(
            max = BUFFER_SIZE,
            "dogstatsd datagram over the buffer size refused"
        );
        return;
    }
    // Counted here and added once per packet: the counters' lock is shared with the API.
    let (mut metrics, mut events, mut checks) = (0u64, 0u64, 0u64);
    let text = String::from_utf8_lossy(packet);
    let now = now_secs();
    let host_tag = shared.host_tag();
    for line in text.split('\n').map(|l| l.trim_end_matches('\r')) {
        if line.is_empty() {
            continue;
        }
        match parser::parse_line(line) {
            Ok(Line::Metric(m)) => {
                metrics += 1;
                agg.add(&m, std::slice::from_ref(&host_tag), now);
            }
            Ok(Line::Event(e)) => {
                events += 1;
                shared.events().push(Event {
                    id: 0,
                    title: e.title.to_owned(),
                    text: e.text,
                    date_happened: e.timestamp.unwrap_or(now),
                    priority: e.priority.to_owned(),
                    host: Some(
                        e.host
                            .map(str::to_owned)
                            .unwrap_or_else(|| shared.hostname.clone()),
                    ),
                    tags: e.tags.iter().map(|t| (*t).to_owned()).collect(),
                    alert_type: e.alert_type.to_owned(),
                    source_type_name: e.source.unwrap_or("dogstatsd").to_owned(),
                    aggregation_key: e.aggregation_key.map(str::to_owned),
                });
            }
            Ok(Line::ServiceCheck(c)) => {
                checks += 1;
                let alert_type = match c.status {
                    0 => "success",
                    1 => "warning",
                    2 => "error",
                    _ => "info",
                };
                shared.events().push(Event {
                    id: 0,
                    title: format!("Service check {}", c.name),
                    text: c.message.unwrap_or_default(),
                    date_happened: c.timestamp.unwrap_or(now),
                    priority: "normal".into(),
                    host: Some(
                        c.host
                            .map(str::to_owned)
                            .unwrap_or_else(|| shared.hostname.clone()),
                    ),
                    tags: c.tags.iter().map(|t| (*t).to_owned()).collect(),
                    alert_type: alert_type.into(),
                    source_type_name: "service_check".into(),
                    aggregation_key: Some(c.name.to_owned()),
                });
            }
            Err(e) => reject(shared, &e, line),
        }
    }
    for (name, n) in [
        ("dogstatsd.metrics", metrics),
        ("dogstatsd.events", events),
        ("dogstatsd.service_checks", checks),
    ] {
        if n > 0 {
            counters.add(name, n);
        }
    }
}

fn reject(shared: &Shared, e: &ParseError, line: &str) {
    shared
        .counters
        .incr(&format!("dogstatsd.rejected.{}", e.reason()));
    tracing::debug!(error = %e, line = %line.chars().take(200).collect::<String>(), "dogstatsd line skipped");
}
