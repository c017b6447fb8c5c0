//! Time series in memory at a fixed 10 s resolution, the granularity at which the Agent
//! flushes. A series is a metric name and a sorted tag set; its points are counts (summed),
//! gauges (last value wins) or sketches (merged), keyed by the start of their 10 s bucket.
//! Retention and the number of series are bounded; a series refused over the cap is counted
//! and logged (at most once a minute), never dropped silently.

mod config;
pub mod events;
pub mod logs;

pub use config::StoreConfig;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libdd_trace_normalization::normalize_utils::normalize_tag;
use serde::Serialize;
use sketches_ddsketch::{Config as SketchConfig, DDSketch};

/// Width of a point, in seconds.
pub const RESOLUTION_SECS: i64 = 10;

/// Start of the bucket holding `ts` (seconds).
pub fn bucket_of(ts: i64) -> i64 {
    ts - ts.rem_euclid(RESOLUTION_SECS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Summed within a bucket; queried per interval (`.as_count()`) or per second (`.as_rate()`).
    Count,
    /// Last value within a bucket.
    Gauge,
    /// A DDSketch per bucket, for percentiles of distributions.
    Distribution,
}

#[derive(Clone)]
pub enum Point {
    Value(f64),
    Sketch(Box<DDSketch>),
}

impl std::fmt::Debug for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Point::Value(v) => write!(f, "Value({v})"),
            Point::Sketch(s) => write!(f, "Sketch(count={})", s.count()),
        }
    }
}

impl Point {
    /// The point as one number: the value, or for a sketch its count of samples.
    pub fn scalar(&self) -> f64 {
        match self {
            Point::Value(v) => *v,
            Point::Sketch(s) => s.count() as f64,
        }
    }
}

pub fn new_sketch() -> DDSketch {
    // 1% relative accuracy: what Datadog's distributions guarantee.
    DDSketch::new(SketchConfig::new(0.01, 2048, 1.0e-9))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub name: Arc<str>,
    /// `key:value` (or bare `key`) tags, sorted and deduplicated.
    pub tags: Vec<String>,
}

impl SeriesKey {
    /// Tags are stored as Datadog shows them after intake (`resource_name:GET /slow` becomes
    /// `resource_name:get_/slow`), so queries copied from a Datadog account match here.
    pub fn new(name: &str, mut tags: Vec<String>) -> Self {
        tags.iter_mut().for_each(normalize_tag);
        tags.sort_unstable();
        tags.dedup();
        Self {
            name: Arc::from(name),
            tags,
        }
    }

    /// The value of tag `key`, if the series has it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find_map(|t| match t.split_once(':') {
            Some((k, v)) if k == key => Some(v),
            _ => None,
        })
    }
}

#[derive(Debug)]
pub struct Series {
    pub kind: Kind,
    pub points: BTreeMap<i64, Point>,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub retention: Duration,
    pub max_series: usize,
}

/// The metric store as the components share it.
pub type SharedStore = crate::locked::Locked<Store>;

impl Default for Limits {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(2 * 3600),
            max_series: 100_000,
        }
    }
}

/// What one write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Stored,
    /// The series is new and the store is at its cap.
    OverCap,
    /// The series exists with another kind (a name sent as a count and as a gauge).
    KindConflict,
}

#[derive(Debug)]
pub struct Store {
    series: HashMap<SeriesKey, Series>,
    limits: Limits,
    pub refused_series: u64,
    pub refused_points: u64,
    last_cap_log: Option<Instant>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl Store {
    pub fn new(limits: Limits) -> Self {
        Self {
            series: HashMap::new(),
            limits,
            refused_series: 0,
            refused_points: 0,
            last_cap_log: None,
        }
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The cap on the number of series.
    pub fn max_series(&self) -> usize {
        self.limits.max_series
    }

    fn entry(&mut self, key: SeriesKey, kind: Kind) -> Result<&mut Series, Written> {
        let at_cap = self.series.len() >= self.limits.max_series;
        if at_cap && !self.series.contains_key(&key) {
            self.refused_points += 1;
            self.refused_series += 1;
            let due = self
                .last_cap_log
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
            if due {
                tracing::warn!(
                    max_series = self.limits.max_series,
                    refused_series = self.refused_series,
                    metric = %key.name,
                    "series cap reached: new series are refused (see datadog.agent_lite.store.refused_series)"
                );
                self.last_cap_log = Some(Instant::now());
            }
            return Err(Written::OverCap);
        }
        let series = self.series.entry(key).or_insert_with(|| Series {
            kind,
            points: BTreeMap::new(),
        });
        if series.kind != kind {
            return Err(Written::KindConflict);
        }
        Ok(series)
    }

    /// Adds `value` to the count point of `ts`'s bucket.
    pub fn add_count(&mut self, key: SeriesKey, ts: i64, value: f64) -> Written {
        match self.entry(key, Kind::Count) {
            Ok(s) => {
                let p = s.points.entry(bucket_of(ts)).or_insert(Point::Value(0.0));
                if let Point::Value(v) = p {
                    *v += value;
                }
                Written::Stored
            }
            Err(w) => w,
        }
    }

    /// Sets the gauge point of `ts`'s bucket.
    pub fn set_gauge(&mut self, key: SeriesKey, ts: i64, value: f64) -> Written {
        match self.entry(key, Kind::Gauge) {
            Ok(s) => {
                s.points.insert(bucket_of(ts), Point::Value(value));
                Written::Stored
            }
            Err(w) => w,
        }
    }

    /// Sets a gauge of agent-lite's own (`datadog.agent_lite.*`) whatever the cap: they say
    /// what the cap refuses, so they must stay visible exactly when it is reached (a counter
    /// first made then, `dogstatsd.points_refused`, was itself refused). Their number is fixed,
    /// one per counter name, so they cannot be what fills the store.
    pub fn set_own_gauge(&mut self, key: SeriesKey, ts: i64, value: f64) {
        let series = self.series.entry(key).or_insert_with(|| Series {
            kind: Kind::Gauge,
            points: BTreeMap::new(),
        });
        if series.kind == Kind::Gauge {
            series.points.insert(bucket_of(ts), Point::Value(value));
        }
    }

    /// Merges `sketch` into the distribution point of `ts`'s bucket.
    pub fn merge_sketch(&mut self, key: SeriesKey, ts: i64, sketch: &DDSketch) -> Written {
        match self.entry(key, Kind::Distribution) {
            Ok(s) => {
                match s.points.entry(bucket_of(ts)) {
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(Point::Sketch(Box::new(sketch.clone())));
                    }
                    std::collections::btree_map::Entry::Occupied(mut o) => {
                        if let Point::Sketch(existing) = o.get_mut() {
                            // Both sketches share one configuration, so the merge cannot fail.
                            let _ = existing.merge(sketch);
                        }
                    }
                }
                Written::Stored
            }
            Err(w) => w,
        }
    }

    /// Drops points older than the retention, and series left empty.
    pub fn prune(&mut self, now: i64) {
        let oldest = now - self.limits.retention.as_secs() as i64;
        self.series.retain(|_, s| {
            s.points = s.points.split_off(&oldest);
            !s.points.is_empty()
        });
    }

    /// Series named `name`, for queries.
    pub fn series_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a SeriesKey, &'a Series)> + 'a {
        self.series.iter().filter(move |(k, _)| &*k.name == name)
    }

    pub fn all(&self) -> impl Iterator<Item = (&SeriesKey, &Series)> {
        self.series.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, tags: &[&str]) -> SeriesKey {
        SeriesKey::new(name, tags.iter().map(|t| t.to_string()).collect())
    }

    #[test]
    fn counts_sum_and_gauges_keep_the_last_value_per_bucket() {
        let mut s = Store::new(Limits::default());
        s.add_count(key("hits", &["b:2", "a:1"]), 101, 2.0);
        s.add_count(key("hits", &["a:1", "b:2"]), 109, 3.0);
        s.set_gauge(key("cpu", &[]), 101, 10.0);
        s.set_gauge(key("cpu", &[]), 105, 20.0);
        let hits = s.series_named("hits").next().unwrap().1;
        assert_eq!(hits.points[&100].scalar(), 5.0, "tag order does not matter");
        assert_eq!(
            s.series_named("cpu").next().unwrap().1.points[&100].scalar(),
            20.0
        );
    }

    #[test]
    fn the_series_cap_refuses_new_series_and_counts_them() {
        let mut s = Store::new(Limits {
            retention: Duration::from_secs(60),
            max_series: 2,
        });
        assert_eq!(s.add_count(key("a", &[]), 0, 1.0), Written::Stored);
        assert_eq!(s.add_count(key("b", &[]), 0, 1.0), Written::Stored);
        assert_eq!(s.add_count(key("c", &[]), 0, 1.0), Written::OverCap);
        assert_eq!(
            s.add_count(key("a", &[]), 0, 1.0),
            Written::Stored,
            "known series still write"
        );
        assert_eq!(s.refused_series, 1);
        assert_eq!(s.series_count(), 2);
        // agent-lite's own gauges are written over the cap, and refuse nothing.
        s.set_own_gauge(key("datadog.agent_lite.store.refused_series", &[]), 0, 1.0);
        assert_eq!(s.series_count(), 3);
        assert_eq!(s.refused_series, 1);
    }

    #[test]
    fn prune_drops_what_is_past_retention() {
        let mut s = Store::new(Limits {
            retention: Duration::from_secs(60),
            max_series: 10,
        });
        s.set_gauge(key("old", &[]), 0, 1.0);
        s.set_gauge(key("new", &[]), 100, 1.0);
        s.prune(120);
        assert_eq!(s.series_count(), 1);
    }
}
