//! The container check: every running container of the local Docker Engine, read through
//! its API (list, inspect, one-shot stats), as the Agent's container and Docker checks
//! report them; and `docker.containers.running|stopped` counted by image and service.

mod metrics;
pub mod tags;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bollard::errors::Error as DockerError;
use bollard::models::{ContainerSummary, ContainerSummaryStateEnum};
use bollard::query_parameters::{
    InspectContainerOptions, ListContainersOptionsBuilder, StatsOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt as _;

use super::batch::Batch;
use super::batch::Points;
use super::docker::Engine;
use crate::clock::now_secs;
use crate::counters::{Counter, Counters};
use metrics::{CpuReading, Info, Reading};

/// The previous CPU reading of each container, for rates.
#[derive(Default)]
pub struct ContainerCollector {
    last_cpu: HashMap<String, (Option<i64>, CpuReading)>,
}

impl ContainerCollector {
    /// One collection. Err only when the container list itself cannot be had.
    async fn collect(
        &mut self,
        docker: &Docker,
        engine: &Engine,
        counters: &Counters,
    ) -> Result<Batch, DockerError> {
        let options = ListContainersOptionsBuilder::default().all(true).build();
        let list = docker.list_containers(Some(options)).await?;
        let mut batch = Batch::default();
        count_states(&mut batch, &list);

        let running: Vec<&str> = list
            .iter()
            .filter(|c| c.state == Some(ContainerSummaryStateEnum::RUNNING))
            .filter_map(|c| c.id.as_deref())
            .collect();
        let readings =
            futures_util::future::join_all(running.iter().map(|id| read_one(docker, id))).await;
        let now = now_secs();
        let mut seen = HashMap::new();
        for (id, result) in running.iter().zip(readings) {
            let (info, reading) = match result {
                Ok(r) => r,
                Err(e) => {
                    // A container that stopped between the list and the read is normal.
                    tracing::debug!(container_id = %id, error = %e, "container not read");
                    counters.incr(Counter::CollectorsContainersReadErrors);
                    engine.call_failed(&e);
                    continue;
                }
            };
            let tags = tags::container_tags(&info.id, &info.name, &info.image, &info.labels);
            let rates = match (self.last_cpu.get(*id), reading.cpu) {
                // A new start is a new process: its counters do not follow the old ones.
                (Some((started, prev)), Some(cur)) if *started == info.started_at => {
                    metrics::cpu_rates(prev, &cur)
                }
                _ => None,
            };
            metrics::write(&mut batch, &tags, &info, &reading, rates, now);
            if let Some(cur) = reading.cpu {
                seen.insert((*id).to_owned(), (info.started_at, cur));
            }
        }
        self.last_cpu = seen;
        Ok(batch)
    }
}

/// Inspection and stats of one container, read side by side.
async fn read_one(docker: &Docker, id: &str) -> Result<(Info, Reading), DockerError> {
    let stats_options = StatsOptionsBuilder::default()
        .stream(false)
        .one_shot(true)
        .build();
    let inspect = docker.inspect_container(id, None::<InspectContainerOptions>);
    let stats = async {
        docker
            .stats(id, Some(stats_options))
            .next()
            .await
            .unwrap_or(Err(DockerError::DockerStreamError {
                error: "no stats returned".into(),
            }))
    };
    let (inspect, stats) = tokio::join!(inspect, stats);
    let at = Instant::now();
    let info = Info::from_inspect(&inspect?).ok_or_else(|| DockerError::DockerStreamError {
        error: format!("container {id}: inspection without an id"),
    })?;
    Ok((info, Reading::from_stats(&stats?, at)))
}

/// `docker.containers.running|stopped` by image and service, and their `.total`.
fn count_states(batch: &mut Batch, list: &[ContainerSummary]) {
    let mut groups: BTreeMap<Vec<String>, (u64, u64)> = BTreeMap::new();
    let (mut running, mut stopped) = (0u64, 0u64);
    for c in list {
        let mut key = tags::low_card_tags(
            c.image.as_deref().unwrap_or(""),
            c.labels.as_ref().unwrap_or(&HashMap::new()),
        );
        key.sort();
        let entry = groups.entry(key).or_default();
        if c.state == Some(ContainerSummaryStateEnum::RUNNING) {
            running += 1;
            entry.0 += 1;
        } else {
            stopped += 1;
            entry.1 += 1;
        }
    }
    for (tags, (r, s)) in &groups {
        if *r > 0 {
            batch.gauge("docker.containers.running", tags, *r as f64);
        }
        if *s > 0 {
            batch.gauge("docker.containers.stopped", tags, *s as f64);
        }
    }
    batch.gauge("docker.containers.running.total", &[], running as f64);
    batch.gauge("docker.containers.stopped.total", &[], stopped as f64);
}

pub async fn run(engine: Arc<Engine>, interval: Duration, points: Points, counters: Counters) {
    let mut collector = ContainerCollector::default();
    let mut failing = false;
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(docker) = engine.client().await else {
            continue;
        };
        match collector.collect(&docker, &engine, &counters).await {
            Ok(batch) => {
                batch.write(&points, now_secs());
                counters.incr(Counter::CollectorsContainersRuns);
                failing = false;
            }
            Err(e) => {
                counters.incr(Counter::CollectorsContainersErrors);
                // An unreachable Engine is said by `engine`; anything else once here.
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(error = %e, "container metrics: the container list failed; retrying every round");
                }
                engine.call_failed(&e);
            }
        }
    }
}
