//! What a transition sets off: an event in the stream, a log line, and a POST to each webhook
//! with a body modelled on Datadog's webhook variables. Webhooks are delivered by tasks of
//! their own, retried with back-off, so a dead receiver never delays an evaluation; their
//! failures are counted and the last one is kept for `status`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::evaluate::Status;
use super::registry::Notice;
use crate::clock::rfc3339;
use crate::hostname::Hostname;
use crate::store::events::{AlertType, Event, SharedEvents};

/// Tries per delivery; the waits between them double from one second (1+2+4+8 s).
const ATTEMPTS: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub name: String,
    pub url: String,
}

/// `name=url` or a bare URL (named after its host), comma-separated.
pub fn parse_webhooks(text: &str) -> Result<Vec<Webhook>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (name, url) = match item.split_once('=') {
                Some((n, u)) if !n.contains("://") => (n.trim().to_owned(), u.trim().to_owned()),
                _ => {
                    let host = reqwest::Url::parse(item)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_owned))
                        .unwrap_or_else(|| "webhook".into());
                    (host, item.to_owned())
                }
            };
            let parsed = reqwest::Url::parse(&url)
                .map_err(|e| format!("webhook {name}: {url:?} is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!("webhook {name}: {url:?} is not http(s)"));
            }
            Ok(Webhook { name, url })
        })
        .collect()
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct WebhookStatus {
    pub delivered: u64,
    pub failed: u64,
    pub last_error: Option<String>,
}

/// The webhooks and how their deliveries went, for `status`; clones share them.
#[derive(Clone, Debug, Default)]
pub struct Deliveries {
    webhooks: Arc<Vec<Webhook>>,
    status: Arc<Mutex<WebhookStatus>>,
}

impl Deliveries {
    pub fn webhooks(&self) -> &[Webhook] {
        &self.webhooks
    }

    pub fn status(&self) -> WebhookStatus {
        self.status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn record(&self, outcome: Result<(), String>) {
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(()) => s.delivered += 1,
            Err(e) => {
                s.failed += 1;
                s.last_error = Some(e);
            }
        }
    }
}

/// What a transition sets off. Owned by the monitors' task; the events it writes and the
/// host it names are its own handles.
#[derive(Clone, Debug)]
pub struct Notifier {
    deliveries: Deliveries,
    client: reqwest::Client,
    link_base: String,
    events: SharedEvents,
    host: Hostname,
}

impl Notifier {
    pub fn new(
        webhooks: Vec<Webhook>,
        link_base: String,
        events: SharedEvents,
        host: Hostname,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            deliveries: Deliveries {
                webhooks: Arc::new(webhooks),
                status: Arc::default(),
            },
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            link_base: link_base.trim_end_matches('/').to_owned(),
            events,
            host,
        })
    }

    pub fn deliveries(&self) -> &Deliveries {
        &self.deliveries
    }

    /// Sends out one notice; returns at once, webhooks go on in the background.
    pub fn notify(&self, n: &Notice) {
        let t = &n.transition;
        let alert_type = match t.to {
            Status::Alert => AlertType::Error,
            Status::Warn | Status::NoData => AlertType::Warning,
            Status::Ok => AlertType::Success,
        };
        let event = Event::new("monitor alert", n.title.clone(), n.body.clone(), t.ts)
            .with_host(self.host.as_str())
            .with_tags(n.tags.clone())
            .with_alert_type(alert_type)
            .with_aggregation_key(format!("monitor:{}", t.monitor_id));
        let id = self.events.lock().push(event);
        tracing::info!(
            monitor_id = t.monitor_id,
            monitor = %n.monitor_name,
            group = %t.group,
            transition = t.name(),
            from = t.from.name(),
            to = t.to.name(),
            value = t.value,
            "monitor {}: {}",
            t.name(),
            n.title
        );
        if self.deliveries.webhooks.is_empty() {
            return;
        }
        let body = self.payload(n, id);
        for hook in self.deliveries.webhooks.iter().cloned() {
            let this = self.clone();
            let body = body.clone();
            tokio::spawn(async move { this.deliver(hook, body).await });
        }
    }

    /// Datadog's webhook variables, under their lower-case names.
    fn payload(&self, n: &Notice, event_id: u64) -> Value {
        let t = &n.transition;
        json!({
            "id": event_id.to_string(),
            "title": n.title,
            "body": n.body,
            "transition": t.name(),
            "alert_transition": t.name(),
            "alert_id": t.monitor_id.to_string(),
            "alert_title": n.monitor_name,
            "alert_status": t.to.name(),
            "alert_query": n.query,
            "alert_scope": t.group,
            "priority": n.priority.map_or_else(|| "normal".to_owned(), |p| format!("P{p}")),
            "value": t.value,
            "threshold": n.threshold,
            "tags": n.tags.join(","),
            "date": t.ts,
            "last_updated": rfc3339(t.ts),
            "link": format!("{}/#/monitors/{}", self.link_base, t.monitor_id),
        })
    }

    async fn deliver(&self, hook: Webhook, body: Value) {
        let mut wait = Duration::from_secs(1);
        let mut last_error = String::new();
        for attempt in 1..=ATTEMPTS {
            match self.client.post(&hook.url).json(&body).send().await {
                Ok(r) if r.status().is_success() => {
                    self.deliveries.record(Ok(()));
                    return;
                }
                Ok(r) => last_error = format!("answered {}", r.status()),
                Err(e) => last_error = e.to_string(),
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
        tracing::warn!(webhook = %hook.name, url = %hook.url, error = %last_error, "webhook failed after {ATTEMPTS} tries");
        self.deliveries
            .record(Err(format!("{} ({}): {last_error}", hook.name, hook.url)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_are_named_urls() {
        let hooks =
            parse_webhooks("lab=http://127.0.0.1:9000/hook, https://hooks.example/x").expect("ok");
        assert_eq!(hooks[0].name, "lab");
        assert_eq!(hooks[1].name, "hooks.example");
        assert!(parse_webhooks("lab=ftp://x").is_err());
        assert!(parse_webhooks("lab=not a url").is_err());
        assert_eq!(parse_webhooks("").expect("empty"), Vec::new());
    }
}
