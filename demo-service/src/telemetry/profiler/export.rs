//! A period's samples made into a pprof profile and sent to the Agent, both with Datadog's own
//! `libdd-profiling` (the library behind Datadog's Python, Ruby, PHP and .NET profilers): its
//! `Profile` interns functions and labels and writes the zstd pprof; its `ProfileExporter`
//! sends the multipart upload (`event.json` with tags, start, end, family, then
//! `profile.pprof`) to `/profiling/v1/input`, exactly as those profilers do, so agent-lite
//! and the real Agent both take it.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use libdd_profiling::api;
use libdd_profiling::exporter::{ProfileExporter, Tag};
use libdd_profiling::internal::interning_api::{Generation, GenerationalId};
use libdd_profiling::internal::{LocationId, Profile, StackTraceId};

use super::sampler::RawSample;

/// Datadog's CPU sample types: the count of samples, and the CPU time they stand for.
const SAMPLE_TYPES: [api::ValueType<'static>; 2] = [
    api::ValueType::new("cpu-samples", "count"),
    api::ValueType::new("cpu-time", "nanoseconds"),
];

/// One frame, resolved: a function name (demangled, without its hash), its file and line.
struct Frame {
    name: String,
    file: String,
    line: i64,
}

/// Resolves instruction pointers to frames (inlined functions included), once each.
#[derive(Default)]
pub struct Symbols(HashMap<(usize, bool), Vec<Frame>>);

impl Symbols {
    /// The frames at `ip`, innermost first. A return address (every frame but the leaf) is
    /// looked up one byte back, inside the call that made it.
    fn frames(&mut self, ip: usize, leaf: bool) -> &[Frame] {
        self.0.entry((ip, leaf)).or_insert_with(|| {
            let at = if leaf { ip } else { ip.saturating_sub(1) };
            let mut out = Vec::new();
            backtrace::resolve(at as *mut std::ffi::c_void, |sym| {
                out.push(Frame {
                    name: sym
                        .name()
                        .map(|n| format!("{n:#}"))
                        .unwrap_or_else(|| format!("{ip:#x}")),
                    file: sym
                        .filename()
                        .map(|f| f.display().to_string())
                        .unwrap_or_default(),
                    line: sym.lineno().map_or(0, i64::from),
                });
            });
            if out.is_empty() {
                out.push(Frame {
                    name: format!("{ip:#x}"),
                    file: String::new(),
                    line: 0,
                });
            }
            out
        })
    }
}

/// A new period's profile (it starts now), each sample worth `period_ns` of CPU.
pub fn new_profile(period_ns: i64) -> anyhow::Result<Profile> {
    Profile::try_new(
        &SAMPLE_TYPES,
        Some(api::Period {
            r#type: SAMPLE_TYPES[1],
            value: period_ns,
        }),
    )
    .context("a new profile")
}

/// What a period's profile has interned already: each return address' locations, and each
/// stack's id. Most samples repeat a stack seen before (a busy loop, a server's request path):
/// such a sample costs one hash lookup of its addresses, where interning every frame's names
/// again (long demangled Rust names, hashed and compared) made the profiler's own thread cost
/// about 2% of the service's CPU. The ids are the profile's: made anew with each profile.
pub struct Interned {
    generation: Generation,
    locations: HashMap<(usize, bool), Vec<LocationId>>,
    stacks: HashMap<Box<[usize]>, StackTraceId>,
}

impl Interned {
    pub fn for_profile(profile: &Profile) -> anyhow::Result<Self> {
        Ok(Self {
            generation: profile.get_generation()?,
            locations: HashMap::new(),
            stacks: HashMap::new(),
        })
    }

    fn id<T: Copy>(&self, id: T) -> GenerationalId<T> {
        GenerationalId::new(id, self.generation)
    }

    /// The stack of `ips` (leaf first) in `profile`, interned once a period.
    fn stack(
        &mut self,
        profile: &mut Profile,
        symbols: &mut Symbols,
        ips: &[usize],
    ) -> anyhow::Result<GenerationalId<StackTraceId>> {
        if let Some(id) = self.stacks.get(ips) {
            return Ok(self.id(*id));
        }
        let mut locations = Vec::with_capacity(ips.len());
        for (i, ip) in ips.iter().enumerate() {
            let key = (*ip, i == 0);
            if !self.locations.contains_key(&key) {
                let ids = self.locations_of(profile, symbols.frames(key.0, key.1))?;
                self.locations.insert(key, ids);
            }
            locations.extend(self.locations[&key].iter().map(|id| self.id(*id)));
        }
        let id = profile
            .intern_stacktrace(&locations)?
            .get(self.generation)?;
        self.stacks.insert(ips.into(), id);
        Ok(self.id(id))
    }

    /// One return address' frames (its inlined functions, innermost first) as locations.
    fn locations_of(
        &self,
        profile: &mut Profile,
        frames: &[Frame],
    ) -> anyhow::Result<Vec<LocationId>> {
        frames
            .iter()
            .map(|f| {
                let name = profile.intern_string(&f.name)?.get(self.generation)?;
                let file = profile.intern_string(&f.file)?;
                let function = profile.intern_function(self.id(name), self.id(name), file)?;
                profile
                    .intern_location(None, function, 0, f.line)?
                    .get(self.generation)
            })
            .collect()
    }
}

/// Adds samples to the period's profile, `interned` being that profile's.
pub fn add(
    profile: &mut Profile,
    interned: &mut Interned,
    samples: &[RawSample],
    symbols: &mut Symbols,
    period_ns: i64,
) -> anyhow::Result<()> {
    let values = [1, period_ns];
    for s in samples {
        let stack = interned
            .stack(profile, symbols, &s.ips[..s.len.min(s.ips.len())])
            .context("a sample's stack")?;
        let labels = if s.local_root_span_id != 0 {
            // Datadog's labels carry the unsigned ids' bits in pprof's signed numbers.
            let root_key = profile.intern_string("local root span id")?;
            let root = profile.intern_label_num(
                root_key,
                s.local_root_span_id as i64,
                Profile::INTERNED_EMPTY_STRING,
            )?;
            let span_key = profile.intern_string("span id")?;
            let span = profile.intern_label_num(
                span_key,
                s.span_id as i64,
                Profile::INTERNED_EMPTY_STRING,
            )?;
            profile.intern_labelset(&[root, span])?
        } else {
            profile.intern_labelset(&[])?
        };
        profile
            .intern_sample(stack, &values, labels, None)
            .context("a sample")?;
    }
    Ok(())
}

/// Sends a period's profile; the Agent's answer status when it is not a success.
pub fn send(
    exporter: &ProfileExporter,
    profile: Profile,
    end: SystemTime,
    duration: Duration,
) -> anyhow::Result<()> {
    let encoded = profile
        .serialize_into_compressed_pprof(Some(end), Some(duration))
        .context("encoding the profile")?;
    let request = exporter
        .build(encoded, &[], &[], None, None, None)
        .context("building the upload")?;
    let response = exporter
        .send(request, None)
        .context("sending the profile")?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("the agent answered {status}");
    }
    Ok(())
}

/// The exporter for `agent_url`, with the unified service tags on every upload.
pub fn exporter(agent_url: &str, tags: &[(&str, &str)]) -> anyhow::Result<ProfileExporter> {
    let uri: libdd_profiling::exporter::Uri = agent_url.parse().context("the agent URL")?;
    let endpoint =
        libdd_profiling::exporter::config::agent(uri).context("the profiling endpoint")?;
    let tags = tags
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| Tag::new(k, v))
        .collect::<Result<Vec<_>, _>>()
        .context("a profile tag")?;
    ProfileExporter::new(
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        "rust",
        Some(tags),
        endpoint,
    )
}
