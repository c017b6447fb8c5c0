//! The event stream: DogStatsD events, service checks and agent-lite's own events, in
//! Datadog's event shape, in a bounded ring.

use std::collections::VecDeque;

use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Event {
    pub id: u64,
    pub title: String,
    pub text: String,
    /// Seconds since the epoch.
    pub date_happened: i64,
    pub priority: String,
    pub host: Option<String>,
    pub tags: Vec<String>,
    /// info, warning, error, success.
    pub alert_type: String,
    pub source_type_name: String,
    pub aggregation_key: Option<String>,
}

#[derive(Debug)]
pub struct Events {
    ring: VecDeque<Event>,
    capacity: usize,
    next_id: u64,
    pub dropped: u64,
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
