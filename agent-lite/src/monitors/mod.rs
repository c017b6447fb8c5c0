//! Monitors: Datadog monitor definitions evaluated live over the store.
//!
//! - `definition`: the monitor JSON in Datadog's API shape, checked before it is used;
//! - `monitor_query`: `avg(last_5m):<metric query> > 80`;
//! - `evaluate`: one evaluation at one instant, pure (the clock comes in);
//! - `registry`: the monitors, their groups' states, the refused definitions;
//! - `loader`: the folder of definitions, polled for changes;
//! - `history`: transitions kept across restarts;
//! - `slo_alert`: `burn_rate(...)` and `error_budget(...)` of `slo alert` monitors, whose
//!   SLOs are read through an [`SloSource`] (the SLOs use the monitors, not the reverse);
//! - `template`, `notify`: messages, events, log lines and webhooks.
//!
//! Lock order, to stay clear of deadlocks: the store before the registry, which only
//! [`with_store_and_registry`] takes together.

pub mod definition;
pub mod evaluate;
pub mod history;
pub mod loader;
pub mod monitor_query;
pub mod notify;
pub mod registry;
pub mod slo_alert;
pub mod template;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use crate::clock::now_secs;
use crate::counters::{Counter, Counters};
use crate::hostname::Hostname;
use crate::json_folder;
use crate::shutdown::Stop;
use crate::store::events::{Event, SharedEvents};
use crate::store::{SharedStore, Store};
use history::History;
use notify::Notifier;
use registry::{Registry, SharedRegistry};

#[derive(Debug, Clone, Args)]
pub struct MonitorsConfig {
    /// Folder of monitor definitions in Datadog's monitor JSON, loaded at start and on change.
    #[arg(long, env = "AGENT_LITE_MONITORS_DIR", value_name = "DIR")]
    pub monitors_dir: Option<PathBuf>,

    /// Seconds between two evaluations of every monitor.
    #[arg(long, env = "AGENT_LITE_MONITOR_INTERVAL_SECS", default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub monitor_interval_secs: u64,
}

/// Where the monitors' notifications go besides the event stream and the log.
#[derive(Debug, Clone, Args)]
pub struct NotificationsConfig {
    /// Webhooks called on every transition: `name=url`, comma-separated.
    #[arg(long, env = "AGENT_LITE_WEBHOOKS", default_value = "")]
    pub webhooks: String,

    /// Where agent-lite's page is reached, for the links in notifications.
    #[arg(
        long,
        env = "AGENT_LITE_PUBLIC_URL",
        default_value = "http://127.0.0.1:5002"
    )]
    pub public_url: String,
}

/// Where `slo alert` monitors read their SLO: good and total over the last `secs` before
/// `now` and the target of `timeframe`. Called with the store and the registry locked.
pub trait SloSource: Send + Sync {
    fn read(
        &self,
        store: &Store,
        monitors: &Registry,
        slo_id: &str,
        timeframe: &str,
        secs: i64,
        now: i64,
    ) -> Result<slo_alert::SloReading, String>;
}

/// What the monitors read and write: the metric store (read), their registry, the event
/// stream (refused definitions; notifications go through the [`Notifier`]), the counters,
/// and the SLOs of slo alerts (none: such monitors report an error).
#[derive(Clone)]
pub struct Parts {
    pub slos: Option<std::sync::Arc<dyn SloSource>>,
    pub store: SharedStore,
    pub registry: SharedRegistry,
    pub events: SharedEvents,
    pub counters: Counters,
    pub host: Hostname,
}

/// The one place that holds the metric store and the registry at once, in that order.
pub fn with_store_and_registry<R>(
    store: &SharedStore,
    registry: &SharedRegistry,
    f: impl FnOnce(&Store, &mut Registry) -> R,
) -> R {
    let store = store.lock();
    let mut registry = registry.lock();
    f(&store, &mut registry)
}

/// The registry as a start finds it (history and API monitors restored from `state_dir`, the
/// folder loaded), and the notifier the monitors' task will own.
pub fn setup(
    cfg: &MonitorsConfig,
    notifications: &NotificationsConfig,
    state_dir: Option<&Path>,
    parts: &Parts,
) -> anyhow::Result<Notifier> {
    let webhooks = notify::parse_webhooks(&notifications.webhooks)
        .map_err(|e| anyhow::anyhow!("AGENT_LITE_WEBHOOKS: {e}"))?;
    let notifier = Notifier::new(
        webhooks,
        notifications.public_url.clone(),
        parts.events.clone(),
        parts.host.clone(),
    )
    .context("cannot build the webhook client")?;
    let history = match state_dir {
        Some(dir) => History::open(dir)?,
        None => History::in_memory(),
    };
    if history.skipped_lines > 0 {
        tracing::warn!(
            skipped = history.skipped_lines,
            "unreadable lines in the monitor history were skipped"
        );
    }
    let now = now_secs();
    let mut registry = Registry::new(
        history,
        state_dir.map(Path::to_path_buf),
        parts.host.to_string(),
    );
    for error in registry.restore_api_monitors(now) {
        tracing::warn!(%error, "a saved monitor was refused");
    }
    *parts.registry.lock() = registry;
    if let Some(dir) = &cfg.monitors_dir {
        if !dir.is_dir() {
            anyhow::bail!(
                "the monitors folder {} does not exist (AGENT_LITE_MONITORS_DIR)",
                dir.display()
            );
        }
        reload(parts, dir);
    }
    Ok(notifier)
}

/// Loads the folder again; refused definitions are logged and become events.
pub fn reload(parts: &Parts, dir: &Path) {
    let loaded = match loader::load_dir(dir) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "monitors folder unreadable; keeping the monitors loaded");
            return;
        }
    };
    let (count, refused) = (loaded.monitors.len(), loaded.refused.clone());
    parts
        .registry
        .lock()
        .replace_file_monitors(loaded, now_secs());
    tracing::info!(loaded = count, refused = refused.len(), folder = %dir.display(), "monitor definitions loaded");
    for r in refused {
        tracing::warn!(file = %r.file, error = %r.error, "monitor definition refused");
        parts.events.lock().push(Event::own(
            &parts.host,
            "Monitor definition refused",
            format!("{}: {}", r.file, r.error),
        ));
    }
}

/// Evaluates every monitor at `now` and sends out the notifications.
pub fn evaluate_now(parts: &Parts, notifier: &Notifier, now: i64) -> usize {
    let notices = with_store_and_registry(&parts.store, &parts.registry, |store, registry| {
        let mut notices = registry.evaluate_all(store, now);
        let values = registry
            .slo_alerts()
            .into_iter()
            .map(|(id, q)| {
                let value = match &parts.slos {
                    None => Err("no SLOs in this agent".to_owned()),
                    Some(slos) => q.value(|secs| {
                        slos.read(store, registry, &q.slo_id, &q.timeframe, secs, now)
                    }),
                };
                (id, value)
            })
            .collect();
        notices.extend(registry.apply_slo_values(values, now));
        notices
    });
    for n in &notices {
        notifier.notify(n);
    }
    parts
        .counters
        .add(Counter::MonitorsTransitions, notices.len() as u64);
    notices.len()
}

/// Evaluates on the interval and reloads the folder when it changes, until `stop`.
pub async fn run(cfg: MonitorsConfig, parts: Parts, notifier: Notifier, stop: Stop) {
    let mut evaluate = tokio::time::interval(Duration::from_secs(cfg.monitor_interval_secs));
    let mut poll = tokio::time::interval(json_folder::POLL);
    let mut seen = cfg.monitors_dir.as_deref().map(json_folder::fingerprint);
    let stop = stop.wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = evaluate.tick() => {
                evaluate_now(&parts, &notifier, now_secs());
            }
            _ = poll.tick(), if cfg.monitors_dir.is_some() => {
                if let Some(dir) = cfg.monitors_dir.as_deref() {
                    let now = Some(json_folder::fingerprint(dir));
                    if now != seen {
                        seen = now;
                        reload(&parts, dir);
                    }
                }
            }
            () = &mut stop => break,
        }
    }
}

/// `agent-lite check-monitors PATH...`: every definition checked as a start would; the
/// report names each file and monitor; false when any is refused.
pub fn check_paths(paths: &[PathBuf]) -> bool {
    let mut ok = true;
    for path in paths {
        let files = if path.is_dir() {
            match loader::json_files(path) {
                Ok(f) => f,
                Err(e) => {
                    println!("refused  {}: cannot read the folder: {e}", path.display());
                    ok = false;
                    continue;
                }
            }
        } else {
            vec![path.clone()]
        };
        for file in files {
            match loader::load_file(&file) {
                Ok(monitors) => {
                    for m in monitors {
                        println!(
                            "ok       {}: {} (id {})",
                            file.display(),
                            m.monitor.name,
                            m.id()
                        );
                    }
                }
                Err(e) => {
                    ok = false;
                    println!("refused  {}: {e}", file.display());
                }
            }
        }
    }
    ok
}
