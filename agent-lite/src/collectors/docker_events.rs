//! Docker's event stream (start, die, kill, oom, restart, health_status) into agent-lite's
//! event stream, shaped as the Agent's Docker check sends them unbundled: `Container <name>:
//! <action>`, tagged as the container's metrics are plus `event_type:`, kill and oom as
//! errors. A death with an exit code other than 0 or 143 (SIGTERM) also gives the Agent's
//! `docker.exit` service check, critical. The stream is followed live and taken up again,
//! from the last event seen, whenever it ends.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{EventsOptions, EventsOptionsBuilder};
use futures_util::StreamExt as _;

use super::containers::tags;
use super::docker::Engine;
use crate::clock::now_secs;
use crate::counters::{Counter, Counters};
use crate::hostname::Hostname;
use crate::store::events::{AlertType, Event, SharedEvents};

const ACTIONS: &[&str] = &["start", "die", "kill", "oom", "restart", "health_status"];
/// Exit codes of a normal stop, as the Agent's `ok_exit_codes` default.
const OK_EXIT_CODES: &[&str] = &["0", "143"];
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Attributes of a container event that are not labels.
const NOT_LABELS: &[&str] = &["name", "image", "exitCode", "signal", "execDuration"];

pub async fn run(engine: Arc<Engine>, events: SharedEvents, counters: Counters, host: Hostname) {
    let mut backoff = Duration::from_secs(1);
    // Where to take the stream up again: the time of the last event handled.
    let mut last: Option<(i64, i64)> = None;
    loop {
        if let Some(docker) = engine.client().await {
            let since = last.map_or_else(now_secs, |(secs, _)| secs);
            let mut stream = docker.events(Some(options(since)));
            tracing::debug!(since, "following Docker events");
            while let Some(item) = stream.next().await {
                match item {
                    Ok(msg) => {
                        backoff = Duration::from_secs(1);
                        let key = (msg.time.unwrap_or(0), msg.time_nano.unwrap_or(0));
                        // Taking up again from a whole second replays that second's events.
                        if last.is_some_and(|l| key.1 != 0 && key.1 <= l.1) {
                            continue;
                        }
                        last = Some(key);
                        for event in to_events(&msg, host.as_str()) {
                            counters.incr(Counter::CollectorsDockerEventsReceived);
                            events.lock().push(event);
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "Docker event stream ended");
                        counters.incr(Counter::CollectorsDockerEventsStreamErrors);
                        engine.call_failed(&e);
                        if matches!(
                            e,
                            DockerError::JsonDataError { .. } | DockerError::JsonSerdeError { .. }
                        ) {
                            // An event that cannot be decoded ends the stream; replaying
                            // from before it would end it again, so go on from now.
                            last = Some((now_secs(), 0));
                        }
                        break;
                    }
                }
            }
            if last.is_none() {
                last = Some((now_secs(), 0));
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Container events of the followed actions since `since` (seconds), then live. The Engine
/// matches `health_status` against `health_status: healthy` itself.
fn options(since: i64) -> EventsOptions {
    let mut filters = HashMap::new();
    filters.insert("type", vec!["container"]);
    filters.insert("event", ACTIONS.to_vec());
    EventsOptionsBuilder::default()
        .filters(&filters)
        .since(&since.to_string())
        .build()
}

/// The events one Docker event gives: none for actions not followed, one, or two for a
/// death with a bad exit code.
pub fn to_events(msg: &EventMessage, hostname: &str) -> Vec<Event> {
    if msg.typ != Some(EventMessageTypeEnum::CONTAINER) {
        return Vec::new();
    }
    let Some(action_full) = msg.action.as_deref() else {
        return Vec::new();
    };
    // `health_status: healthy` is the action and its detail in one string.
    let (action, detail) = match action_full.split_once(':') {
        Some((a, d)) => (a.trim(), Some(d.trim())),
        None => (action_full, None),
    };
    if !ACTIONS.contains(&action) {
        return Vec::new();
    }
    let actor = msg.actor.as_ref();
    let id = actor.and_then(|a| a.id.as_deref()).unwrap_or("");
    let empty = HashMap::new();
    let attrs = actor.and_then(|a| a.attributes.as_ref()).unwrap_or(&empty);
    let name = attrs.get("name").map(String::as_str).unwrap_or(id);
    let image = attrs.get("image").map(String::as_str).unwrap_or("");
    let labels: HashMap<String, String> = attrs
        .iter()
        .filter(|(k, _)| !NOT_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut event_tags = tags::container_tags(id, name, image, &labels);
    event_tags.push(format!("event_type:{action}"));
    let exit_code = attrs.get("exitCode").map(String::as_str);

    let mut text = format!("Container {name} (running image \"{image}\"): {action}");
    match (action, detail, exit_code, attrs.get("signal")) {
        ("health_status", Some(d), _, _) => text.push_str(&format!(": {d}")),
        ("die", _, Some(code), _) => text.push_str(&format!(", exit code {code}")),
        ("kill", _, _, Some(sig)) => text.push_str(&format!(", signal {sig}")),
        _ => {}
    }
    let alert_type = match (action, detail) {
        ("oom" | "kill", _) => AlertType::Error,
        ("health_status", Some("unhealthy")) => AlertType::Warning,
        ("health_status", Some("healthy")) => AlertType::Success,
        _ => AlertType::Info,
    };
    let date = msg.time.unwrap_or_else(now_secs);
    let event = |title: String, text: String, alert: AlertType, source: &str, tags: Vec<String>| {
        Event::new(source, title, text, date)
            .with_host(hostname)
            .with_tags(tags)
            .with_alert_type(alert)
            .with_aggregation_key(format!("docker:{id}"))
    };
    let title = match detail {
        Some(d) => format!("Container {name}: {action}: {d}"),
        None => format!("Container {name}: {action}"),
    };
    let mut out = vec![event(title, text, alert_type, "docker", event_tags.clone())];
    if let Some(code) = exit_code.filter(|c| action == "die" && !OK_EXIT_CODES.contains(c)) {
        let mut tags = event_tags;
        tags.retain(|t| !t.starts_with("event_type:"));
        out.push(event(
            "Service check docker.exit".into(),
            format!("Container {name} exited with {code}"),
            AlertType::Error,
            "service_check",
            tags,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn msg(action: &str, attrs: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            typ: Some(EventMessageTypeEnum::CONTAINER),
            action: Some(action.into()),
            actor: Some(EventActor {
                id: Some("c0ffee".into()),
                attributes: Some(
                    attrs
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
            }),
            time: Some(1_800_000_000),
            time_nano: Some(1_800_000_000_123_456_789),
            ..Default::default()
        }
    }

    const WEB: &[(&str, &str)] = &[
        ("name", "web-1"),
        ("image", "demo-service:1.0"),
        ("com.datadoghq.tags.service", "demo-service"),
        ("com.datadoghq.tags.env", "dev"),
        ("com.docker.compose.project", "lab"),
        ("com.docker.compose.service", "web"),
    ];

    #[test]
    fn a_start_is_an_info_event_tagged_like_the_containers_metrics() {
        let events = to_events(&msg("start", WEB), "lab");
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.title(), "Container web-1: start");
        assert_eq!(e.alert_type(), AlertType::Info);
        assert_eq!(e.source_type_name(), "docker");
        assert_eq!(e.date_happened(), 1_800_000_000);
        assert_eq!(e.host(), Some("lab"));
        for t in [
            "container_name:web-1",
            "container_id:c0ffee",
            "short_image:demo-service",
            "image_tag:1.0",
            "service:demo-service",
            "env:dev",
            "compose_project:lab",
            "compose_service:web",
            "event_type:start",
        ] {
            assert!(e.tags().iter().any(|x| x == t), "{t} in {:?}", e.tags());
        }
    }

    #[test]
    fn kill_and_oom_are_errors_and_a_bad_exit_adds_the_exit_service_check() {
        let kill = to_events(&msg("kill", &[("name", "web-1"), ("signal", "9")]), "lab");
        assert_eq!(kill[0].alert_type(), AlertType::Error);
        assert!(kill[0].text().ends_with("kill, signal 9"));
        assert_eq!(
            to_events(&msg("oom", WEB), "lab")[0].alert_type(),
            AlertType::Error
        );

        let died = to_events(
            &msg("die", &[("name", "web-1"), ("exitCode", "137")]),
            "lab",
        );
        assert_eq!(died.len(), 2);
        assert!(died[0].text().ends_with("die, exit code 137"));
        assert_eq!(died[1].title(), "Service check docker.exit");
        assert_eq!(died[1].alert_type(), AlertType::Error);
        assert!(!died[1].tags().iter().any(|t| t.starts_with("event_type:")));

        let stopped = to_events(
            &msg("die", &[("name", "web-1"), ("exitCode", "143")]),
            "lab",
        );
        assert_eq!(stopped.len(), 1, "SIGTERM is a normal stop");
    }

    #[test]
    fn health_status_carries_its_status() {
        let e = &to_events(&msg("health_status: unhealthy", WEB), "lab")[0];
        assert_eq!(e.title(), "Container web-1: health_status: unhealthy");
        assert_eq!(e.alert_type(), AlertType::Warning);
        assert!(e.tags().iter().any(|t| t == "event_type:health_status"));
        let e = &to_events(&msg("health_status: healthy", WEB), "lab")[0];
        assert_eq!(e.alert_type(), AlertType::Success);
    }

    #[test]
    fn other_actions_and_other_objects_are_left_out() {
        assert!(to_events(&msg("exec_start: sh -c true", WEB), "lab").is_empty());
        assert!(to_events(&msg("attach", WEB), "lab").is_empty());
        let mut image = msg("start", WEB);
        image.typ = Some(EventMessageTypeEnum::IMAGE);
        assert!(to_events(&image, "lab").is_empty());
        let mut bare = msg("start", &[]);
        bare.actor = None;
        assert_eq!(
            to_events(&bare, "lab").len(),
            1,
            "an event without attributes is still an event"
        );
    }
}
