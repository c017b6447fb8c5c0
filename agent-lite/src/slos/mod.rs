//! SLOs: Datadog's service level objectives over the store and the monitors.
//!
//! - `definition`: the SLO JSON in Datadog's API shape, checked field by field;
//! - `sli`: good and total over a range, the SLI, the error budget and its burn-down;
//! - `registry`: the SLOs from the folder and the API, saved in the state folder;
//! - `loader`: the folder of definitions (`AGENT_LITE_SLOS_DIR`);
//! - `alerts`: what `slo alert` monitors read (good and total over their windows);
//! - `view`: the API's answers (`/api/v1/slo`, its history) in Datadog's shapes;
//!
//! Lock order: the metric store, the monitors' registry, then the SLOs, held in code by
//! [`registry::with_store_monitors_and_slos`] and [`registry::lock_after`].

pub mod alerts;
pub mod definition;
pub mod loader;
pub mod registry;
pub mod sli;
#[cfg(test)]
mod tests;
pub mod view;

use std::path::{Path, PathBuf};

use clap::Args;

use crate::clock::now_secs;
use crate::hostname::Hostname;
use crate::json_folder;
use crate::shutdown::Stop;
use crate::store::events::{Event, SharedEvents};
use registry::{SharedSlos, SloRegistry};

#[derive(Debug, Clone, Args)]
pub struct SlosConfig {
    /// Folder of SLO definitions in Datadog's SLO JSON, loaded at start and on change.
    /// SLOs made through the API are kept in AGENT_LITE_STATE_DIR, beside the monitors.
    #[arg(long, env = "AGENT_LITE_SLOS_DIR", value_name = "DIR")]
    pub slos_dir: Option<PathBuf>,
}

/// What the SLOs' task writes: the registry, and the event stream for refused definitions.
#[derive(Clone)]
pub struct Parts {
    pub slos: SharedSlos,
    pub events: SharedEvents,
    pub host: Hostname,
}

/// The registry as a start finds it: the API's SLOs restored from `state_dir` (the agent's
/// state folder), the folder loaded.
pub fn setup(cfg: &SlosConfig, state_dir: Option<&Path>, parts: &Parts) -> anyhow::Result<()> {
    let mut registry = SloRegistry::new(state_dir.map(Path::to_path_buf));
    for error in registry.restore_api_slos() {
        tracing::warn!(%error, "a saved SLO was refused");
    }
    *parts.slos.lock() = registry;
    if let Some(dir) = &cfg.slos_dir {
        if !dir.is_dir() {
            anyhow::bail!(
                "the SLOs folder {} does not exist (AGENT_LITE_SLOS_DIR)",
                dir.display()
            );
        }
        reload(parts, dir);
    }
    Ok(())
}

/// Loads the folder again; refused definitions are logged and become events.
pub fn reload(parts: &Parts, dir: &Path) {
    let loaded = match loader::load_dir(dir) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "SLOs folder unreadable; keeping the SLOs loaded");
            return;
        }
    };
    let (count, refused) = (loaded.slos.len(), loaded.refused.clone());
    parts.slos.lock().replace_file_slos(loaded, now_secs());
    tracing::info!(loaded = count, refused = refused.len(), folder = %dir.display(), "SLO definitions loaded");
    for r in refused {
        tracing::warn!(file = %r.file, error = %r.error, "SLO definition refused");
        parts.events.lock().push(Event::own(
            &parts.host,
            "SLO definition refused",
            format!("{}: {}", r.file, r.error),
        ));
    }
}

/// Reloads the folder when it changes, until `stop`.
pub async fn run(cfg: SlosConfig, parts: Parts, stop: Stop) {
    if let Some(dir) = cfg.slos_dir {
        json_folder::watch(&dir, stop, || reload(&parts, &dir)).await;
    }
}
