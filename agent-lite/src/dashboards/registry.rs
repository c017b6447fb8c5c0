//! The dashboards agent-lite holds: those of the folder (read-only through the API, as
//! monitors from files are) and those made through the API (saved in the state folder, one
//! file each, so they survive a restart). Each is its definition exactly as it came, with
//! the fields Datadog adds (`id`, `url`, `created_at`, `modified_at`, `author_handle`, the
//! widgets' `id`s).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::json_folder::{json_files, Refusal};
use serde_json::{json, Map, Value};

use super::definition::{self, Invalid};
use super::id;
use crate::locked::Locked;

pub type SharedDashboards = Locked<Dashboards>;

/// The handle Datadog shows as a dashboard's author; here, the lab's agent.
const AUTHOR: &str = "agent-lite";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Api,
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub body: Map<String, Value>,
    pub source: Source,
}

impl Entry {
    pub fn id(&self) -> &str {
        self.body.get("id").and_then(Value::as_str).unwrap_or("")
    }

    /// Datadog's `DashboardSummaryDefinition`, as `GET /api/v1/dashboard` lists it.
    pub fn summary(&self) -> Value {
        let mut out = Map::new();
        for key in [
            "author_handle",
            "created_at",
            "description",
            "id",
            "is_read_only",
            "layout_type",
            "modified_at",
            "title",
            "url",
        ] {
            if let Some(v) = self.body.get(key) {
                out.insert(key.to_owned(), v.clone());
            }
        }
        Value::Object(out)
    }

    /// The whole dashboard, as `GET /api/v1/dashboard/{id}` answers it.
    pub fn full(&self) -> Value {
        Value::Object(self.body.clone())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("Dashboard with ID {0} not found")]
    NotFound(String),
    #[error(
        "dashboard {id} comes from the file {file}: change the file (AGENT_LITE_DASHBOARDS_DIR)"
    )]
    FromFile { id: String, file: String },
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("cannot save the dashboard: {0}")]
    Save(String),
}

#[derive(Debug, Default)]
pub struct Dashboards {
    entries: BTreeMap<String, Entry>,
    state_dir: Option<PathBuf>,
    pub refused: Vec<Refusal>,
    sequence: u64,
}

/// An RFC 3339 time as Datadog writes them (`2026-12-04T20:00:00.000000+00:00`).
fn timestamp(now: chrono::DateTime<chrono::Utc>) -> String {
    now.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// Datadog numbers each widget (nested ones too) that comes without an id.
fn number_widgets(widgets: Option<&mut Value>, next: &mut i64) {
    let Some(Value::Array(list)) = widgets else {
        return;
    };
    for w in list.iter_mut() {
        let Some(obj) = w.as_object_mut() else {
            continue;
        };
        if !obj.get("id").is_some_and(Value::is_i64) {
            obj.insert("id".into(), json!(*next));
            *next += 1;
        }
        if let Some(def) = obj.get_mut("definition").and_then(Value::as_object_mut) {
            number_widgets(def.get_mut("widgets"), next);
        }
    }
}

fn highest_widget_id(widgets: Option<&Value>) -> i64 {
    let mut max = 0;
    for w in widgets.and_then(Value::as_array).into_iter().flatten() {
        max = max.max(w.get("id").and_then(Value::as_i64).unwrap_or(0));
        let nested = w.get("definition").and_then(|d| d.get("widgets"));
        max = max.max(highest_widget_id(nested));
    }
    max
}

/// When a dashboard was made and last changed, as Datadog reports them (`created_at`,
/// `modified_at`). Only a create or an update sets them to now: a restart, or a reload of
/// the folder, keeps them, so a dashboard's "modified" means what a user changed.
struct Times {
    created: Value,
    modified: Value,
}

impl Times {
    fn now() -> Self {
        let now = json!(timestamp(chrono::Utc::now()));
        Self {
            created: now.clone(),
            modified: now,
        }
    }

    /// The times a saved definition carries; a missing one is taken as now.
    fn saved(value: &Value) -> Self {
        let now = Self::now();
        let created = value.get("created_at").cloned().unwrap_or(now.created);
        let modified = value
            .get("modified_at")
            .cloned()
            .unwrap_or_else(|| created.clone());
        Self { created, modified }
    }

    /// A file's times: those it carries (a dashboard exported with them), else the file's
    /// own (its birth time where the filesystem keeps one, and its last write), which stay
    /// the same across restarts and change when the file does.
    fn of_file(value: &Value, path: &Path) -> Self {
        let meta = std::fs::metadata(path).ok();
        let written = meta
            .as_ref()
            .and_then(|m| m.modified().ok())
            .map(|t| json!(timestamp(t.into())));
        let born = meta
            .as_ref()
            .and_then(|m| m.created().ok())
            .map(|t| json!(timestamp(t.into())));
        let fallback = Self::now();
        let modified = value
            .get("modified_at")
            .cloned()
            .or_else(|| written.clone())
            .unwrap_or(fallback.modified);
        let created = value
            .get("created_at")
            .cloned()
            .or(born)
            .or(written)
            .unwrap_or(fallback.created);
        Self { created, modified }
    }
}

/// A checked definition with Datadog's own fields set: `id` and `url` from `id`, the times,
/// the author.
fn complete(
    mut value: Value,
    id: &str,
    times: Times,
    author: Option<Value>,
) -> Result<Map<String, Value>, Invalid> {
    definition::check(&value)?;
    let body = value
        .as_object_mut()
        .ok_or_else(|| Invalid::at("$", "a dashboard is a JSON object"))?;
    let title = body.get("title").and_then(Value::as_str).unwrap_or("");
    let url = format!("/dashboard/{id}/{}", id::slug(title));
    body.insert("id".into(), json!(id));
    body.insert("url".into(), json!(url));
    body.insert("created_at".into(), times.created);
    body.insert("modified_at".into(), times.modified);
    body.insert(
        "author_handle".into(),
        author.unwrap_or_else(|| json!(AUTHOR)),
    );
    body.entry("is_read_only").or_insert(json!(false));
    body.entry("description").or_insert(Value::Null);
    body.entry("notify_list").or_insert(json!([]));
    body.entry("template_variables").or_insert(json!([]));
    let mut next = highest_widget_id(body.get("widgets")).max(0) + 1;
    number_widgets(body.get_mut("widgets"), &mut next);
    Ok(std::mem::take(body))
}

impl Dashboards {
    pub fn new(state_dir: Option<PathBuf>) -> Self {
        Self {
            state_dir,
            ..Self::default()
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.entries.get(id)
    }

    fn saved_dir(&self) -> Option<PathBuf> {
        self.state_dir.as_ref().map(|d| d.join("dashboards"))
    }

    /// A new dashboard from the API, saved; its id.
    pub fn create(&mut self, value: Value) -> Result<String, ChangeError> {
        let id = loop {
            self.sequence += 1;
            let id = id::fresh(self.sequence);
            if !self.entries.contains_key(&id) {
                break id;
            }
        };
        let body = complete(value, &id, Times::now(), None)?;
        let entry = Entry {
            body,
            source: Source::Api,
        };
        self.save(&entry)?;
        self.entries.insert(id.clone(), entry);
        Ok(id)
    }

    fn editable(&self, id: &str) -> Result<&Entry, ChangeError> {
        let entry = self
            .entries
            .get(id)
            .ok_or_else(|| ChangeError::NotFound(id.to_owned()))?;
        if let Source::File(file) = &entry.source {
            return Err(ChangeError::FromFile {
                id: id.to_owned(),
                file: file.display().to_string(),
            });
        }
        Ok(entry)
    }

    pub fn update(&mut self, id: &str, value: Value) -> Result<(), ChangeError> {
        let old = self.editable(id)?;
        let times = Times {
            created: old
                .body
                .get("created_at")
                .cloned()
                .unwrap_or_else(|| Times::now().created),
            modified: Times::now().modified,
        };
        let author = old.body.get("author_handle").cloned();
        let body = complete(value, id, times, author)?;
        let entry = Entry {
            body,
            source: Source::Api,
        };
        self.save(&entry)?;
        self.entries.insert(id.to_owned(), entry);
        Ok(())
    }

    pub fn delete(&mut self, id: &str) -> Result<(), ChangeError> {
        self.editable(id)?;
        if let Some(dir) = self.saved_dir() {
            let path = dir.join(format!("{id}.json"));
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(ChangeError::Save(format!("{}: {e}", path.display()))),
            }
        }
        self.entries.remove(id);
        Ok(())
    }

    /// Written to a temporary file then renamed: a crash never leaves half a dashboard.
    fn save(&self, entry: &Entry) -> Result<(), ChangeError> {
        let Some(dir) = self.saved_dir() else {
            return Ok(());
        };
        let fail = |e: std::io::Error| ChangeError::Save(format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(&dir).map_err(fail)?;
        let path = dir.join(format!("{}.json", entry.id()));
        let tmp = dir.join(format!(".{}.json.tmp", entry.id()));
        let text =
            serde_json::to_vec_pretty(&entry.body).map_err(|e| ChangeError::Save(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(fail)?;
        std::fs::rename(&tmp, &path).map_err(fail)
    }

    /// The dashboards saved by an earlier run; the reasons of those refused.
    pub fn restore_saved(&mut self) -> Vec<String> {
        let Some(dir) = self.saved_dir() else {
            return Vec::new();
        };
        let mut errors = Vec::new();
        let files = match json_files(&dir) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return errors,
            Err(e) => return vec![format!("{}: {e}", dir.display())],
        };
        for path in files {
            let read = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string()));
            let value = match read {
                Ok(v) => v,
                Err(e) => {
                    errors.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            let id = value
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            if !id::is_valid(&id) {
                errors.push(format!("{}: no valid id", path.display()));
                continue;
            }
            let times = Times::saved(&value);
            let author = value.get("author_handle").cloned();
            match complete(value, &id, times, author) {
                Ok(body) => {
                    self.entries.insert(
                        id,
                        Entry {
                            body,
                            source: Source::Api,
                        },
                    );
                }
                Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
        errors
    }

    /// The folder's dashboards replace the previous ones from files; API dashboards stay.
    pub fn replace_file_dashboards(&mut self, loaded: Vec<(PathBuf, Value)>) {
        self.entries
            .retain(|_, e| !matches!(e.source, Source::File(_)));
        self.refused.clear();
        for (path, value) in loaded {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            // A file keeps the id it was exported with, or gets one from its name.
            let id = value
                .get("id")
                .and_then(Value::as_str)
                .filter(|i| id::is_valid(i))
                .map_or_else(|| id::stable(&stem), str::to_owned);
            if self.entries.contains_key(&id) {
                self.refused.push(Refusal {
                    file: path.display().to_string(),
                    error: format!("id {id} is already taken by another dashboard"),
                });
                continue;
            }
            let times = Times::of_file(&value, &path);
            let author = value.get("author_handle").cloned();
            match complete(value, &id, times, author) {
                Ok(mut body) => {
                    // agent-lite refuses to change it (403): say so as Datadog does, so a
                    // client (and the page) offers a copy rather than an edit.
                    body.insert("is_read_only".into(), json!(true));
                    self.entries.insert(
                        id,
                        Entry {
                            body,
                            source: Source::File(path),
                        },
                    );
                }
                Err(e) => self.refused.push(Refusal {
                    file: path.display().to_string(),
                    error: e.to_string(),
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition(title: &str) -> Value {
        json!({"title": title, "layout_type": "ordered",
               "widgets": [{"definition": {"type": "note", "content": "hi"}}]})
    }

    fn times(d: &Dashboards, id: &str) -> (Value, Value) {
        let body = &d.get(id).expect("the dashboard").body;
        (body["created_at"].clone(), body["modified_at"].clone())
    }

    #[test]
    fn a_restart_keeps_the_times_and_an_update_moves_only_modified_at() {
        let state = tempfile::tempdir().expect("temp dir");
        let mut first = Dashboards::new(Some(state.path().to_owned()));
        let id = first.create(definition("a")).expect("created");
        let made = times(&first, &id);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let mut again = Dashboards::new(Some(state.path().to_owned()));
        assert!(again.restore_saved().is_empty());
        assert_eq!(times(&again, &id), made, "restored as saved");
        again.update(&id, definition("b")).expect("updated");
        let (created, modified) = times(&again, &id);
        assert_eq!(created, made.0);
        assert_ne!(modified, made.1, "an update is a change");
    }

    #[test]
    fn file_dashboards_are_read_only_and_keep_their_times_across_reloads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("lab.json");
        let mut sent = definition("lab");
        sent["is_read_only"] = json!(false);
        std::fs::write(&path, sent.to_string()).expect("file");
        let mut d = Dashboards::default();
        d.replace_file_dashboards(vec![(path.clone(), sent.clone())]);
        let id = id::stable("lab");
        assert_eq!(d.get(&id).expect("loaded").body["is_read_only"], true);
        let first = times(&d, &id);
        std::thread::sleep(std::time::Duration::from_millis(5));
        d.replace_file_dashboards(vec![(path, sent)]);
        assert_eq!(times(&d, &id), first, "an unchanged file keeps its times");
    }
}
