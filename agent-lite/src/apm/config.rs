//! How many recent traces are kept.

use clap::Args;

use super::trace_store::TraceStore;

#[derive(Debug, Clone, Args)]
pub struct TraceStoreConfig {
    /// Most spans kept in the recent-traces store.
    #[arg(long, env = "AGENT_LITE_MAX_TRACE_SPANS", default_value_t = 200_000)]
    pub max_trace_spans: usize,

    /// Most memory the recent traces take, in MiB; the oldest go first past it. 16 MiB keeps
    /// several minutes of the lab's traffic and holds agent-lite under 50 MB at full load.
    #[arg(long, env = "AGENT_LITE_MAX_TRACE_MEMORY_MB", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_trace_memory_mb: u64,
}

impl TraceStoreConfig {
    pub fn build(&self) -> TraceStore {
        TraceStore::new(
            self.max_trace_spans,
            (self.max_trace_memory_mb as usize).saturating_mul(1 << 20),
        )
    }
}
