//! Aggregation of DogStatsD samples per flush interval, as the Agent does before sending:
//! counts summed (divided by their sample rate), gauges last, histograms and timers into
//! `.avg`, `.count`, `.max`, `.median`, `.95percentile`, sets into their number of distinct
//! members, distributions into sketches. The samples of one 10 s bucket are written to the
//! store together at the flush that follows.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};

use rustc_hash::{FxBuildHasher, FxHashMap};
use sketches_ddsketch::DDSketch;

use super::parser::{Metric, MetricType};
use crate::store::{bucket_of, new_sketch, SeriesKey, Store, Written};

/// A series as the client wrote it (name, tags in its order, host tag), hashed to 64 bits, as
/// the Agent's context resolver does: the normalized, sorted `SeriesKey` is built once per
/// series, not once per line, and aggregates are keyed by this number.
type Context = u64;

pub struct Aggregator {
    contexts: FxHashMap<Context, SeriesKey>,
    /// Most contexts kept from one flush to the next (see `with_context_cap`).
    max_cached_contexts: usize,
    counts: FxHashMap<(Context, i64), f64>,
    gauges: FxHashMap<(Context, i64), f64>,
    histograms: FxHashMap<(Context, i64), Vec<(f64, f64)>>,
    sets: FxHashMap<(Context, i64), HashSet<String>>,
    sketches: FxHashMap<(Context, i64), DDSketch>,
    pub points: u64,
}

fn context_of(m: &Metric<'_>, extra_tags: &[String]) -> Context {
    let mut h = FxBuildHasher.build_hasher();
    h.write(m.name.as_bytes());
    for t in &m.tags {
        h.write_u8(b',');
        h.write(t.as_bytes());
    }
    for t in extra_tags {
        h.write_u8(b';');
        h.write(t.as_bytes());
    }
    h.finish()
}

impl Default for Aggregator {
    fn default() -> Self {
        Self::with_context_cap(MAX_CACHED_CONTEXTS)
    }
}

impl Aggregator {
    /// An aggregator whose context cache holds at most `max` series between flushes: the
    /// store's series cap, since a context past it only names a series the store refuses.
    /// Without it a flood of unique tags kept up to MAX_CACHED_CONTEXTS keys (tens of MB)
    /// whatever the cap, and agent-lite's memory grew with the tags sent, not with the cap.
    pub fn with_context_cap(max: usize) -> Self {
        Self {
            contexts: FxHashMap::default(),
            max_cached_contexts: max.min(MAX_CACHED_CONTEXTS),
            counts: FxHashMap::default(),
            gauges: FxHashMap::default(),
            histograms: FxHashMap::default(),
            sets: FxHashMap::default(),
            sketches: FxHashMap::default(),
            points: 0,
        }
    }

    /// Adds one parsed metric line received at `now` (seconds).
    pub fn add(&mut self, m: &Metric<'_>, extra_tags: &[String], now: i64) {
        let ts = bucket_of(m.timestamp.unwrap_or(now));
        let context = context_of(m, extra_tags);
        self.contexts.entry(context).or_insert_with(|| {
            let mut tags: Vec<String> = m.tags.iter().map(|t| (*t).to_owned()).collect();
            tags.extend(extra_tags.iter().cloned());
            SeriesKey::new(m.name, tags)
        });
        let key = (context, ts);
        // Every value but a set member parsed as a number in the parser.
        let numbers = || m.values.iter().filter_map(|v| v.parse::<f64>().ok());
        let weight = 1.0 / m.sample_rate;
        self.points += m.values.len() as u64;
        match m.kind {
            MetricType::Count => {
                *self.counts.entry(key).or_insert(0.0) += numbers().sum::<f64>() * weight;
            }
            MetricType::Gauge => {
                if let Some(last) = numbers().next_back() {
                    self.gauges.insert(key, last);
                }
            }
            MetricType::Histogram | MetricType::Timer => {
                self.histograms
                    .entry(key)
                    .or_default()
                    .extend(numbers().map(|v| (v, weight)));
            }
            MetricType::Set => {
                self.sets
                    .entry(key)
                    .or_default()
                    .extend(m.values.iter().map(|v| (*v).to_owned()));
            }
            MetricType::Distribution => {
                let sketch = self.sketches.entry(key).or_insert_with(new_sketch);
                // A sampled distribution value stands for 1/rate values, added as one weighted
                // value: a loop over the copies let one line sampled at `@1e-9` hold the
                // intake for seconds, and `@1e-300` for ever. Capped, so that the sketch's
                // u64 count cannot overflow.
                let copies = weight.round().clamp(1.0, MAX_SAMPLE_WEIGHT) as u64;
                for v in numbers() {
                    sketch.add_with_count(v, copies);
                }
            }
        }
    }

    /// Writes every aggregate into the store and starts afresh; returns the points refused.
    pub fn flush(&mut self, store: &mut Store) -> u64 {
        let mut refused = 0u64;
        let mut check = |w: Written| {
            if w != Written::Stored {
                refused += 1;
            }
        };
        // Contexts are kept between flushes (a series usually comes back) unless they pile up.
        let contexts = std::mem::take(&mut self.contexts);
        let key_of = |c: &Context| contexts.get(c).cloned();
        for ((c, ts), v) in self.counts.drain() {
            if let Some(key) = key_of(&c) {
                check(store.add_count(key, ts, v));
            }
        }
        for ((c, ts), v) in self.gauges.drain() {
            if let Some(key) = key_of(&c) {
                check(store.set_gauge(key, ts, v));
            }
        }
        for ((c, ts), samples) in self.histograms.drain() {
            let Some(key) = key_of(&c) else { continue };
            for (suffix, value) in histogram_figures(&samples) {
                let name = format!("{}.{suffix}", key.name);
                let k = SeriesKey::new(&name, key.tags.clone());
                if suffix == "count" {
                    check(store.add_count(k, ts, value));
                } else {
                    check(store.set_gauge(k, ts, value));
                }
            }
        }
        for ((c, ts), members) in self.sets.drain() {
            if let Some(key) = key_of(&c) {
                check(store.set_gauge(key, ts, members.len() as f64));
            }
        }
        for ((c, ts), sketch) in self.sketches.drain() {
            if let Some(key) = key_of(&c) {
                check(store.merge_sketch(key, ts, &sketch));
            }
        }
        if contexts.len() <= self.max_cached_contexts {
            self.contexts = contexts;
        }
        refused
    }
}

/// Past this many series (or the store's cap, if lower), the context cache starts afresh at
/// each flush, so a flood of unique tags cannot grow it without bound.
const MAX_CACHED_CONTEXTS: usize = 200_000;

/// The most values one sampled distribution value stands for: 2^32 (a rate of 2.3e-10).
const MAX_SAMPLE_WEIGHT: f64 = 4_294_967_296.0;

/// The figures the Agent makes of a histogram: avg, count (weighted by sample rates), max,
/// median, 95th percentile (nearest rank over the received values).
fn histogram_figures(samples: &[(f64, f64)]) -> Vec<(&'static str, f64)> {
    if samples.is_empty() {
        return Vec::new();
    }
    let mut values: Vec<f64> = samples.iter().map(|(v, _)| *v).collect();
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let rank = |q: f64| values[((q * n as f64).ceil() as usize).clamp(1, n) - 1];
    let count: f64 = samples.iter().map(|(_, w)| w).sum();
    let avg = values.iter().sum::<f64>() / n as f64;
    vec![
        ("avg", avg),
        ("count", count),
        ("max", values[n - 1]),
        ("median", rank(0.5)),
        ("95percentile", rank(0.95)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line sampled at a tiny rate is one weighted value, not a loop over its copies: at
    /// `@1e-300` the loop never ended and the DogStatsD intake stopped for good.
    #[test]
    fn a_tiny_sample_rate_is_a_weight_not_a_loop() {
        use crate::intake::dogstatsd::parser::{parse_line, Line};
        let mut agg = Aggregator::default();
        for line in ["lab.d:0.5|d|@1e-300", "lab.d:0.5|d|@0.5"] {
            let Ok(Line::Metric(m)) = parse_line(line) else {
                panic!("{line} parses")
            };
            agg.add(&m, &[], 1_000);
        }
        let sketch = agg.sketches.values().next().expect("one sketch");
        assert_eq!(sketch.count(), (1 << 32) + 2);
    }

    #[test]
    fn histogram_figures_follow_the_agent() {
        let samples: Vec<(f64, f64)> = (1..=100).map(|v| (f64::from(v), 1.0)).collect();
        let f: std::collections::HashMap<_, _> = histogram_figures(&samples).into_iter().collect();
        assert_eq!(f["avg"], 50.5);
        assert_eq!(f["count"], 100.0);
        assert_eq!(f["max"], 100.0);
        assert_eq!(f["median"], 50.0);
        assert_eq!(f["95percentile"], 95.0);
    }
}
