//! SLO definitions from a folder of `*.json` files (one SLO, or a list, per file, in
//! Datadog's shape), polled like the monitors' folder and read with its file listing. A file
//! with one bad definition is refused whole, with the field and the reason.

use std::path::Path;

use serde_json::Value;

use super::definition::{check, hex_id, CheckedSlo};
use crate::monitors::loader::{json_files, Refusal};

#[derive(Debug, Default)]
pub struct Loaded {
    pub slos: Vec<CheckedSlo>,
    pub refused: Vec<Refusal>,
}

pub fn load_dir(dir: &Path) -> Result<Loaded, String> {
    let files = json_files(dir)
        .map_err(|e| format!("cannot read the SLOs folder {}: {e}", dir.display()))?;
    let mut loaded = Loaded::default();
    let mut seen = std::collections::HashSet::new();
    for path in files {
        match load_file(&path) {
            Ok(slos) => {
                for s in slos {
                    if seen.insert(s.slo.id.clone()) {
                        loaded.slos.push(s);
                    } else {
                        loaded.refused.push(Refusal {
                            file: path.display().to_string(),
                            error: format!(
                                "id {} is already taken by another definition",
                                s.slo.id
                            ),
                        });
                    }
                }
            }
            Err(error) => loaded.refused.push(Refusal {
                file: path.display().to_string(),
                error,
            }),
        }
    }
    Ok(loaded)
}

pub fn load_file(path: &Path) -> Result<Vec<CheckedSlo>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_definitions(&text, &stem)
}

/// The SLOs of a file's text, all or none; one without an id gets one from `stem`.
pub fn parse_definitions(text: &str, stem: &str) -> Result<Vec<CheckedSlo>, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let list = match value {
        Value::Array(list) => list,
        one => vec![one],
    };
    let mut out = Vec::new();
    for (i, mut v) in list.into_iter().enumerate() {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let id = match v.get("id") {
            None | Some(Value::Null) => hex_id(&format!("{stem}#{i}")),
            Some(Value::String(s)) if valid_id(s) => s.clone(),
            Some(other) => {
                return Err(format!(
                "slo #{}: id: {other} is not an SLO id (letters, digits, '-' and '_', up to 64)",
                i + 1
            ))
            }
        };
        if let Value::Object(m) = &mut v {
            m.insert("id".into(), Value::String(id));
        }
        out.push(check(v).map_err(|e| format!("slo #{} {name:?}: {e}", i + 1))?);
    }
    Ok(out)
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
