//! The connection to the Docker Engine shared by the container, event and log collectors,
//! and the one place that says when the Engine cannot be reached: once per outage, in the
//! log, in the status counters and in the event stream, never every 15 s.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::Docker;

use super::health::CollectorsHealth;
use crate::counters::{Counter, Counters, Family};
use crate::hostname::Hostname;
use crate::store::events::{Event, SharedEvents};

/// Where an outage of the Engine is said: the collectors' health, the counters, the event
/// stream (as an event of agent-lite's own, from `host`).
#[derive(Clone)]
pub struct OutageReport {
    pub health: Arc<CollectorsHealth>,
    pub counters: Counters,
    pub events: SharedEvents,
    pub host: Hostname,
}

/// A call that waits longer than this on the Engine is given up (the next round retries).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

pub struct Engine {
    host: String,
    report: OutageReport,
    client: Mutex<Option<Docker>>,
    state: AtomicU8,
}

impl Engine {
    pub fn new(host: &str, report: OutageReport) -> Self {
        // DOCKER_HOST may name the socket's path alone.
        let host = if host.starts_with('/') {
            format!("unix://{host}")
        } else {
            host.to_owned()
        };
        Self {
            host,
            report,
            client: Mutex::new(None),
            state: AtomicU8::new(UNKNOWN),
        }
    }

    /// A client that answered, or None when the Engine cannot be reached (said once).
    pub async fn client(&self) -> Option<Docker> {
        if let Some(c) = self.lock().clone() {
            return Some(c);
        }
        match self.connect().await {
            Ok(c) => {
                *self.lock() = Some(c.clone());
                self.mark_up();
                Some(c)
            }
            Err(e) => {
                self.mark_down(&e);
                None
            }
        }
    }

    /// Tells the engine a call failed: when the Engine itself is gone (rather than, say, a
    /// container that vanished mid-call), the next call reconnects.
    pub fn call_failed(&self, e: &DockerError) {
        if unreachable(e) {
            *self.lock() = None;
            self.mark_down(e);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Docker>> {
        self.client.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn connect(&self) -> Result<Docker, DockerError> {
        let docker = Docker::connect_with_host(&self.host)?.with_timeout(CALL_TIMEOUT);
        // bollard speaks a newer API than many engines (Debian's 20.10 stops at 1.41):
        // settle on the highest version both know.
        let docker = docker.negotiate_version().await?;
        docker.ping().await?;
        Ok(docker)
    }

    fn mark_up(&self) {
        if self.state.swap(UP, Ordering::SeqCst) != UP {
            tracing::info!(docker_host = %self.host, "Docker Engine reachable: container metrics, Docker events and container logs on");
            self.report.health.engine_up();
        }
    }

    fn mark_down(&self, e: &DockerError) {
        if self.state.swap(DOWN, Ordering::SeqCst) == DOWN {
            return;
        }
        let (reason, advice) = classify(e);
        let message = format!(
            "container metrics, Docker events and container logs are off: {advice} ({}: {e}); the rest of agent-lite runs on, and they resume when the Engine answers",
            self.host
        );
        let report = &self.report;
        report
            .health
            .engine_down(&format!("{advice} ({}: {e})", self.host));
        tracing::warn!(docker_host = %self.host, reason, "{message}");
        report.counters.incr(Counter::CollectorsDockerUnavailable);
        report
            .counters
            .incr_reason(Family::CollectorsDockerUnavailable, reason);
        report.events.lock().push(Event::own(
            &report.host,
            "Docker Engine unavailable",
            message,
        ));
    }
}

/// Whether `e` means the Engine cannot be reached at all.
fn unreachable(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::SocketNotFoundError(_)
            | DockerError::IOError { .. }
            | DockerError::HyperResponseError { .. }
            | DockerError::HyperLegacyError { .. }
            | DockerError::HttpClientError { .. }
            | DockerError::RequestTimeoutError
            | DockerError::UnsupportedURISchemeError { .. }
    )
}

/// A short reason for the status counters, and what to do about it.
fn classify(e: &DockerError) -> (&'static str, &'static str) {
    if matches!(e, DockerError::SocketNotFoundError(_)) {
        return (
            "no_socket",
            "no Docker socket (mount /var/run/docker.sock or set DOCKER_HOST)",
        );
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::PermissionDenied {
                return (
                    "permission_denied",
                    "no permission on the Docker socket (run agent-lite in the docker group)",
                );
            }
        }
        source = s.source();
    }
    if matches!(e, DockerError::UnsupportedURISchemeError { .. }) {
        return (
            "bad_docker_host",
            "DOCKER_HOST is not unix://, tcp:// or http://",
        );
    }
    ("no_answer", "the Docker Engine does not answer")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> OutageReport {
        OutageReport {
            health: Arc::default(),
            counters: Counters::default(),
            events: SharedEvents::default(),
            host: Hostname::new("lab"),
        }
    }

    #[tokio::test]
    async fn a_missing_socket_is_said_once_and_named() {
        let report = report();
        let engine = Engine::new("/nonexistent/docker.sock", report.clone());
        assert!(engine.client().await.is_none());
        assert!(engine.client().await.is_none());
        let counters = report.counters.snapshot();
        assert_eq!(counters.get("collectors.docker.unavailable"), Some(&1));
        assert_eq!(
            counters.get("collectors.docker.unavailable.no_socket"),
            Some(&1)
        );
        let events = report.events.lock().between(0, i64::MAX);
        assert_eq!(events.len(), 1, "one event per outage");
        assert!(events[0].text().contains("/nonexistent/docker.sock"));
        let health = report.health.snapshot();
        assert_eq!(health["containers"]["state"], "unavailable");
        assert!(health["containers"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no Docker socket")));
    }

    #[tokio::test]
    async fn a_socket_nobody_listens_on_is_no_answer() {
        let report = report();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("docker.sock");
        // A bound socket that is never accepted on: connect succeeds or is refused, the
        // Engine never answers either way.
        let listener = std::os::unix::net::UnixListener::bind(&path).expect("bind");
        drop(listener);
        let engine = Engine::new(&format!("unix://{}", path.display()), report.clone());
        assert!(engine.client().await.is_none());
        let counters = report.counters.snapshot();
        assert_eq!(
            counters.get("collectors.docker.unavailable.no_answer"),
            Some(&1),
            "{counters:?}"
        );
    }

    #[test]
    fn api_errors_do_not_count_as_an_outage() {
        let gone = DockerError::DockerResponseServerError {
            status_code: 404,
            message: "No such container".into(),
        };
        assert!(!unreachable(&gone));
        assert!(unreachable(&DockerError::SocketNotFoundError("/x".into())));
    }
}
