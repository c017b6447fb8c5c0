//! `event.json`, the upload's description, as libdatadog's exporter writes it
//! (`libdd-profiling/src/exporter`): `attachments` (file names), `tags_profiler` (one
//! `k:v,k:v` string), `start` and `end` (RFC 3339, nanoseconds), `family` (`python`, `go`,
//! `rust`...), `version` ("4"), and optional `endpoint_counts`, `info`, `internal`, kept
//! unread.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::error::ProfileError;

#[derive(Debug, Deserialize)]
struct Raw {
    attachments: Vec<String>,
    #[serde(default)]
    tags_profiler: String,
    start: String,
    end: String,
    #[serde(default)]
    family: String,
}

/// The event, read.
#[derive(Debug, Clone)]
pub struct Event {
    pub attachments: Vec<String>,
    /// `tags_profiler`, split: `k:v` each (a tag without `:` is kept whole).
    pub tags: Vec<String>,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub family: String,
}

impl Event {
    pub fn parse(json: &[u8]) -> Result<Self, ProfileError> {
        let raw: Raw =
            serde_json::from_slice(json).map_err(|e| ProfileError::Event(e.to_string()))?;
        let time = |field: &str, v: &str| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| ProfileError::Event(format!("{field} {v:?} is not RFC 3339: {e}")))
        };
        let start = time("start", &raw.start)?;
        let end = time("end", &raw.end)?;
        if end < start {
            return Err(ProfileError::Event(format!(
                "end {} is before start {}",
                raw.end, raw.start
            )));
        }
        let tags = raw
            .tags_profiler
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(Self {
            attachments: raw.attachments,
            tags,
            start,
            end,
            family: raw.family,
        })
    }

    /// The value of the first tag `key:...`.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find_map(|t| {
            t.strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(':'))
                .filter(|v| !v.is_empty())
        })
    }
}
