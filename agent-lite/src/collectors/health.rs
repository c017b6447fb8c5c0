//! What `agent-lite status` says about the collectors: which are on, whether the Docker
//! Engine answers (and why not), what the host check last failed to read, what the log
//! collection follows. Each collector writes its part here; the status reads a snapshot.
//! Counters alone cannot say this: they only grow, and an outage that ended must stop
//! showing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

use crate::clock::now_secs;

#[derive(Debug, Default)]
pub struct CollectorsHealth {
    inner: Mutex<Inner>,
    file_lines: AtomicU64,
    container_lines: AtomicU64,
}

#[derive(Debug, Default, Clone, Serialize)]
struct Inner {
    host: HostHealth,
    containers: EngineHealth,
    logs: LogsHealth,
    postgres: PostgresHealth,
}

/// The postgres check: off unless a connection string is given.
#[derive(Debug, Clone, Serialize)]
struct PostgresHealth {
    /// "off", "unknown" until the first collection, then "ok" or "critical" (the
    /// `postgres.can_connect` service check), or "invalid configuration".
    state: &'static str,
    /// Where it connects (host:port/db, never the password).
    target: String,
    reason: Option<String>,
    last_collection: Option<i64>,
}

impl Default for PostgresHealth {
    fn default() -> Self {
        Self {
            state: "off",
            target: String::new(),
            reason: None,
            last_collection: None,
        }
    }
}

#[derive(Debug, Default, Clone, Serialize)]
struct HostHealth {
    enabled: bool,
    /// Parts that failed in the last collection, with their error.
    failing: BTreeMap<String, String>,
    /// The latest failure, kept after recovery so that a passing outage can be told.
    last_error: Option<TimedError>,
}

#[derive(Debug, Clone, Serialize)]
struct TimedError {
    part: String,
    error: String,
    at: i64,
}

#[derive(Debug, Clone, Serialize)]
struct EngineHealth {
    enabled: bool,
    /// "off", or "unknown" until the first connection attempt, then "available" or
    /// "unavailable".
    state: &'static str,
    /// Why the Engine is unavailable; cleared when it answers again.
    reason: Option<String>,
    since: Option<i64>,
}

impl Default for EngineHealth {
    fn default() -> Self {
        Self {
            enabled: false,
            state: "off",
            reason: None,
            since: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
struct LogsHealth {
    files_followed: usize,
    /// "all", "labelled" or "off".
    container_collect: &'static str,
    /// Names of the containers whose logs are followed now.
    containers_followed: BTreeSet<String>,
}

impl Default for LogsHealth {
    fn default() -> Self {
        Self {
            files_followed: 0,
            container_collect: "off",
            containers_followed: BTreeSet::new(),
        }
    }
}

impl CollectorsHealth {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every write is a single assignment: a poisoned lock still holds consistent data.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_enabled(&self, host: bool, containers: bool) {
        let mut h = self.lock();
        h.host.enabled = host;
        h.containers.enabled = containers;
        h.containers.state = if containers { "unknown" } else { "off" };
    }

    /// The parts of the last host collection that failed (none: all read).
    pub fn host_collected(&self, failures: &[(&str, String)]) {
        let mut h = self.lock();
        h.host.failing = failures
            .iter()
            .map(|(p, e)| ((*p).to_owned(), e.clone()))
            .collect();
        if let Some((part, error)) = failures.last() {
            h.host.last_error = Some(TimedError {
                part: (*part).to_owned(),
                error: error.clone(),
                at: now_secs(),
            });
        }
    }

    /// The postgres check's last outcome.
    pub fn postgres_state(&self, state: &'static str, reason: Option<&str>, target: &str) {
        let mut h = self.lock();
        h.postgres.state = state;
        h.postgres.reason = reason.map(str::to_owned);
        if !target.is_empty() {
            h.postgres.target = target.to_owned();
        }
        if state == "ok" || state == "critical" {
            h.postgres.last_collection = Some(now_secs());
        }
    }

    pub fn engine_up(&self) {
        let mut h = self.lock();
        h.containers.state = "available";
        h.containers.reason = None;
        h.containers.since = Some(now_secs());
    }

    pub fn engine_down(&self, reason: &str) {
        let mut h = self.lock();
        h.containers.state = "unavailable";
        h.containers.reason = Some(reason.to_owned());
        h.containers.since = Some(now_secs());
    }

    pub fn logs_configured(&self, files: usize, container_collect: &'static str) {
        let mut h = self.lock();
        h.logs.files_followed = files;
        h.logs.container_collect = container_collect;
    }

    pub fn container_followed(&self, name: &str) {
        self.lock().logs.containers_followed.insert(name.to_owned());
    }

    pub fn container_released(&self, name: &str) {
        self.lock().logs.containers_followed.remove(name);
    }

    pub fn file_lines(&self, n: u64) {
        self.file_lines.fetch_add(n, Ordering::Relaxed);
    }

    pub fn container_lines(&self, n: u64) {
        self.container_lines.fetch_add(n, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> serde_json::Value {
        let inner = self.lock().clone();
        let mut v = serde_json::json!(inner);
        v["logs"]["lines_received"] = serde_json::json!({
            "files": self.file_lines.load(Ordering::Relaxed),
            "containers": self.container_lines.load(Ordering::Relaxed),
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_outage_clears_on_recovery_and_a_host_error_is_kept() {
        let h = CollectorsHealth::default();
        h.set_enabled(true, true);
        assert_eq!(h.snapshot()["containers"]["state"], "unknown");
        h.engine_down("no Docker socket");
        let v = h.snapshot();
        assert_eq!(v["containers"]["state"], "unavailable");
        assert_eq!(v["containers"]["reason"], "no Docker socket");
        h.engine_up();
        let v = h.snapshot();
        assert_eq!(v["containers"]["state"], "available");
        assert!(v["containers"]["reason"].is_null());

        h.host_collected(&[("disk", "statvfs /: denied".into())]);
        h.host_collected(&[]);
        let v = h.snapshot();
        assert_eq!(v["host"]["failing"], serde_json::json!({}));
        assert_eq!(v["host"]["last_error"]["part"], "disk");

        h.container_followed("web-1");
        h.container_lines(3);
        h.file_lines(2);
        let v = h.snapshot();
        assert_eq!(
            v["logs"]["containers_followed"],
            serde_json::json!(["web-1"])
        );
        assert_eq!(v["logs"]["lines_received"]["containers"], 3);
        h.container_released("web-1");
        assert_eq!(
            h.snapshot()["logs"]["containers_followed"],
            serde_json::json!([])
        );
    }
}
