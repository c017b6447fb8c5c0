//! The service's continuous CPU profiler (`DD_PROFILING_ENABLED=true`): about 100 samples a
//! CPU-second (`sampler`), each labelled with the span it ran under (`telemetry::span_ids`),
//! made into a pprof and sent to the Agent every `DD_PROFILING_UPLOAD_PERIOD` seconds
//! (`export`), in the upload Datadog's profilers send.

mod export;
pub mod sampler;

use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;

use crate::config::ServeConfig;

/// How the profiler runs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub agent_url: String,
    pub upload_period: Duration,
    pub hz: u32,
    pub service: String,
    pub env: String,
    pub version: String,
}

impl From<&ServeConfig> for Settings {
    /// The service's own tags (demo-service's, or inventory's), its agent and its periods.
    fn from(cfg: &ServeConfig) -> Self {
        Self {
            agent_url: cfg.trace_agent_url(),
            upload_period: Duration::from_secs(cfg.profiling_upload_period_secs),
            hz: cfg.profiling_hz,
            service: cfg.service.clone(),
            env: cfg.env.clone(),
            version: cfg.version.clone(),
        }
    }
}

/// Starts the profiler when `DD_PROFILING_ENABLED=true`: what both services call at start.
pub fn start_if_enabled(cfg: &ServeConfig) -> anyhow::Result<()> {
    if cfg.profiling_enabled {
        start(Settings::from(cfg)).context("starting the profiler (DD_PROFILING_ENABLED=true)")?;
    }
    Ok(())
}

/// Starts sampling and the thread that drains, builds and uploads; it runs until the process
/// ends (the last partial period is not sent).
pub fn start(settings: Settings) -> anyhow::Result<()> {
    let exporter = export::exporter(
        &settings.agent_url,
        &[
            ("service", &settings.service),
            ("env", &settings.env),
            ("version", &settings.version),
            ("language", "rust"),
            ("runtime", "rust"),
            ("profiler_version", env!("CARGO_PKG_VERSION")),
        ],
    )?;
    sampler::start(settings.hz)?;
    let period_ns = 1_000_000_000 / i64::from(settings.hz.max(1));
    let mut profile = export::new_profile(period_ns)?;
    let mut interned = export::Interned::for_profile(&profile)?;
    std::thread::Builder::new()
        .name("demo-service-profiler".into())
        .spawn(move || {
            let mut symbols = export::Symbols::default();
            let mut samples = Vec::new();
            let mut taken = 0usize;
            let mut started = Instant::now();
            loop {
                std::thread::sleep(Duration::from_millis(100));
                sampler::drain(&mut samples);
                taken += samples.len();
                if let Err(e) =
                    export::add(&mut profile, &mut interned, &samples, &mut symbols, period_ns)
                {
                    tracing::warn!(error = %format!("{e:#}"), "samples lost");
                }
                samples.clear();
                if started.elapsed() < settings.upload_period {
                    continue;
                }
                let duration = started.elapsed();
                started = Instant::now();
                let next = match export::new_profile(period_ns)
                    .and_then(|p| Ok((export::Interned::for_profile(&p)?, p)))
                {
                    Ok((next_interned, p)) => {
                        interned = next_interned;
                        p
                    }
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), "the profiler stops");
                        sampler::stop();
                        return;
                    }
                };
                let done = std::mem::replace(&mut profile, next);
                match export::send(&exporter, done, SystemTime::now(), duration) {
                    Ok(()) => tracing::debug!(samples = taken, "profile sent"),
                    Err(e) => {
                        tracing::warn!(error = %format!("{e:#}"), samples = taken, "profile not sent")
                    }
                }
                taken = 0;
            }
        })?;
    Ok(())
}
