//! The event stream: DogStatsD events, service checks, Docker events, monitor notifications
//! and agent-lite's own events, in Datadog's event shape, in a bounded ring.

use std::collections::VecDeque;

use serde::Serialize;

use crate::clock::now_secs;
use crate::hostname::Hostname;

/// Datadog's event priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    #[default]
    Normal,
    Low,
}

impl Priority {
    /// DogStatsD's `p:` field; anything but `low` is normal, as the Agent reads it.
    pub fn from_dogstatsd(s: &str) -> Self {
        if s.eq_ignore_ascii_case("low") {
            Priority::Low
        } else {
            Priority::Normal
        }
    }
}

/// Datadog's event alert types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertType {
    #[default]
    Info,
    Warning,
    Error,
    Success,
}

impl AlertType {
    /// DogStatsD's `t:` field; an unknown type is info, as the Agent reads it.
    pub fn from_dogstatsd(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "error" => AlertType::Error,
            "warning" => AlertType::Warning,
            "success" => AlertType::Success,
            _ => AlertType::Info,
        }
    }
}

/// One event, in Datadog's shape (its JSON is the events API's). Made only by
/// [`Event::new`] or [`Event::own`] and the `with_*` methods; its id is the stream's to give.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    /// Assigned when the event is pushed.
    id: u64,
    title: String,
    text: String,
    /// Seconds since the epoch.
    date_happened: i64,
    priority: Priority,
    host: Option<String>,
    tags: Vec<String>,
    alert_type: AlertType,
    source_type_name: String,
    aggregation_key: Option<String>,
}

impl Event {
    /// An event from `source` (Datadog's `source_type_name`), normal and info until a `with_*`
    /// method says otherwise, with no host, tags or aggregation key.
    pub fn new(
        source: impl Into<String>,
        title: impl Into<String>,
        text: impl Into<String>,
        date_happened: i64,
    ) -> Self {
        Self {
            id: 0,
            title: title.into(),
            text: text.into(),
            date_happened,
            priority: Priority::Normal,
            host: None,
            tags: Vec::new(),
            alert_type: AlertType::Info,
            source_type_name: source.into(),
            aggregation_key: None,
        }
    }

    /// An event of agent-lite's own (started, a definition refused, an outage), now.
    pub fn own(host: &Hostname, title: impl Into<String>, text: impl Into<String>) -> Self {
        Self::new("agent-lite", title, text, now_secs())
            .with_host(host.as_str())
            .with_tags(vec!["source:agent-lite".into()])
    }

    pub fn with_host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    pub fn with_tags(mut self, tags: Vec<String>) -> Self {
        self.tags = tags;
        self
    }

    pub fn with_alert_type(mut self, alert_type: AlertType) -> Self {
        self.alert_type = alert_type;
        self
    }

    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    pub fn with_aggregation_key(mut self, key: impl Into<String>) -> Self {
        self.aggregation_key = Some(key.into());
        self
    }

    /// The stream's id; 0 until the event is pushed.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// Seconds since the epoch.
    pub fn date_happened(&self) -> i64 {
        self.date_happened
    }

    pub fn priority(&self) -> Priority {
        self.priority
    }

    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    pub fn alert_type(&self) -> AlertType {
        self.alert_type
    }

    /// Datadog's `source_type_name`: where the event came from.
    pub fn source_type_name(&self) -> &str {
        &self.source_type_name
    }

    pub fn aggregation_key(&self) -> Option<&str> {
        self.aggregation_key.as_deref()
    }
}

#[derive(Debug)]
pub struct Events {
    ring: VecDeque<Event>,
    capacity: usize,
    next_id: u64,
    pub dropped: u64,
}

/// The events kept by default.
pub const DEFAULT_CAPACITY: usize = 10_000;

impl Default for Events {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl Events {
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: VecDeque::new(),
            capacity: capacity.max(1),
            next_id: 1,
            dropped: 0,
        }
    }

    /// Stores an event (its id is assigned here); the oldest goes when the ring is full.
    pub fn push(&mut self, mut event: Event) -> u64 {
        event.id = self.next_id;
        self.next_id += 1;
        if self.ring.len() == self.capacity {
            self.ring.pop_front();
            self.dropped += 1;
        }
        let id = event.id;
        self.ring.push_back(event);
        id
    }

    /// Events with `start <= date_happened <= end`, newest first.
    pub fn between(&self, start: i64, end: i64) -> Vec<Event> {
        self.ring
            .iter()
            .rev()
            .filter(|e| e.date_happened >= start && e.date_happened <= end)
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }
}

/// The event stream as the components share it.
pub type SharedEvents = crate::locked::Locked<Events>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_serialise_to_datadogs_strings() {
        let e = Event::new("docker", "t", "x", 1)
            .with_alert_type(AlertType::Error)
            .with_priority(Priority::Low);
        let v = serde_json::to_value(&e).expect("json");
        assert_eq!(v["alert_type"], "error");
        assert_eq!(v["priority"], "low");
        assert_eq!(AlertType::from_dogstatsd("WARNING"), AlertType::Warning);
        assert_eq!(AlertType::from_dogstatsd("bogus"), AlertType::Info);
        assert_eq!(Priority::from_dogstatsd("bogus"), Priority::Normal);
    }
}
