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
use libdd_profiling::internal::Profile;

use super::sampler::RawSample;

/// Datadog's CPU sample types: the count of samples, and the CPU time they stand for.
const SAMPLE_TYPES: [api::ValueType<'static>; 2] = [
    api::ValueType::new("cpu-samples", "count"),
    api::ValueType::new("cpu-time", "nanoseconds"),
];

/// One frame, resolved: a function name (demangled, without its hash), its file and line.
#[derive(Clone)]
struct Frame {
    name: String,
    file: String,
    line: i64,
}

/// Resolves instruction pointers to frames (inlined functions included), once each.
#[derive(Default)]
pub struct Symbols(HashMap<usize, Vec<Frame>>);

impl Symbols {
    /// The frames at `ip`, innermost first. A return address (every frame but the leaf) is
    /// looked up one byte back, inside the call that made it.
    fn frames(&mut self, ip: usize, leaf: bool) -> &[Frame] {
        self.0.entry(ip).or_insert_with(|| {
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

/// Adds samples to the period's profile.
pub fn add(
    profile: &mut Profile,
    samples: &[RawSample],
    symbols: &mut Symbols,
    period_ns: i64,
) -> anyhow::Result<()> {
    let values = [1, period_ns];
    for s in samples {
        let mut frames: Vec<Frame> = Vec::new();
        for (i, ip) in s.ips[..s.len.min(s.ips.len())].iter().enumerate() {
            frames.extend(symbols.frames(*ip, i == 0).iter().cloned());
        }
        let locations = frames
            .iter()
            .map(|f| api::Location {
                function: api::Function {
                    name: &f.name,
                    system_name: &f.name,
                    filename: &f.file,
                },
                line: f.line,
                ..Default::default()
            })
            .collect();
        let mut labels = Vec::new();
        if s.local_root_span_id != 0 {
            labels.push(api::Label {
                key: "local root span id",
                str: "",
                // Datadog's labels carry the unsigned id's bits in pprof's signed number.
                num: s.local_root_span_id as i64,
                num_unit: "",
            });
            labels.push(api::Label {
                key: "span id",
                str: "",
                num: s.span_id as i64,
                num_unit: "",
            });
        }
        profile
            .try_add_sample(
                api::Sample {
                    locations,
                    values: &values,
                    labels,
                },
                None,
            )
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
