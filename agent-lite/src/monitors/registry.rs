//! The monitors agent-lite knows - from the folder and from the API - with each group's state,
//! the definitions it refused, and the history of transitions.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::definition::{Checked, Monitor, Rule};
use super::evaluate::{self, GroupState, Status, Transition};
use super::history::History;
use super::loader::{Loaded, Refusal};
use super::slo_alert::SloAlertQuery;
use super::template::{self, Context};
use crate::clock::rfc3339;
use crate::store::Store;

/// The monitors as the API and the monitors' task share them. Lock the metric store first
/// when both are needed: [`super::with_store_and_registry`] is the one place that does.
pub type SharedRegistry = crate::locked::Locked<Registry>;

/// API-created monitors, saved beside the history.
const API_FILE: &str = "monitors.json";
/// Ids of API-created monitors start here, clear of the ids derived from file names.
const FIRST_API_ID: u64 = 10_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File,
    Api,
}

#[derive(Debug)]
pub struct Entry {
    pub checked: Checked,
    pub source: Source,
    pub states: BTreeMap<String, GroupState>,
    /// Why the last evaluation failed, if it did.
    pub last_error: Option<String>,
    pub created: i64,
    pub modified: i64,
}

impl Entry {
    /// The worst state of its groups, as Datadog's `overall_state`.
    pub fn overall_state(&self) -> Status {
        self.states
            .values()
            .map(|s| s.status)
            .max_by_key(|s| s.severity())
            .unwrap_or(Status::Ok)
    }
}

/// Everything a notification needs, taken while the registry is locked.
#[derive(Debug, Clone)]
pub struct Notice {
    pub transition: Transition,
    pub monitor_name: String,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub priority: Option<u8>,
    pub threshold: f64,
    pub query: String,
}

#[derive(Debug, Default)]
pub struct Registry {
    entries: BTreeMap<u64, Entry>,
    pub refused: Vec<Refusal>,
    pub history: History,
    state_dir: Option<PathBuf>,
    /// `{{host.name}}` in messages.
    pub hostname: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("no monitor {0}")]
    NotFound(u64),
    #[error("monitor {id} is defined in the monitors folder; edit its file instead")]
    FromFile { id: u64 },
    #[error("{0}")]
    Invalid(String),
}

impl Registry {
    pub fn new(history: History, state_dir: Option<PathBuf>, hostname: String) -> Self {
        Self {
            history,
            state_dir,
            hostname,
            ..Self::default()
        }
    }

    /// The API-created monitors saved by an earlier run.
    pub fn restore_api_monitors(&mut self, now: i64) -> Vec<String> {
        let Some(path) = self.state_dir.as_ref().map(|d| d.join(API_FILE)) else {
            return Vec::new();
        };
        let Ok(text) = std::fs::read_to_string(&path) else {
            return Vec::new();
        };
        let list: Vec<Monitor> = match serde_json::from_str(&text) {
            Ok(l) => l,
            Err(e) => return vec![format!("{}: {e}", path.display())],
        };
        let mut errors = Vec::new();
        for m in list {
            let name = m.name.clone();
            match m.check() {
                Ok(c) => self.insert(c, Source::Api, now),
                Err(e) => errors.push(format!("{}: monitor {name:?}: {e}", path.display())),
            }
        }
        errors
    }

    fn insert(&mut self, checked: Checked, source: Source, now: i64) {
        let id = checked.id();
        let states = self.history.last_states(id);
        self.entries.insert(
            id,
            Entry {
                checked,
                source,
                states,
                last_error: None,
                created: now,
                modified: now,
            },
        );
    }

    /// Replaces the monitors from files; a monitor whose query is unchanged keeps its states.
    pub fn replace_file_monitors(&mut self, loaded: Loaded, now: i64) {
        let from_files: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, e)| e.source == Source::File)
            .map(|(id, _)| *id)
            .collect();
        let mut old: BTreeMap<u64, Entry> = from_files
            .into_iter()
            .filter_map(|id| self.entries.remove(&id).map(|e| (id, e)))
            .collect();
        let mut refused = loaded.refused;
        for checked in loaded.monitors {
            let id = checked.id();
            if self
                .entries
                .get(&id)
                .is_some_and(|e| e.source == Source::Api)
            {
                refused.push(Refusal {
                    file: checked.monitor.name.clone(),
                    error: format!("id {id} is taken by a monitor created through the API"),
                });
                continue;
            }
            match old.remove(&id) {
                Some(mut e) if e.checked.monitor.query == checked.monitor.query => {
                    if e.checked.monitor != checked.monitor {
                        e.modified = now;
                    }
                    e.checked = checked;
                    self.entries.insert(id, e);
                }
                _ => self.insert(checked, Source::File, now),
            }
        }
        self.refused = refused;
    }

    pub fn create(&mut self, mut monitor: Monitor, now: i64) -> Result<u64, ChangeError> {
        let id = self
            .entries
            .keys()
            .copied()
            .filter(|id| *id >= FIRST_API_ID)
            .max()
            .map_or(FIRST_API_ID, |m| m + 1);
        monitor.id = id;
        let checked = monitor.check().map_err(ChangeError::Invalid)?;
        self.insert(checked, Source::Api, now);
        self.save_api_monitors();
        Ok(id)
    }

    pub fn update(&mut self, id: u64, mut monitor: Monitor, now: i64) -> Result<(), ChangeError> {
        let entry = self.entries.get_mut(&id).ok_or(ChangeError::NotFound(id))?;
        if entry.source == Source::File {
            return Err(ChangeError::FromFile { id });
        }
        monitor.id = id;
        let checked = monitor.check().map_err(ChangeError::Invalid)?;
        if checked.monitor.query != entry.checked.monitor.query {
            entry.states.clear();
        }
        entry.checked = checked;
        entry.modified = now;
        self.save_api_monitors();
        Ok(())
    }

    pub fn delete(&mut self, id: u64) -> Result<(), ChangeError> {
        match self.entries.get(&id) {
            None => Err(ChangeError::NotFound(id)),
            Some(e) if e.source == Source::File => Err(ChangeError::FromFile { id }),
            Some(_) => {
                self.entries.remove(&id);
                self.save_api_monitors();
                Ok(())
            }
        }
    }

    fn save_api_monitors(&self) {
        let Some(dir) = &self.state_dir else { return };
        let list: Vec<&Monitor> = self
            .entries
            .values()
            .filter(|e| e.source == Source::Api)
            .map(|e| &e.checked.monitor)
            .collect();
        save_state_file(dir, API_FILE, &list, "monitors");
    }

    pub fn get(&self, id: u64) -> Option<&Entry> {
        self.entries.get(&id)
    }

    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Evaluates every monitor at `now`, records the transitions and returns their notices.
    pub fn evaluate_all(&mut self, store: &Store, now: i64) -> Vec<Notice> {
        let mut notices = Vec::new();
        for entry in self.entries.values_mut() {
            match evaluate::evaluate(&entry.checked, store, now, &mut entry.states) {
                Ok(transitions) => {
                    entry.last_error = None;
                    for t in transitions {
                        notices.push(notice(&entry.checked, t, &self.hostname));
                    }
                }
                Err(e) => {
                    if entry.last_error.as_deref() != Some(&e.to_string()) {
                        tracing::warn!(monitor = %entry.checked.monitor.name, error = %e, "monitor cannot be evaluated");
                    }
                    entry.last_error = Some(e.to_string());
                }
            }
        }
        for n in &notices {
            self.history.record(&n.transition);
        }
        notices
    }

    /// The slo alerts and their queries, for the SLOs to read their values.
    pub fn slo_alerts(&self) -> Vec<(u64, SloAlertQuery)> {
        self.entries
            .values()
            .filter_map(|e| match &e.checked.rule {
                Rule::Slo(q) => Some((e.checked.id(), q.clone())),
                Rule::Metric(_) => None,
            })
            .collect()
    }

    /// Applies the values the SLOs gave the slo alerts at `now`: transitions, history, notices.
    pub fn apply_slo_values(
        &mut self,
        values: Vec<(u64, Result<Option<f64>, String>)>,
        now: i64,
    ) -> Vec<Notice> {
        let mut notices = Vec::new();
        for (id, value) in values {
            let Some(entry) = self.entries.get_mut(&id) else {
                continue;
            };
            match value {
                Ok(v) => {
                    entry.last_error = None;
                    for t in evaluate::evaluate_value(&entry.checked, v, now, &mut entry.states) {
                        notices.push(notice(&entry.checked, t, &self.hostname));
                    }
                }
                Err(e) => {
                    if entry.last_error.as_deref() != Some(&e) {
                        tracing::warn!(monitor = %entry.checked.monitor.name, error = %e, "slo alert cannot be evaluated");
                    }
                    entry.last_error = Some(e);
                }
            }
        }
        for n in &notices {
            self.history.record(&n.transition);
        }
        notices
    }
}

/// Writes what the API created to `dir/file` whole or not at all (a temporary file renamed
/// over it), so a crash mid-write leaves the previous list; the SLOs' registry saves its own
/// list through it too.
pub fn save_state_file(
    dir: &std::path::Path,
    file: &str,
    value: &impl serde::Serialize,
    what: &str,
) {
    let path = dir.join(file);
    let tmp = dir.join(format!("{file}.tmp"));
    let saved = serde_json::to_vec_pretty(value)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, &path));
    if let Err(e) = saved {
        tracing::warn!(error = %e, file = %path.display(), "cannot save the API's {what}");
    }
}

fn notice(m: &Checked, t: Transition, hostname: &str) -> Notice {
    let mut ctx = Context::default();
    let fmt = |v: f64| {
        if v.fract() == 0.0 && v.abs() < 1e15 {
            format!("{v:.0}")
        } else {
            format!("{v:.4}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        }
    };
    if let Some(v) = t.value {
        ctx.values.insert("value".into(), fmt(v));
    }
    ctx.values.insert("threshold".into(), fmt(m.critical));
    if let Some(w) = m.monitor.options.thresholds.warning {
        ctx.values.insert("warn_threshold".into(), fmt(w));
    }
    ctx.values
        .insert("comparator".into(), m.comparator().symbol().into());
    ctx.values.insert("host.name".into(), hostname.to_owned());
    for tag in t.group.split(',') {
        if let Some((k, v)) = tag.split_once(':') {
            ctx.values.insert(format!("{k}.name"), v.to_owned());
        }
    }
    ctx.values
        .insert("last_triggered_at".into(), t.ts.to_string());
    let recovery = t.to == Status::Ok;
    ctx.flags.insert("is_alert", t.to == Status::Alert);
    ctx.flags.insert("is_warning", t.to == Status::Warn);
    ctx.flags.insert("is_no_data", t.to == Status::NoData);
    ctx.flags.insert("is_recovery", recovery);
    ctx.flags
        .insert("is_alert_recovery", recovery && t.from == Status::Alert);
    ctx.flags
        .insert("is_warning_recovery", recovery && t.from == Status::Warn);
    ctx.flags.insert("is_renotify", t.renotify);
    let on = if t.group == "*" {
        String::new()
    } else {
        format!(" on {{{}}}", t.group)
    };
    let name = template::render(&m.monitor.name, &ctx);
    let title = format!("[{}{on}] {name}", t.name());
    let mut tags = m.monitor.tags.clone();
    tags.extend(
        t.group
            .split(',')
            .filter(|g| g.contains(':'))
            .map(str::to_owned),
    );
    tags.push(format!("monitor_id:{}", m.id()));
    Notice {
        body: template::render(&m.monitor.message, &ctx),
        title,
        tags,
        priority: m.monitor.priority,
        threshold: m.critical,
        query: m.monitor.query.clone(),
        monitor_name: name,
        transition: t,
    }
}

/// A monitor in the shape of Datadog's `GET /api/v1/monitor/{id}`.
pub fn api_view(e: &Entry) -> Value {
    let mut v = serde_json::to_value(&e.checked.monitor).unwrap_or(Value::Null);
    let overall = e.overall_state();
    let groups: serde_json::Map<String, Value> = e
        .states
        .iter()
        .map(|(name, s)| {
            (
                name.clone(),
                json!({
                    "name": name,
                    "status": s.status.name(),
                    "last_triggered_ts": s.last_triggered,
                    "last_nodata_ts": (s.status == Status::NoData).then_some(s.since),
                    "last_value": s.last_value,
                    "since": s.since,
                }),
            )
        })
        .collect();
    if let Value::Object(map) = &mut v {
        map.insert("overall_state".into(), overall.name().into());
        map.insert("multi".into(), e.checked.is_grouped().into());
        map.insert("state".into(), json!({ "groups": groups }));
        map.insert("created".into(), json!(rfc3339(e.created)));
        map.insert("modified".into(), json!(rfc3339(e.modified)));
        map.insert(
            "agent_lite".into(),
            json!({
                "source": if e.source == Source::File { "file" } else { "api" },
                "window_secs": e.checked.window_secs,
                // The metric expression alone, for drawing the evaluated series.
                "expression": match &e.checked.rule {
                    Rule::Metric(q) => q.expr.to_string(),
                    Rule::Slo(q) => q.slo_id.clone(),
                },
                "slo_id": match &e.checked.rule {
                    Rule::Slo(q) => Some(q.slo_id.clone()),
                    Rule::Metric(_) => None,
                },
                "comparator": e.checked.comparator().symbol(),
                "last_error": e.last_error,
            }),
        );
    }
    v
}
