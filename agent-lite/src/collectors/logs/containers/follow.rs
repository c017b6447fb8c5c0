//! One container's stdout and stderr, followed through the Engine's logs API until the
//! container stops. A stream that ends while the container still runs (the Engine
//! restarted, a connection dropped) is taken up again from its last line, without repeats.

use std::sync::Arc;
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::query_parameters::{InspectContainerOptions, LogsOptions, LogsOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt as _;

use super::labels::LogTarget;
use super::lines::{Assembler, Cursor, Line, Stream};
use crate::collectors::docker::Engine;
use crate::collectors::logs::parse;
use crate::collectors::logs::{LogOutput, Origin};
use crate::counters::Counter;

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where the first read of a container starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Running before agent-lite looked: what it printed before is history, as the Agent
    /// tails such a container from its end.
    Now,
    /// Started while agent-lite watched: every line of this run.
    ContainerStart,
}

/// Why following a container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It stopped or was removed.
    Stopped,
    /// The Engine will not give its logs (a logging driver without reading, as `none` or
    /// `syslog`): not asked again while it runs.
    Unreadable(String),
}

pub async fn follow(
    engine: Arc<Engine>,
    target: LogTarget,
    start: Start,
    out: LogOutput,
) -> Outcome {
    out.health.container_followed(&target.name);
    tracing::info!(container = %target.name, service = %target.service, source = %target.source, "following container logs");
    let outcome = follow_until_stopped(&engine, &target, start, &out).await;
    out.health.container_released(&target.name);
    tracing::info!(container = %target.name, ?outcome, "container logs no longer followed");
    outcome
}

async fn follow_until_stopped(
    engine: &Engine,
    target: &LogTarget,
    start: Start,
    out: &LogOutput,
) -> Outcome {
    let mut cursor: Option<Cursor> = None;
    let mut assembler = Assembler::default();
    let mut backoff = Duration::from_millis(250);
    loop {
        let Some(docker) = engine.client().await else {
            // The Engine says so once; wait for it to come back.
            tokio::time::sleep(MAX_BACKOFF).await;
            continue;
        };
        let cur = match cursor.as_mut() {
            Some(c) => c,
            None => cursor.insert(first_cursor(&docker, &target.id, start).await),
        };
        let mut stream = docker.logs(&target.id, Some(options(cur.since_secs())));
        let mut got_lines = false;
        let mut ended_by: Option<DockerError> = None;
        while let Some(item) = stream.next().await {
            let (kind, piece) = match item {
                Ok(bollard::container::LogOutput::StdErr { message }) => (Stream::Stderr, message),
                Ok(other) => (Stream::Stdout, other.into_bytes()),
                Err(e) => {
                    ended_by = Some(e);
                    break;
                }
            };
            let mut lines = Vec::new();
            assembler.push(kind, &piece, now_nanos(), &mut lines);
            lines.retain(|l| cur.admit(l.ts));
            got_lines |= !lines.is_empty();
            store(out, target, lines);
        }
        if let Some(e) = ended_by {
            if let Some(reason) = unreadable(&e) {
                return Outcome::Unreadable(reason);
            }
            tracing::debug!(container = %target.name, error = %e, "container log stream ended");
            out.counters.incr(Counter::LogsContainerStreamErrors);
            engine.call_failed(&e);
        }
        match docker
            .inspect_container(&target.id, None::<InspectContainerOptions>)
            .await
        {
            Ok(info) if info.state.as_ref().and_then(|s| s.running) == Some(true) => {}
            Ok(_)
            | Err(DockerError::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                let mut lines = Vec::new();
                assembler.finish(now_nanos(), &mut lines);
                lines.retain(|l| cur.admit(l.ts));
                store(out, target, lines);
                return Outcome::Stopped;
            }
            Err(e) => engine.call_failed(&e),
        }
        // Still running: take the stream up again where it was. A stream that ends again
        // and again without a line waits longer each time.
        assembler.reset();
        cur.resume();
        out.counters.incr(Counter::LogsContainerStreamResumed);
        backoff = if got_lines {
            Duration::from_millis(250)
        } else {
            (backoff * 2).min(MAX_BACKOFF)
        };
        tokio::time::sleep(backoff).await;
    }
}

fn options(since_secs: i64) -> LogsOptions {
    LogsOptionsBuilder::default()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        // bollard takes a 32-bit time; past 2038 read everything and let the cursor sort.
        .since(i32::try_from(since_secs).unwrap_or(0))
        .build()
}

/// Where the first read starts. From a container's start, Docker's `StartedAt` is no good
/// bound: it is set once the process runs, and its first lines are stamped before it. The
/// previous run's end (`FinishedAt`, kept across a restart) is; a container that never
/// finished has only this run in its log, read whole.
async fn first_cursor(docker: &Docker, id: &str, start: Start) -> Cursor {
    let now = now_nanos();
    if start == Start::Now {
        return Cursor::starting_at(now);
    }
    let state = docker
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .ok()
        .and_then(|i| i.state);
    let time = |t: Option<String>| {
        t.and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
            // Docker's zero time (year 1) is out of range: None, as is a missing one.
            .and_then(|d| d.timestamp_nanos_opt())
            .filter(|ts| *ts > 0)
    };
    let Some(state) = state else {
        return Cursor::starting_at(now);
    };
    let started = time(state.started_at);
    let finished = time(state.finished_at);
    Cursor::starting_at(from_run_bounds(started, finished, now))
}

/// The earliest time of the current run's lines.
fn from_run_bounds(started: Option<i64>, finished: Option<i64>, now: i64) -> i64 {
    match (started, finished) {
        (_, None) => 0,
        (Some(s), Some(f)) if f < s => f,
        // Already over again (a short run): a second before its start, to be sure of its
        // first lines.
        (Some(s), Some(_)) => s - 1_000_000_000,
        (None, Some(_)) => now,
    }
}

/// The Engine's answer when the container's logging driver cannot be read back.
fn unreadable(e: &DockerError) -> Option<String> {
    match e {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } if ((400..500).contains(status_code) && *status_code != 404) || *status_code == 501 => {
            Some(message.clone())
        }
        _ => None,
    }
}

fn store(out: &LogOutput, target: &LogTarget, lines: Vec<Line>) {
    if lines.is_empty() {
        return;
    }
    let cut = lines.iter().filter(|l| l.cut).count() as u64;
    let host = out.host.as_str();
    let records = lines.iter().map(|line| to_record(line, target, host));
    out.push(Origin::Container, records, cut);
}

pub fn to_record(line: &Line, target: &LogTarget, hostname: &str) -> crate::store::logs::LogRecord {
    let default_status = match line.stream {
        Stream::Stdout => "info",
        Stream::Stderr => "error",
    };
    let mut record = parse::parse_as(
        &line.text,
        &target.source,
        Some(&target.service),
        default_status,
        line.ts as f64 / 1e9,
    );
    record.host.get_or_insert_with(|| hostname.to_owned());
    record.container_name = Some(target.name.clone());
    record.short_image = target.short_image.clone();
    record
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> LogTarget {
        LogTarget {
            id: "c0ffee".into(),
            name: "web-1".into(),
            short_image: Some("demo-service".into()),
            source: "rust".into(),
            service: "demo-service".into(),
        }
    }

    fn line(stream: Stream, text: &str) -> Line {
        Line {
            ts: 1_800_000_000_500_000_000,
            stream,
            text: text.into(),
            cut: false,
        }
    }

    #[test]
    fn a_line_is_tagged_with_its_container_and_joined_to_its_trace() {
        let r = to_record(
            &line(
                Stream::Stdout,
                r#"{"level":"warn","message":"slow","dd.trace_id":"42"}"#,
            ),
            &target(),
            "lab",
        );
        assert_eq!(
            (r.status.as_str(), r.message.as_str(), r.trace_id.as_deref()),
            ("warn", "slow", Some("42"))
        );
        assert_eq!(r.service.as_deref(), Some("demo-service"));
        assert_eq!(r.source, "rust");
        assert_eq!(r.host.as_deref(), Some("lab"));
        assert_eq!(r.container_name.as_deref(), Some("web-1"));
        assert_eq!(r.short_image.as_deref(), Some("demo-service"));
        assert_eq!(r.timestamp, 1_800_000_000.5);
    }

    #[test]
    fn stderr_is_an_error_unless_the_line_says_otherwise() {
        let t = target();
        assert_eq!(
            to_record(&line(Stream::Stderr, "boom"), &t, "lab").status,
            "error"
        );
        assert_eq!(
            to_record(&line(Stream::Stdout, "hello"), &t, "lab").status,
            "info"
        );
        assert_eq!(
            to_record(
                &line(Stream::Stderr, r#"{"level":"info","msg":"ok"}"#),
                &t,
                "lab"
            )
            .status,
            "info"
        );
    }

    #[test]
    fn a_run_is_read_from_the_previous_runs_end_or_from_the_start_of_the_log() {
        let (s, f, now) = (2_000, 1_000, 9_000);
        assert_eq!(from_run_bounds(Some(s), None, now), 0, "never finished");
        assert_eq!(from_run_bounds(Some(s), Some(f), now), f, "restarted");
        assert_eq!(
            from_run_bounds(Some(s), Some(3_000), now),
            s - 1_000_000_000,
            "over already"
        );
        assert_eq!(from_run_bounds(None, Some(f), now), now);
    }

    #[test]
    fn a_driver_without_reading_is_unreadable_a_vanished_container_is_not() {
        let driver = DockerError::DockerResponseServerError {
            status_code: 501,
            message: "configured logging driver does not support reading".into(),
        };
        assert!(unreadable(&driver).is_some());
        let gone = DockerError::DockerResponseServerError {
            status_code: 404,
            message: "No such container".into(),
        };
        assert!(unreadable(&gone).is_none());
        assert!(unreadable(&DockerError::RequestTimeoutError).is_none());
    }
}
