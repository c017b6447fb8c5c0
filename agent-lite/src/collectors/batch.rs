//! The points of one collection, gathered first and written to the store under one lock, so
//! that the intake is never held up by a collector reading /proc or the Docker API.

use crate::hostname::Hostname;
use crate::store::{SeriesKey, SharedStore};

/// Where the collectors' batches go: the metric store, each point tagged with the host.
#[derive(Clone)]
pub struct Points {
    pub store: SharedStore,
    pub host: Hostname,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointKind {
    Gauge,
    /// A delta since the last collection, as the Agent's monotonic counts send it.
    Count,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BatchPoint {
    pub kind: PointKind,
    pub name: String,
    pub tags: Vec<String>,
    pub value: f64,
}

#[derive(Debug, Default)]
pub struct Batch {
    pub points: Vec<BatchPoint>,
}

impl Batch {
    pub fn gauge(&mut self, name: &str, tags: &[String], value: f64) {
        self.push(PointKind::Gauge, name, tags, value);
    }

    pub fn count(&mut self, name: &str, tags: &[String], value: f64) {
        self.push(PointKind::Count, name, tags, value);
    }

    fn push(&mut self, kind: PointKind, name: &str, tags: &[String], value: f64) {
        // A NaN or an infinity (a division by a zero delta) is a figure we do not have.
        if value.is_finite() {
            self.points.push(BatchPoint {
                kind,
                name: name.to_owned(),
                tags: tags.to_vec(),
                value,
            });
        }
    }

    /// Writes every point at `now`, each with the host tag added.
    pub fn write(self, to: &Points, now: i64) {
        let host = to.host.tag();
        let mut store = to.store.lock();
        for p in self.points {
            let mut tags = p.tags;
            tags.push(host.clone());
            let key = SeriesKey::new(&p.name, tags);
            match p.kind {
                PointKind::Gauge => store.set_gauge(key, now, p.value),
                PointKind::Count => store.add_count(key, now, p.value),
            };
        }
    }

    /// The value of the first point named `name` that has every tag of `tags`.
    #[cfg(test)]
    pub fn value(&self, name: &str, tags: &[&str]) -> Option<f64> {
        self.points
            .iter()
            .find(|p| p.name == name && tags.iter().all(|t| p.tags.iter().any(|pt| pt == t)))
            .map(|p| p.value)
    }

    #[cfg(test)]
    pub fn names(&self) -> std::collections::BTreeSet<&str> {
        self.points.iter().map(|p| p.name.as_str()).collect()
    }
}
