//! Dashboards in Datadog's dashboard JSON: loaded from a folder (and again when a file
//! changes), made and changed through Datadog's dashboard API (`web/dashboards.rs`), kept in
//! the state folder, rendered by the page (`web/ui/views/dashboards.js`, a module per widget
//! type in `web/ui/widgets/`).
//!
//! - `definition`: the checks Datadog's API makes, with the JSON path of a refusal;
//! - `id`: Datadog's `abc-def-ghi` ids and url slugs;
//! - `registry`: the dashboards, from files (read-only) and from the API (saved).
//!
//! The folder is polled, as the monitors' is: change events do not cross Docker Desktop's
//! bind mounts.

pub mod definition;
pub mod id;
pub mod registry;

use std::path::{Path, PathBuf};

use clap::Args;

use crate::hostname::Hostname;
use crate::json_folder::{self, json_files, Refusal};
use crate::shutdown::Stop;
use crate::store::events::{Event, SharedEvents};
use registry::{Dashboards, SharedDashboards};

#[derive(Debug, Clone, Args)]
pub struct DashboardsConfig {
    /// Folder of dashboards in Datadog's dashboard JSON (one per `*.json` file), loaded at
    /// start and on change; read-only through the API.
    #[arg(long, env = "AGENT_LITE_DASHBOARDS_DIR", value_name = "DIR")]
    pub dashboards_dir: Option<PathBuf>,
}

/// What the dashboards' task writes besides its registry: refusals become events.
#[derive(Clone)]
pub struct Parts {
    pub dashboards: SharedDashboards,
    pub events: SharedEvents,
    pub host: Hostname,
}

/// The dashboards as a start finds them: the saved ones (in `state_dir`, the agent's state
/// folder), then the folder.
pub fn setup(
    cfg: &DashboardsConfig,
    state_dir: Option<&Path>,
    parts: &Parts,
) -> anyhow::Result<()> {
    let mut dashboards = Dashboards::new(state_dir.map(Path::to_path_buf));
    for error in dashboards.restore_saved() {
        tracing::warn!(%error, "a saved dashboard was refused");
    }
    *parts.dashboards.lock() = dashboards;
    if let Some(dir) = &cfg.dashboards_dir {
        if !dir.is_dir() {
            anyhow::bail!(
                "the dashboards folder {} does not exist (AGENT_LITE_DASHBOARDS_DIR)",
                dir.display()
            );
        }
        reload(parts, dir);
    }
    Ok(())
}

/// Reads every file of the folder; one that is not JSON is refused with its reason.
/// The dashboards a folder holds, each with its file.
type Loaded = Vec<(PathBuf, serde_json::Value)>;

fn load_dir(dir: &Path) -> Result<(Loaded, Vec<Refusal>), String> {
    let files = json_files(dir)
        .map_err(|e| format!("cannot read the dashboards folder {}: {e}", dir.display()))?;
    let (mut loaded, mut refused) = (Vec::new(), Vec::new());
    for path in files {
        let read = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read: {e}"))
            .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("not valid JSON: {e}")));
        match read {
            Ok(v) => loaded.push((path, v)),
            Err(error) => refused.push(Refusal {
                file: path.display().to_string(),
                error,
            }),
        }
    }
    Ok((loaded, refused))
}

/// Loads the folder again; refused definitions are logged and become events, and the
/// others load.
pub fn reload(parts: &Parts, dir: &Path) {
    let (loaded, mut refused) = match load_dir(dir) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "dashboards folder unreadable; keeping the dashboards loaded");
            return;
        }
    };
    let count = {
        let mut dashboards = parts.dashboards.lock();
        dashboards.replace_file_dashboards(loaded);
        dashboards.refused.extend(refused.iter().cloned());
        refused = dashboards.refused.clone();
        dashboards.entries().count()
    };
    tracing::info!(dashboards = count, refused = refused.len(), folder = %dir.display(), "dashboards loaded");
    for r in refused {
        tracing::warn!(file = %r.file, error = %r.error, "dashboard refused");
        parts.events.lock().push(Event::own(
            &parts.host,
            "Dashboard refused",
            format!("{}: {}", r.file, r.error),
        ));
    }
}

/// Reloads the folder when it changes, until `stop`.
pub async fn run(cfg: DashboardsConfig, parts: Parts, stop: Stop) {
    if let Some(dir) = cfg.dashboards_dir {
        json_folder::watch(&dir, stop, || reload(&parts, &dir)).await;
    }
}
