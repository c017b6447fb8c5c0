//! What the intake writes and the API reads, shared between tasks.

use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::apm::trace_store::TraceStore;
use crate::collectors::health::CollectorsHealth;
use crate::counters::Counters;
use crate::monitors::registry::Registry;
use crate::store::events::{Event, Events};
use crate::store::logs::Logs;
use crate::store::{Limits, Store};

pub struct Shared {
    store: Mutex<Store>,
    events: Mutex<Events>,
    traces: Mutex<TraceStore>,
    monitors: Mutex<Registry>,
    logs: Mutex<Logs>,
    pub counters: Counters,
    /// What the collectors are doing, for `agent-lite status`.
    pub collectors: CollectorsHealth,
    pub hostname: String,
    pub started: Instant,
}

/// Seconds since the epoch.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// How much each store keeps.
#[derive(Debug, Clone)]
pub struct Bounds {
    pub store: Limits,
    pub trace_spans: usize,
    pub trace_bytes: usize,
    pub log_lines: usize,
}

impl Default for Bounds {
    fn default() -> Self {
        Self {
            store: Limits::default(),
            trace_spans: 200_000,
            trace_bytes: 16 << 20,
            log_lines: 100_000,
        }
    }
}

impl Shared {
    pub fn new(hostname: String, bounds: Bounds) -> Self {
        Self {
            store: Mutex::new(Store::new(bounds.store)),
            events: Mutex::new(Events::new(10_000)),
            traces: Mutex::new(TraceStore::new(bounds.trace_spans, bounds.trace_bytes)),
            monitors: Mutex::new(Registry::default()),
            logs: Mutex::new(Logs::new(bounds.log_lines)),
            counters: Counters::default(),
            collectors: CollectorsHealth::default(),
            hostname,
            started: Instant::now(),
        }
    }

    // A panic while holding one of these locks leaves data that is still consistent (every
    // write is a single insert), so a poisoned lock is taken over rather than propagated.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn events(&self) -> MutexGuard<'_, Events> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn traces(&self) -> MutexGuard<'_, TraceStore> {
        self.traces.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn logs(&self) -> MutexGuard<'_, Logs> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lock the store first when both are needed (see `monitors`).
    pub fn monitors(&self) -> MutexGuard<'_, Registry> {
        self.monitors.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn host_tag(&self) -> String {
        format!("host:{}", self.hostname)
    }

    /// An event of agent-lite's own (started, configuration loaded...).
    pub fn own_event(&self, title: &str, text: &str) {
        self.events().push(Event {
            id: 0,
            title: title.to_owned(),
            text: text.to_owned(),
            date_happened: now_secs(),
            priority: "normal".into(),
            host: Some(self.hostname.clone()),
            tags: vec!["source:agent-lite".into()],
            alert_type: "info".into(),
            source_type_name: "agent-lite".into(),
            aggregation_key: None,
        });
    }
}
