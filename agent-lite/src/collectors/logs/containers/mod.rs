//! Container logs through the Docker Engine API, as the Agent's Docker log launcher
//! collects them: which containers (all, or those labelled for logs) is decided in
//! `labels`; a container is picked up when the Engine reports its start, or by a listing
//! every few seconds that also catches what an event stream missed; each followed
//! container is a task of its own (`follow`), which ends when the container stops.

mod follow;
pub mod labels;
mod lines;

use std::collections::{HashMap, HashSet};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bollard::errors::Error as DockerError;
use bollard::models::{ContainerSummary, EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::{EventsOptionsBuilder, ListContainersOptionsBuilder};
use futures_util::{Stream, StreamExt as _};
use tokio::task::JoinHandle;

use crate::clock::now_secs;
use crate::collectors::docker::Engine;
use crate::collectors::logs::LogOutput;
use crate::counters::Counter;
use follow::{Outcome, Start};
use labels::{ContainerMeta, Decision, Selection};

/// How often running containers are listed. Events bring new ones at once; the listing is
/// the safety net (a start event that came while the container's previous follower was
/// still ending, a broken event stream). A late pick-up loses no line: it reads the run
/// from its start.
const LIST_EVERY: Duration = Duration::from_secs(5);

type Events = Pin<Box<dyn Stream<Item = Result<EventMessage, DockerError>> + Send>>;

struct Watcher {
    engine: Arc<Engine>,
    selection: Selection,
    out: LogOutput,
    followed: HashMap<String, JoinHandle<Outcome>>,
    /// Containers not followed while they run: logs that cannot be read, labels that
    /// cannot be parsed. Said once each.
    refused: HashSet<String>,
}

pub async fn run(engine: Arc<Engine>, selection: Selection, out: LogOutput) {
    tracing::info!(
        collect = selection.name(),
        "container logs: following {} containers",
        match selection {
            Selection::All => "all",
            Selection::Labelled => "com.datadoghq.ad.logs-labelled",
        }
    );
    let mut w = Watcher {
        engine,
        selection,
        out,
        followed: HashMap::new(),
        refused: HashSet::new(),
    };
    let mut events: Option<Events> = None;
    // Containers running before the first listing are read from now on, later ones from
    // their start.
    let mut first_listing = true;
    let mut tick = tokio::time::interval(LIST_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                w.reap().await;
                let Some(docker) = w.engine.client().await else {
                    events = None;
                    continue;
                };
                // Events first: a container started while the list is read is not missed.
                if events.is_none() {
                    events = Some(start_events(&docker));
                }
                if w.list(&docker, first_listing).await {
                    first_listing = false;
                }
            }
            item = next(&mut events) => match item {
                Some(Ok(msg)) => {
                    if let Some(meta) = meta_of_event(&msg) {
                        w.consider(meta, Start::ContainerStart);
                    }
                }
                Some(Err(e)) => {
                    w.out.counters.incr(Counter::LogsContainerEventErrors);
                    w.engine.call_failed(&e);
                    events = None;
                }
                None => events = None,
            }
        }
    }
}

/// The next event, or never when there is no stream (the listing opens one).
async fn next(events: &mut Option<Events>) -> Option<Result<EventMessage, DockerError>> {
    match events {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

fn start_events(docker: &bollard::Docker) -> Events {
    let mut filters = HashMap::new();
    filters.insert("type", vec!["container"]);
    filters.insert("event", vec!["start"]);
    let options = EventsOptionsBuilder::default()
        .filters(&filters)
        .since(&now_secs().to_string())
        .build();
    Box::pin(docker.events(Some(options)))
}

impl Watcher {
    /// Lists running containers and follows those not followed yet; true when it could.
    async fn list(&mut self, docker: &bollard::Docker, first: bool) -> bool {
        let options = ListContainersOptionsBuilder::default().all(false).build();
        match docker.list_containers(Some(options)).await {
            Ok(list) => {
                let running: HashSet<&str> = list.iter().filter_map(|c| c.id.as_deref()).collect();
                // A refused container that stopped may come back with a readable setup.
                self.refused.retain(|id| running.contains(id.as_str()));
                let start = if first {
                    Start::Now
                } else {
                    Start::ContainerStart
                };
                for c in &list {
                    if let Some(meta) = meta_of_summary(c) {
                        self.consider(meta, start);
                    }
                }
                true
            }
            Err(e) => {
                self.out.counters.incr(Counter::LogsContainerListErrors);
                self.engine.call_failed(&e);
                false
            }
        }
    }

    fn consider(&mut self, meta: ContainerMeta, start: Start) {
        if meta.id.is_empty()
            || self.refused.contains(&meta.id)
            || self
                .followed
                .get(&meta.id)
                .is_some_and(|task| !task.is_finished())
        {
            return;
        }
        match labels::decide(&meta, self.selection) {
            Decision::Skip => {}
            Decision::BadLabel(reason) => {
                tracing::warn!(container = %meta.name.trim_start_matches('/'), %reason, "container logs not collected: its label cannot be read");
                self.out.counters.incr(Counter::LogsContainerLabelErrors);
                self.refused.insert(meta.id);
            }
            Decision::Follow(target) => {
                let id = target.id.clone();
                let task = tokio::spawn(follow::follow(
                    self.engine.clone(),
                    target,
                    start,
                    self.out.clone(),
                ));
                self.followed.insert(id, task);
            }
        }
    }

    /// Forgets followers that ended, remembering containers whose logs cannot be read.
    async fn reap(&mut self) {
        let done: Vec<String> = self
            .followed
            .iter()
            .filter(|(_, t)| t.is_finished())
            .map(|(id, _)| id.clone())
            .collect();
        for id in done {
            let Some(task) = self.followed.remove(&id) else {
                continue;
            };
            match task.await {
                Ok(Outcome::Stopped) => {}
                Ok(Outcome::Unreadable(reason)) => {
                    tracing::warn!(container_id = %id, %reason, "container logs cannot be read through the Engine (its logging driver?); not asked again while it runs");
                    self.out.counters.incr(Counter::LogsContainerUnreadable);
                    self.refused.insert(id);
                }
                Err(e) => {
                    tracing::error!(container_id = %id, error = %e, "a container log follower failed");
                }
            }
        }
    }
}

fn meta_of_summary(c: &ContainerSummary) -> Option<ContainerMeta> {
    Some(ContainerMeta {
        id: c.id.clone()?,
        name: c
            .names
            .as_ref()
            .and_then(|n| n.first())
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_default(),
        image: c.image.clone().unwrap_or_default(),
        labels: c.labels.clone().unwrap_or_default(),
    })
}

/// A start event names the container, its image and its labels (among other attributes,
/// which no label rule looks at).
fn meta_of_event(msg: &EventMessage) -> Option<ContainerMeta> {
    if msg.typ != Some(EventMessageTypeEnum::CONTAINER) || msg.action.as_deref() != Some("start") {
        return None;
    }
    let actor = msg.actor.as_ref()?;
    let attrs = actor.attributes.clone().unwrap_or_default();
    Some(ContainerMeta {
        id: actor.id.clone()?,
        name: attrs.get("name").cloned().unwrap_or_default(),
        image: attrs.get("image").cloned().unwrap_or_default(),
        labels: attrs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    #[test]
    fn a_start_event_names_the_container_and_its_labels() {
        let msg = EventMessage {
            typ: Some(EventMessageTypeEnum::CONTAINER),
            action: Some("start".into()),
            actor: Some(EventActor {
                id: Some("c0ffee".into()),
                attributes: Some(HashMap::from([
                    ("name".to_owned(), "web-1".to_owned()),
                    ("image".to_owned(), "demo:1".to_owned()),
                    (labels::AD_LOGS_LABEL.to_owned(), "[{}]".to_owned()),
                ])),
            }),
            ..Default::default()
        };
        let meta = meta_of_event(&msg).expect("a start");
        assert_eq!(
            (meta.id.as_str(), meta.name.as_str(), meta.image.as_str()),
            ("c0ffee", "web-1", "demo:1")
        );
        assert!(meta.labels.contains_key(labels::AD_LOGS_LABEL));
        let mut die = msg;
        die.action = Some("die".into());
        assert!(meta_of_event(&die).is_none());
    }
}
