//! Counts the spans the service finishes and watches whether the trace agent answers, so that
//! an unreachable agent shows up as one log line now and then with how many spans were made
//! while it was away, never as a line per request. The spans the exporter then fails to send
//! are not counted by the tracer where the service can read them, so what we can state
//! honestly is: spans finished while the agent did not answer, which the exporter buffers,
//! retries and then drops. (The traces it drops because its buffer is full are counted:
//! `tracer_drops`.)

use std::time::{Duration, Instant};

use tracing::span;
use tracing::Subscriber;
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

use super::Tally;

/// A layer that counts the spans that close. Filtered as the OpenTelemetry layer is
/// (`super::becomes_a_span`), it counts exactly the spans handed to the tracer. Not a span
/// processor beside Datadog's: with two processors, the OpenTelemetry SDK copies every span's
/// data once for each, attributes and all.
pub struct CountingLayer(pub Tally);

impl<S: Subscriber> Layer<S> for CountingLayer {
    fn on_close(&self, _id: span::Id, _ctx: Context<'_, S>) {
        self.0.add_one();
    }
}

/// How often the agent is probed, and how often an outage is reported.
const PROBE_EVERY: Duration = Duration::from_secs(10);
const REPORT_EVERY: Duration = Duration::from_secs(60);

/// Probes `{agent}/info` and logs outages with the spans finished meanwhile.
pub async fn watch_agent(agent_url: String, counter: Tally) {
    if !agent_url.starts_with("http") {
        // A unix:// agent is reached by the tracer itself; our probe speaks TCP only.
        return;
    }
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot build the agent probe; outages will not be reported");
            return;
        }
    };
    let info = format!("{agent_url}/info");
    let mut outage: Option<Outage> = None;
    let mut ticker = tokio::time::interval(PROBE_EVERY);
    loop {
        ticker.tick().await;
        let answer = client.get(&info).send().await;
        match (answer, outage.as_mut()) {
            (Ok(_), None) => {}
            (Ok(_), Some(o)) => {
                tracing::info!(
                    agent = %agent_url,
                    outage_secs = o.since.elapsed().as_secs(),
                    spans_finished_during_outage = counter.get() - o.spans_at_start,
                    "trace agent reachable again"
                );
                outage = None;
            }
            (Err(e), None) => {
                tracing::warn!(
                    agent = %agent_url,
                    error = %e,
                    "trace agent unreachable: spans are buffered by the tracer and dropped when its buffer is full; the service keeps serving"
                );
                let now = Instant::now();
                outage = Some(Outage {
                    since: now,
                    last_report: now,
                    spans_at_start: counter.get(),
                });
            }
            (Err(e), Some(o)) if o.last_report.elapsed() >= REPORT_EVERY => {
                tracing::warn!(
                    agent = %agent_url,
                    error = %e,
                    outage_secs = o.since.elapsed().as_secs(),
                    spans_finished_during_outage = counter.get() - o.spans_at_start,
                    "trace agent still unreachable"
                );
                o.last_report = Instant::now();
            }
            (Err(_), Some(_)) => {}
        }
    }
}

struct Outage {
    since: Instant,
    last_report: Instant,
    spans_at_start: u64,
}
