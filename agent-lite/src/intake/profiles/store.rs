//! The profiles kept: each upload's description and its pprof attachments as uploaded,
//! bounded in count and in bytes, the oldest out first.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};

/// One pprof attachment of an upload, its bytes as they came (compressed as the profiler
/// sent them).
#[derive(Debug)]
pub struct Attachment {
    pub name: String,
    pub uploaded: Bytes,
    /// Its sample types, `(type, unit)`.
    pub sample_types: Vec<(String, String)>,
    /// Which of them has samples.
    pub measured: Vec<bool>,
}

/// What an upload says of itself: unified service tags, the runtime, the time it covers.
#[derive(Debug, Clone)]
pub struct Meta {
    pub service: String,
    pub env: String,
    pub version: String,
    pub host: String,
    /// The language family (`python`, `rust`, ...) the event names.
    pub family: String,
    /// The `runtime` tag (`CPython`, ...), else the family.
    pub runtime: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// Every tag of `tags_profiler`.
    pub tags: Vec<String>,
}

#[derive(Debug)]
pub struct StoredProfile {
    pub id: u64,
    pub meta: Meta,
    pub attachments: Vec<Attachment>,
}

impl StoredProfile {
    /// Its profile types with samples (`cpu`, `wall`, ...), each once, in the order its
    /// attachments give.
    pub fn types(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let measured = self.attachments.iter().flat_map(|a| {
            a.sample_types
                .iter()
                .zip(&a.measured)
                .filter(|(_, m)| **m)
                .map(|(t, _)| t)
        });
        for (t, _) in measured {
            let t = super::pprof::profile_type(t);
            if !out.contains(&t) {
                out.push(t);
            }
        }
        out
    }

    /// What it costs the store: the bytes uploaded (the description is small beside them).
    pub fn bytes(&self) -> usize {
        self.attachments
            .iter()
            .map(|a| a.uploaded.len())
            .sum::<usize>()
            + 256
    }
}

/// Which profiles a reader wants: by service and env, overlapping `[from, to]` (unix seconds).
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub service: Option<String>,
    pub env: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl Filter {
    pub fn matches(&self, p: &StoredProfile) -> bool {
        let m = &p.meta;
        self.service.as_deref().is_none_or(|s| s == m.service)
            && self.env.as_deref().is_none_or(|e| e == m.env)
            && self.from.is_none_or(|f| m.end.timestamp() >= f)
            && self.to.is_none_or(|t| m.start.timestamp() <= t)
    }
}

#[derive(Debug)]
pub struct ProfileStore {
    kept: VecDeque<Arc<StoredProfile>>,
    bytes: usize,
    next_id: u64,
    max_profiles: usize,
    max_bytes: usize,
    /// Profiles pushed out to make room.
    pub evicted: u64,
}

impl Default for ProfileStore {
    fn default() -> Self {
        let d = super::ProfilesConfig::default();
        Self::new(d.max_profiles, d.max_profile_bytes)
    }
}

impl ProfileStore {
    pub fn new(max_profiles: usize, max_bytes: usize) -> Self {
        Self {
            kept: VecDeque::new(),
            bytes: 0,
            next_id: 1,
            max_profiles: max_profiles.max(1),
            max_bytes,
            evicted: 0,
        }
    }

    /// Keeps a profile, making room for it (oldest out); its id.
    pub fn insert(&mut self, meta: Meta, attachments: Vec<Attachment>) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let profile = Arc::new(StoredProfile {
            id,
            meta,
            attachments,
        });
        let cost = profile.bytes();
        while !self.kept.is_empty()
            && (self.kept.len() >= self.max_profiles || self.bytes + cost > self.max_bytes)
        {
            if let Some(old) = self.kept.pop_front() {
                self.bytes -= old.bytes();
                self.evicted += 1;
            }
        }
        self.bytes += cost;
        self.kept.push_back(profile);
        id
    }

    pub fn get(&self, id: u64) -> Option<Arc<StoredProfile>> {
        // Ids grow with the queue: a binary search finds one.
        let i = self.kept.binary_search_by_key(&id, |p| p.id).ok()?;
        self.kept.get(i).cloned()
    }

    /// The profiles `filter` wants, newest first (by the end of the time they cover).
    pub fn list(&self, filter: &Filter) -> Vec<Arc<StoredProfile>> {
        let mut out: Vec<_> = self
            .kept
            .iter()
            .filter(|p| filter.matches(p))
            .cloned()
            .collect();
        out.sort_by(|a, b| b.meta.end.cmp(&a.meta.end).then(b.id.cmp(&a.id)));
        out
    }

    pub fn len(&self) -> usize {
        self.kept.len()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

pub type SharedProfiles = crate::locked::Locked<ProfileStore>;
