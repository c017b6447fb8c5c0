//! A folder of `*.json` definitions (monitors, dashboards, SLOs): its files, and a poll that
//! calls back when one of them changes.
//!
//! The folder is polled rather than watched with inotify: change events do not cross the bind
//! mounts of Docker Desktop, and a 2 s poll of a few files costs nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::shutdown::Stop;

/// How often a folder is looked at for changes.
pub const POLL: Duration = Duration::from_secs(2);

/// A file that was refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    pub file: String,
    pub error: String,
}

/// What changes when a file of the folder changes.
pub type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// The `*.json` files of a folder, sorted.
pub fn json_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}

pub fn fingerprint(dir: &Path) -> Fingerprint {
    json_files(dir)
        .unwrap_or_default()
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            (p, modified, meta.map_or(0, |m| m.len()))
        })
        .collect()
}

/// Calls `changed` each time a file of `dir` is added, removed or rewritten, until `stop`.
pub async fn watch(dir: &Path, stop: Stop, mut changed: impl FnMut()) {
    let mut poll = tokio::time::interval(POLL);
    let mut seen = fingerprint(dir);
    let stop = stop.wait();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = poll.tick() => {
                let now = fingerprint(dir);
                if now != seen {
                    seen = now;
                    changed();
                }
            }
            () = &mut stop => break,
        }
    }
}
