//! Every transition of every monitor and group, kept in memory for the API and appended to
//! `monitor-history.jsonl` in the state folder, so that a restart of agent-lite keeps both the
//! history and the groups' states (a monitor in ALERT does not trigger again on restart).
//!
//! A JSON-lines file rather than a database: one append per transition (a handful an hour),
//! readable with `tail`, and a line cut off by a crash is skipped on load, not fatal.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::evaluate::{GroupState, Transition};

/// Transitions kept in memory per monitor.
const PER_MONITOR: usize = 1000;
pub const FILE_NAME: &str = "monitor-history.jsonl";

#[derive(Debug, Default)]
pub struct History {
    by_monitor: BTreeMap<u64, VecDeque<Transition>>,
    file: Option<(PathBuf, File)>,
    pub write_errors: u64,
    pub skipped_lines: u64,
}

impl History {
    /// In memory only.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Loads what `dir` holds and appends there from now on.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state folder {}", dir.display()))?;
        let path = dir.join(FILE_NAME);
        let mut history = Self::default();
        if path.exists() {
            let f = File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
            for line in BufReader::new(f).lines() {
                let Ok(line) = line else {
                    history.skipped_lines += 1;
                    continue;
                };
                match serde_json::from_str::<Transition>(&line) {
                    Ok(t) => history.remember(t),
                    Err(_) if line.trim().is_empty() => {}
                    Err(_) => history.skipped_lines += 1,
                }
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        history.file = Some((path, file));
        Ok(history)
    }

    fn remember(&mut self, t: Transition) {
        let list = self.by_monitor.entry(t.monitor_id).or_default();
        if list.len() == PER_MONITOR {
            list.pop_front();
        }
        list.push_back(t);
    }

    pub fn record(&mut self, t: &Transition) {
        self.remember(t.clone());
        if let Some((path, file)) = self.file.as_mut() {
            let written = serde_json::to_string(t)
                .map_err(std::io::Error::other)
                .and_then(|line| writeln!(file, "{line}"))
                .and_then(|()| file.sync_data());
            if let Err(e) = written {
                self.write_errors += 1;
                tracing::warn!(error = %e, file = %path.display(), "cannot save a monitor transition");
            }
        }
    }

    /// Newest last.
    pub fn of(&self, monitor_id: u64) -> Vec<Transition> {
        self.by_monitor
            .get(&monitor_id)
            .map(|l| l.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The states the last transitions left each group of `monitor_id` in.
    pub fn last_states(&self, monitor_id: u64) -> BTreeMap<String, GroupState> {
        let mut states = BTreeMap::new();
        for t in self.by_monitor.get(&monitor_id).into_iter().flatten() {
            let s = states.entry(t.group.clone()).or_insert(GroupState {
                status: t.to,
                since: t.ts,
                first_seen: t.ts,
                last_value: t.value,
                last_notified: t.ts,
                last_triggered: None,
            });
            if !t.renotify {
                s.status = t.to;
                s.since = t.ts;
            }
            s.last_value = t.value.or(s.last_value);
            s.last_notified = t.ts;
            if t.to == super::evaluate::Status::Alert && !t.renotify {
                s.last_triggered = Some(t.ts);
            }
        }
        states
    }

    pub fn path(&self) -> Option<&Path> {
        self.file.as_ref().map(|(p, _)| p.as_path())
    }
}
