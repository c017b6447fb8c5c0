//! Aggregation of DogStatsD samples per flush interval, as the Agent does before sending:
//! counts summed (divided by their sample rate), gauges last, histograms and timers into
//! `.avg`, `.count`, `.max`, `.median`, `.95percentile`, sets into their number of distinct
//! members, distributions into sketches. The samples of one 10 s bucket are written to the
//! store together at the flush that follows.

use std::collections::{HashMap, HashSet};

use sketches_ddsketch::DDSketch;

use super::parser::{Metric, MetricType};
use crate::store::{bucket_of, new_sketch, SeriesKey, Store, Written};

#[derive(Default)]
pub struct Aggregator {
    counts: HashMap<(SeriesKey, i64), f64>,
    gauges: HashMap<(SeriesKey, i64), f64>,
    histograms: HashMap<(SeriesKey, i64), Vec<(f64, f64)>>,
    sets: HashMap<(SeriesKey, i64), HashSet<String>>,
    sketches: HashMap<(SeriesKey, i64), DDSketch>,
    pub points: u64,
}

impl Aggregator {
    /// Adds one parsed metric line received at `now` (seconds).
    pub fn add(&mut self, m: &Metric<'_>, extra_tags: &[String], now: i64) {
        let ts = bucket_of(m.timestamp.unwrap_or(now));
        let mut tags: Vec<String> = m.tags.iter().map(|t| (*t).to_owned()).collect();
        tags.extend(extra_tags.iter().cloned());
        let key = (SeriesKey::new(m.name, tags), ts);
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
                for v in numbers() {
                    // A sampled distribution value stands for 1/rate values.
                    let copies = weight.round().max(1.0) as usize;
                    for _ in 0..copies {
                        sketch.add(v);
                    }
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
        for ((key, ts), v) in self.counts.drain() {
            check(store.add_count(key, ts, v));
        }
        for ((key, ts), v) in self.gauges.drain() {
            check(store.set_gauge(key, ts, v));
        }
        for ((key, ts), samples) in self.histograms.drain() {
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
        for ((key, ts), members) in self.sets.drain() {
            check(store.set_gauge(key, ts, members.len() as f64));
        }
        for ((key, ts), sketch) in self.sketches.drain() {
            check(store.merge_sketch(key, ts, &sketch));
        }
        refused
    }
}

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

    #[test]
    fn histogram_figures_follow_the_agent() {
        let samples: Vec<(f64, f64)> = (1..=100).map(|v| (f64::from(v), 1.0)).collect();
        let f: HashMap<_, _> = histogram_figures(&samples).into_iter().collect();
        assert_eq!(f["avg"], 50.5);
        assert_eq!(f["count"], 100.0);
        assert_eq!(f["max"], 100.0);
        assert_eq!(f["median"], 50.0);
        assert_eq!(f["95percentile"], 95.0);
    }
}
