//! How much the metric store keeps.

use std::time::Duration;

use clap::Args;

use super::Limits;

#[derive(Debug, Clone, Args)]
pub struct StoreConfig {
    /// How long points are kept, in minutes.
    #[arg(long, env = "AGENT_LITE_RETENTION_MINUTES", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 60))]
    pub retention_minutes: u64,

    /// Most time series kept; new series over it are refused and counted.
    #[arg(long, env = "AGENT_LITE_MAX_SERIES", default_value_t = 100_000)]
    pub max_series: usize,
}

impl StoreConfig {
    pub fn limits(&self) -> Limits {
        Limits {
            retention: Duration::from_secs(self.retention_minutes * 60),
            max_series: self.max_series,
        }
    }
}
