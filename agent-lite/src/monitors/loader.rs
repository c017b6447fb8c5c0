//! Monitor definitions from a folder of `*.json` files (one monitor, or a list, per file, in
//! Datadog's export shape). A file that does not parse or cannot be evaluated is refused whole,
//! with its name and the reason; the others load. The folder's files and its poll are
//! `json_folder`'s, shared with the dashboards and the SLOs.

use std::path::Path;

pub use crate::json_folder::{json_files, Refusal};

use super::definition::{Checked, Monitor};

#[derive(Debug, Default)]
pub struct Loaded {
    pub monitors: Vec<Checked>,
    pub refused: Vec<Refusal>,
}

/// Every file of `dir`; an unreadable folder is an error of its own.
pub fn load_dir(dir: &Path) -> Result<Loaded, String> {
    let files = json_files(dir)
        .map_err(|e| format!("cannot read the monitors folder {}: {e}", dir.display()))?;
    let mut loaded = Loaded::default();
    for path in files {
        match load_file(&path) {
            Ok(monitors) => loaded.monitors.extend(monitors),
            Err(error) => loaded.refused.push(Refusal {
                file: path.display().to_string(),
                error,
            }),
        }
    }
    // Two files claiming one id: the second is refused, as Datadog refuses a duplicate.
    let mut seen = std::collections::HashSet::new();
    let mut keep = Vec::new();
    for m in loaded.monitors {
        if seen.insert(m.id()) {
            keep.push(m);
        } else {
            loaded.refused.push(Refusal {
                file: m.monitor.name.clone(),
                error: format!("id {} is already taken by another definition", m.id()),
            });
        }
    }
    loaded.monitors = keep;
    Ok(loaded)
}

/// The monitors of one file, all or none.
pub fn load_file(path: &Path) -> Result<Vec<Checked>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_definitions(&text, &stem)
}

/// The monitors of a file's text, all or none; those without an id get one from `stem`, the
/// file's name. Apart from `load_file` for the fuzz targets.
pub fn parse_definitions(text: &str, stem: &str) -> Result<Vec<Checked>, String> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let list = match value {
        serde_json::Value::Array(list) => list,
        one => vec![one],
    };
    let mut out = Vec::new();
    for (i, v) in list.into_iter().enumerate() {
        let mut monitor: Monitor = serde_json::from_value(v)
            .map_err(|e| format!("monitor #{}: not a Datadog monitor: {e}", i + 1))?;
        if monitor.id == 0 {
            monitor.id = stable_id(stem, i);
        }
        let name = monitor.name.clone();
        out.push(
            monitor
                .check()
                .map_err(|e| format!("monitor {name:?}: {e}"))?,
        );
    }
    Ok(out)
}

/// An id that stays the same across restarts for a file without one, so that its history
/// follows it (FNV-1a of the file name; small, like Datadog's ids).
pub fn stable_id(stem: &str, index: usize) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in stem.bytes().chain(index.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    1 + h % 9_000_000
}
