//! Logs: lines from the files named in the configuration (local mode) and from containers'
//! stdout and stderr through the Docker Engine API, parsed as Datadog's pipelines would and
//! kept in the log store, where `dd.trace_id` joins each line to its trace.

pub mod containers;
pub mod file_tail;
pub mod files;
pub mod parse;

use std::sync::Arc;

use clap::{ArgAction, Args};

use super::docker::Engine;
use super::health::CollectorsHealth;
use crate::counters::{Counter, Counters};
use crate::hostname::Hostname;
use crate::store::logs::{LogRecord, Logs, SharedLogs};
use containers::labels::Selection;

/// What the log collection writes: lines into the log store, its counters and health.
#[derive(Clone)]
pub struct LogOutput {
    pub logs: SharedLogs,
    pub counters: Counters,
    pub health: Arc<CollectorsHealth>,
    /// The host of lines that name none.
    pub host: Hostname,
}

/// Where a batch of lines came from, for the counters and the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    File,
    Container,
}

impl LogOutput {
    /// Stores `records` (`cut` of them cut at the line limit) and counts them.
    pub fn push(&self, origin: Origin, records: impl IntoIterator<Item = LogRecord>, cut: u64) {
        let mut n = 0u64;
        {
            let mut logs = self.logs.lock();
            for mut record in records {
                record
                    .host
                    .get_or_insert_with(|| self.host.as_str().to_owned());
                logs.push(record);
                n += 1;
            }
        }
        match origin {
            Origin::File => {
                self.counters.add(Counter::LogsLines, n);
                self.health.file_lines(n);
            }
            Origin::Container => {
                self.counters.add(Counter::LogsContainerLines, n);
                self.counters.add(Counter::LogsContainerLinesCut, cut);
                self.health.container_lines(n);
            }
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct LogsConfig {
    /// Log files to follow, as `service=path` (or a bare path), comma-separated; like the
    /// Agent's file log configuration, they are followed across rotation.
    #[arg(long, env = "AGENT_LITE_LOGS_FILES", default_value = "")]
    pub logs_files: String,

    /// Log lines kept for search; the oldest go first.
    #[arg(long, env = "AGENT_LITE_MAX_LOG_LINES", default_value_t = 100_000)]
    pub max_log_lines: usize,

    /// Follow containers' stdout and stderr through the Docker Engine API (DOCKER_HOST):
    /// those with a `com.datadoghq.ad.logs` label, or every one with
    /// DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL.
    #[arg(long, env = "AGENT_LITE_CONTAINER_LOGS", default_value_t = true, action = ArgAction::Set)]
    pub container_logs: bool,

    /// Collect the logs of every container, not only the labelled ones (the Agent's
    /// logs_config.container_collect_all).
    #[arg(long, env = "DD_LOGS_CONFIG_CONTAINER_COLLECT_ALL", default_value_t = false, action = ArgAction::Set)]
    pub container_collect_all: bool,
}

impl LogsConfig {
    /// The log store the collection fills and the API searches, bounded as configured.
    pub fn store(&self) -> SharedLogs {
        SharedLogs::new(Logs::new(self.max_log_lines))
    }

    fn selection(&self) -> Option<Selection> {
        match (self.container_logs, self.container_collect_all) {
            (false, _) => None,
            (true, true) => Some(Selection::All),
            (true, false) => Some(Selection::Labelled),
        }
    }

    /// Whether container logs need the Docker Engine.
    pub fn uses_docker(&self) -> bool {
        self.selection().is_some()
    }
}

/// Follows the configured files, and containers' logs through `engine` when there is one.
pub fn spawn(cfg: &LogsConfig, engine: Option<Arc<Engine>>, out: LogOutput) {
    let files = files::parse_files(&cfg.logs_files);
    let selection = cfg.selection().filter(|_| engine.is_some());
    out.health
        .logs_configured(files.len(), selection.map_or("off", Selection::name));
    if !files.is_empty() {
        tokio::spawn(files::run(files::follow(files), out.clone()));
    }
    if let (Some(engine), Some(selection)) = (engine, selection) {
        tokio::spawn(containers::run(engine, selection, out));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        logs: LogsConfig,
    }

    #[test]
    fn containers_are_collected_when_labelled_or_all() {
        let cfg = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
                .expect("parses")
                .logs
                .selection()
        };
        assert_eq!(cfg(&[]), Some(Selection::Labelled));
        assert_eq!(
            cfg(&["--container-collect-all", "true"]),
            Some(Selection::All)
        );
        assert_eq!(
            cfg(&[
                "--container-logs",
                "false",
                "--container-collect-all",
                "true"
            ]),
            None
        );
    }
}
