//! Profiles merged into one call tree, root to leaf, frames named by function (Datadog's
//! flame graph), and the top functions by self and total value.

use std::collections::HashMap;

use serde::Serialize;

use super::pprof::{self, Profile};
use super::store::StoredProfile;

/// A node of the merged tree: `value` is what was measured under it (itself and its callees).
#[derive(Debug, Serialize, Default)]
pub struct Node {
    pub name: String,
    pub value: i64,
    pub children: Vec<Node>,
}

/// A function of the top table: `self` measured in it, `total` in it and its callees
/// (counted once a sample when it recurses).
#[derive(Debug, Serialize)]
pub struct TopEntry {
    pub name: String,
    #[serde(rename = "self")]
    pub self_value: i64,
    pub total: i64,
}

/// Keeps only the samples of a span (Datadog's code hotspots): those labelled
/// `local root span id` (or `span id`) with one of these ids.
#[derive(Debug, Default, Clone)]
pub struct SpanFilter {
    pub local_root_span_ids: Vec<u64>,
    pub span_ids: Vec<u64>,
}

impl SpanFilter {
    fn is_empty(&self) -> bool {
        self.local_root_span_ids.is_empty() && self.span_ids.is_empty()
    }
}

#[derive(Debug, Serialize)]
pub struct Aggregate {
    #[serde(rename = "type")]
    pub profile_type: String,
    /// The unit of the values (`nanoseconds`, `count`, `bytes`).
    pub unit: String,
    /// Profiles merged.
    pub profiles: usize,
    /// Samples merged.
    pub samples: u64,
    pub tree: Node,
    pub top: Vec<TopEntry>,
}

/// What is merged beside the tree and the table: the type, its unit, how much went in.
#[derive(Debug, Serialize)]
pub struct Merged<'a> {
    #[serde(rename = "type")]
    pub profile_type: &'a str,
    pub unit: &'a str,
    pub profiles: usize,
    pub samples: u64,
}

/// The flame graph as the API answers it: the tree's root itself, `{name, value, children}`
/// (the shape issue 20 states and flame graph libraries read), with [`Merged`]'s fields beside
/// its own so that a reader knows the unit without a second call.
#[derive(Debug, Serialize)]
pub struct FlameGraph<'a> {
    #[serde(flatten)]
    pub root: &'a Node,
    #[serde(flatten)]
    pub merged: Merged<'a>,
}

/// The top table as the API answers it: functions by self value, with [`Merged`]'s fields
/// and `total`, the value of every sample (the tree's root), that shares are taken of.
#[derive(Debug, Serialize)]
pub struct TopTable<'a> {
    #[serde(flatten)]
    pub merged: Merged<'a>,
    pub total: i64,
    pub top: &'a [TopEntry],
}

impl Aggregate {
    fn merged(&self) -> Merged<'_> {
        Merged {
            profile_type: &self.profile_type,
            unit: &self.unit,
            profiles: self.profiles,
            samples: self.samples,
        }
    }

    pub fn flame_graph(&self) -> FlameGraph<'_> {
        FlameGraph {
            root: &self.tree,
            merged: self.merged(),
        }
    }

    pub fn top_table(&self) -> TopTable<'_> {
        TopTable {
            merged: self.merged(),
            total: self.tree.value,
            top: &self.top,
        }
    }
}

/// The deepest stack kept, in frames.
const MAX_DEPTH: usize = 512;

/// An arena while merging: each node's children by name.
#[derive(Default)]
struct Builder {
    names: Vec<String>,
    values: Vec<i64>,
    children: Vec<HashMap<String, usize>>,
    self_by_name: HashMap<String, i64>,
    total_by_name: HashMap<String, i64>,
    samples: u64,
}

impl Builder {
    fn new() -> Self {
        let mut b = Self::default();
        b.push("root".to_owned());
        b
    }

    fn push(&mut self, name: String) -> usize {
        self.names.push(name);
        self.values.push(0);
        self.children.push(HashMap::new());
        self.names.len() - 1
    }

    fn child(&mut self, parent: usize, name: &str) -> usize {
        if let Some(&i) = self.children[parent].get(name) {
            return i;
        }
        let i = self.push(name.to_owned());
        self.children[parent].insert(name.to_owned(), i);
        i
    }

    /// One sample: its frames root first, and its value; the tree takes its first
    /// `tree_depth` frames (the top table all of them).
    fn add(&mut self, frames: &[&str], value: i64, tree_depth: usize) {
        self.samples += 1;
        let mut at = 0;
        self.values[0] += value;
        for frame in frames.iter().take(tree_depth) {
            at = self.child(at, frame);
            self.values[at] += value;
        }
        if let Some(leaf) = frames.last() {
            *self.self_by_name.entry((*leaf).to_owned()).or_default() += value;
        }
        let mut seen: Vec<&str> = Vec::with_capacity(frames.len());
        for frame in frames {
            if !seen.contains(frame) {
                seen.push(frame);
                *self.total_by_name.entry((*frame).to_owned()).or_default() += value;
            }
        }
    }

    fn node(&mut self, i: usize) -> Node {
        let mut kids: Vec<usize> = self.children[i].values().copied().collect();
        kids.sort_by_key(|&k| (std::cmp::Reverse(self.values[k]), k));
        Node {
            name: std::mem::take(&mut self.names[i]),
            value: self.values[i],
            children: kids.into_iter().map(|k| self.node(k)).collect(),
        }
    }
}

/// The function names of a location, outermost first (pprof lists a location's inlined
/// functions innermost first; its last line is the caller they were inlined into).
fn location_frames<'p>(
    loc: &pprof_location::Location,
    out: &mut Vec<&'p str>,
    functions: &HashMap<u64, &'p str>,
) {
    if loc.lines.is_empty() {
        out.push("[unknown]");
        return;
    }
    for line in loc.lines.iter().rev() {
        out.push(
            functions
                .get(&line.function_id)
                .copied()
                .unwrap_or("[unknown]"),
        );
    }
}

mod pprof_location {
    pub use libdd_profiling_protobuf::prost_impls::Location;
}

/// Merges `profiles` for `profile_type` (samples of `spans` alone when given). Profiles that
/// no longer decode (none should: each was decoded when it came) are skipped.
pub fn aggregate(
    profiles: &[std::sync::Arc<StoredProfile>],
    profile_type: &str,
    spans: &SpanFilter,
) -> Aggregate {
    aggregate_to_depth(profiles, profile_type, spans, MAX_DEPTH)
}

/// [`aggregate`] with the tree cut at `tree_depth` frames (each node then holds what ran under
/// it); a reader whose JSON parser limits nesting (serde_json's is 128 levels, two a frame)
/// asks for less.
pub fn aggregate_to_depth(
    profiles: &[std::sync::Arc<StoredProfile>],
    profile_type: &str,
    spans: &SpanFilter,
    tree_depth: usize,
) -> Aggregate {
    let mut b = Builder::new();
    let mut unit = String::new();
    let mut merged = 0;
    for stored in profiles {
        for attachment in &stored.attachments {
            let Some(index) = pprof::value_index(&attachment.sample_types, profile_type) else {
                continue;
            };
            let Ok(p) = pprof::decode(&attachment.uploaded) else {
                continue;
            };
            if unit.is_empty() {
                unit = attachment.sample_types[index].1.clone();
            }
            merged += 1;
            add_profile(&mut b, &p, index, spans, tree_depth);
        }
    }
    let mut top: Vec<TopEntry> = b
        .total_by_name
        .iter()
        .map(|(name, &total)| TopEntry {
            name: name.clone(),
            self_value: b.self_by_name.get(name).copied().unwrap_or(0),
            total,
        })
        .collect();
    top.sort_by(|x, y| {
        y.self_value
            .cmp(&x.self_value)
            .then(y.total.cmp(&x.total))
            .then_with(|| x.name.cmp(&y.name))
    });
    top.truncate(200);
    let samples = b.samples;
    Aggregate {
        profile_type: profile_type.to_owned(),
        unit,
        profiles: merged,
        samples,
        tree: b.node(0),
        top,
    }
}

fn add_profile(b: &mut Builder, p: &Profile, index: usize, spans: &SpanFilter, tree_depth: usize) {
    let functions: HashMap<u64, &str> = p
        .functions
        .iter()
        .map(|f| (f.id, pprof::string(p, f.name)))
        .collect();
    let locations: HashMap<u64, &pprof_location::Location> =
        p.locations.iter().map(|l| (l.id, l)).collect();
    let span_keys = (
        p.string_table
            .iter()
            .position(|s| s == "local root span id"),
        p.string_table.iter().position(|s| s == "span id"),
    );
    let mut frames: Vec<&str> = Vec::new();
    for sample in &p.samples {
        let value = sample.values.get(index).copied().unwrap_or(0);
        if value == 0 || !in_spans(p, sample, span_keys, spans) {
            continue;
        }
        frames.clear();
        // location_ids[0] is the leaf: walk them from the root.
        for id in sample.location_ids.iter().rev() {
            match locations.get(id) {
                Some(loc) => location_frames(loc, &mut frames, &functions),
                None => frames.push("[unknown]"),
            }
        }
        // A stack deeper than any real one is cut (its root side kept), so that the tree's
        // depth, and the recursion that writes it, stay bounded whatever the upload says.
        frames.truncate(MAX_DEPTH);
        b.add(&frames, value, tree_depth);
    }
}

fn in_spans(
    p: &Profile,
    sample: &libdd_profiling_protobuf::prost_impls::Sample,
    (root_key, span_key): (Option<usize>, Option<usize>),
    spans: &SpanFilter,
) -> bool {
    if spans.is_empty() {
        return true;
    }
    let label = |key: Option<usize>| {
        let key = key? as i64;
        sample.labels.iter().find(|l| l.key == key).and_then(|l| {
            if l.str != 0 {
                pprof::string(p, l.str).parse::<u64>().ok()
            } else {
                // Span ids are unsigned 64-bit; pprof's numbers are signed: the same bits.
                Some(l.num as u64)
            }
        })
    };
    label(root_key).is_some_and(|id| spans.local_root_span_ids.contains(&id))
        || label(span_key).is_some_and(|id| spans.span_ids.contains(&id))
}
