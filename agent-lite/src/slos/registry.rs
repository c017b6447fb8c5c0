//! The SLOs agent-lite knows - from the folder and from the API - and the definitions it
//! refused. API-made SLOs are saved in the state folder beside the API's monitors, through
//! the monitors' own state-file writer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::MutexGuard;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::definition::{check, hex_id, CheckedSlo, Invalid, Slo};
use super::loader::Loaded;
use crate::monitors::loader::Refusal;
use crate::monitors::registry::{save_state_file, Registry, SharedRegistry, Source};
use crate::store::{SharedStore, Store};

/// The SLOs as the API, the monitors' task and the page share them. Locked alone, or after
/// the metric store and the monitors' registry through [`lock_after`] (which
/// [`with_store_monitors_and_slos`] uses), never before them.
pub type SharedSlos = crate::locked::Locked<SloRegistry>;

/// The SLOs, locked third: the caller holds the metric store and the monitors' registry (the
/// references are the proof), so the order is always store, registry, SLOs.
pub fn lock_after<'a>(
    slos: &'a SharedSlos,
    _store: &Store,
    _monitors: &Registry,
) -> MutexGuard<'a, SloRegistry> {
    slos.lock()
}

/// The one place that takes the metric store, the monitors' registry and the SLOs together:
/// the first two in the monitors' order ([`crate::monitors::with_store_and_registry`]), then
/// the SLOs.
pub fn with_store_monitors_and_slos<R>(
    store: &SharedStore,
    monitors: &SharedRegistry,
    slos: &SharedSlos,
    f: impl FnOnce(&Store, &Registry, &SloRegistry) -> R,
) -> R {
    crate::monitors::with_store_and_registry(store, monitors, |store, monitors| {
        f(store, monitors, &lock_after(slos, store, monitors))
    })
}

/// API-created SLOs, saved in the state folder.
pub const API_FILE: &str = "slos.json";

#[derive(Debug)]
pub struct SloEntry {
    pub checked: CheckedSlo,
    pub source: Source,
    pub created: i64,
    pub modified: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    slo: Slo,
    created_at: i64,
    modified_at: i64,
}

#[derive(Debug, Default)]
pub struct SloRegistry {
    entries: BTreeMap<String, SloEntry>,
    pub refused: Vec<Refusal>,
    state_dir: Option<PathBuf>,
    /// Makes the ids of two SLOs created in one second differ.
    created_count: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("slo {0} not found")]
    NotFound(String),
    #[error("slo {0} is defined in the SLOs folder; edit its file instead")]
    FromFile(String),
    #[error("{0}")]
    Invalid(#[from] Invalid),
}

impl SloRegistry {
    pub fn new(state_dir: Option<PathBuf>) -> Self {
        Self {
            state_dir,
            ..Self::default()
        }
    }

    /// The API's SLOs saved by an earlier run; the errors name what was refused.
    pub fn restore_api_slos(&mut self) -> Vec<String> {
        let Some(path) = self.state_dir.as_ref().map(|d| d.join(API_FILE)) else {
            return Vec::new();
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Vec::new();
        };
        let list: Vec<Saved> = match serde_json::from_str(&text) {
            Ok(l) => l,
            Err(e) => return vec![format!("{}: {e}", path.display())],
        };
        let mut errors = Vec::new();
        for saved in list {
            let name = saved.slo.name.clone();
            let checked = serde_json::to_value(saved.slo)
                .map_err(|e| e.to_string())
                .and_then(|v| check(v).map_err(|e| e.to_string()));
            match checked {
                Ok(checked) => {
                    self.entries.insert(
                        checked.slo.id.clone(),
                        SloEntry {
                            checked,
                            source: Source::Api,
                            created: saved.created_at,
                            modified: saved.modified_at,
                        },
                    );
                }
                Err(e) => errors.push(format!("{}: slo {name:?}: {e}", path.display())),
            }
        }
        errors
    }

    /// Replaces the SLOs from files; an id taken by an API SLO is refused.
    pub fn replace_file_slos(&mut self, loaded: Loaded, now: i64) {
        let mut old: BTreeMap<String, SloEntry> = BTreeMap::new();
        let file_ids: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, e)| e.source == Source::File)
            .map(|(id, _)| id.clone())
            .collect();
        for id in file_ids {
            if let Some(e) = self.entries.remove(&id) {
                old.insert(id, e);
            }
        }
        let mut refused = loaded.refused;
        for checked in loaded.slos {
            let id = checked.slo.id.clone();
            if self.entries.contains_key(&id) {
                refused.push(Refusal {
                    file: checked.slo.name.clone(),
                    error: format!("id {id} is taken by an SLO created through the API"),
                });
                continue;
            }
            let (created, modified) = match old.remove(&id) {
                Some(e) if e.checked.slo == checked.slo => (e.created, e.modified),
                Some(e) => (e.created, now),
                None => (now, now),
            };
            self.entries.insert(
                id,
                SloEntry {
                    checked,
                    source: Source::File,
                    created,
                    modified,
                },
            );
        }
        self.refused = refused;
    }

    pub fn create(&mut self, body: Value, now: i64) -> Result<String, ChangeError> {
        let mut checked = check(body)?;
        self.created_count += 1;
        let id = hex_id(&format!(
            "{}|{now}|{}",
            checked.slo.name, self.created_count
        ));
        checked.slo.id = id.clone();
        self.entries.insert(
            id.clone(),
            SloEntry {
                checked,
                source: Source::Api,
                created: now,
                modified: now,
            },
        );
        self.save_api_slos();
        Ok(id)
    }

    pub fn update(&mut self, id: &str, body: Value, now: i64) -> Result<(), ChangeError> {
        let entry = self
            .entries
            .get_mut(id)
            .ok_or_else(|| ChangeError::NotFound(id.to_owned()))?;
        if entry.source == Source::File {
            return Err(ChangeError::FromFile(id.to_owned()));
        }
        let mut checked = check(body)?;
        checked.slo.id = id.to_owned();
        entry.checked = checked;
        entry.modified = now;
        self.save_api_slos();
        Ok(())
    }

    pub fn delete(&mut self, id: &str) -> Result<(), ChangeError> {
        match self.entries.get(id) {
            None => Err(ChangeError::NotFound(id.to_owned())),
            Some(e) if e.source == Source::File => Err(ChangeError::FromFile(id.to_owned())),
            Some(_) => {
                self.entries.remove(id);
                self.save_api_slos();
                Ok(())
            }
        }
    }

    fn save_api_slos(&self) {
        let Some(dir) = &self.state_dir else { return };
        let list: Vec<Saved> = self
            .entries
            .values()
            .filter(|e| e.source == Source::Api)
            .map(|e| Saved {
                slo: e.checked.slo.clone(),
                created_at: e.created,
                modified_at: e.modified,
            })
            .collect();
        save_state_file(dir, API_FILE, &list, "SLOs");
    }

    pub fn get(&self, id: &str) -> Option<&SloEntry> {
        self.entries.get(id)
    }

    pub fn entries(&self) -> impl Iterator<Item = &SloEntry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}
