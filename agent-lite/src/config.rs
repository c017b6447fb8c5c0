//! Command line and environment, with the Agent's DD_* names where it has one.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "agent-lite",
    version,
    about = "A stand-in for the Datadog Agent: trace and DogStatsD intake, APM stats, query API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunConfig,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the agent (the default).
    Run(Box<RunConfig>),
    /// Ask a running agent-lite for its status and print it, like `agent status`.
    Status(StatusConfig),
    /// Check monitor definitions (files or folders) as a start would load them; exits 1 if
    /// any is refused. For CI jobs that test alert definitions.
    CheckMonitors {
        /// Monitor JSON files or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct StatusConfig {
    /// The agent-lite API to ask.
    #[arg(long, env = "AGENT_LITE_URL", default_value = "http://127.0.0.1:5002")]
    pub url: String,
    /// Print the raw JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunConfig {
    /// A configuration file in datadog.yaml's layout (`apm_config.receiver_port: 8126`,
    /// `agent_lite.max_series: 100000`); variables and flags take precedence over it.
    #[arg(long, env = "AGENT_LITE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address every listener binds to (the Agent's bind_host; 0.0.0.0 is its
    /// apm_non_local_traffic / dogstatsd_non_local_traffic).
    #[arg(long, env = "DD_BIND_HOST", default_value = "127.0.0.1")]
    pub bind_host: IpAddr,

    /// Trace intake port.
    #[arg(long, env = "DD_APM_RECEIVER_PORT", default_value_t = 8126)]
    pub apm_port: u16,

    /// Also take traces on this Unix socket.
    #[arg(long, env = "DD_APM_RECEIVER_SOCKET")]
    pub apm_socket: Option<PathBuf>,

    /// DogStatsD port (UDP); 0 turns UDP off.
    #[arg(long, env = "DD_DOGSTATSD_PORT", default_value_t = 8125)]
    pub dogstatsd_port: u16,

    /// Also take DogStatsD datagrams on this Unix socket.
    #[arg(long, env = "DD_DOGSTATSD_SOCKET")]
    pub dogstatsd_socket: Option<PathBuf>,

    /// Seconds between two DogStatsD flushes into the store (the Agent's is 10).
    #[arg(long, env = "AGENT_LITE_FLUSH_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub flush_secs: u64,

    /// Port of the API and page (the Agent GUI's port).
    #[arg(long, env = "AGENT_LITE_API_PORT", default_value_t = 5002)]
    pub api_port: u16,

    /// Host name tagged on metrics and events; the machine's when unset.
    #[arg(long, env = "DD_HOSTNAME")]
    pub hostname: Option<String>,

    /// How long points are kept, in minutes.
    #[arg(long, env = "AGENT_LITE_RETENTION_MINUTES", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=7 * 24 * 60))]
    pub retention_minutes: u64,

    /// Most time series kept; new series over it are refused and counted.
    #[arg(long, env = "AGENT_LITE_MAX_SERIES", default_value_t = 100_000)]
    pub max_series: usize,

    /// Most spans kept in the recent-traces store.
    #[arg(long, env = "AGENT_LITE_MAX_TRACE_SPANS", default_value_t = 200_000)]
    pub max_trace_spans: usize,

    /// Most memory the recent traces take, in MiB; the oldest go first past it. 16 MiB keeps
    /// several minutes of the lab's traffic and holds agent-lite under 50 MB at full load.
    #[arg(long, env = "AGENT_LITE_MAX_TRACE_MEMORY_MB", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=65_536))]
    pub max_trace_memory_mb: u64,

    /// Advertise `/v0.6/stats` and `client_drop_p0s` in `/info`, as the Agent does: tracers
    /// then compute stats themselves and may drop unsampled traces. Off by default, so that
    /// every trace is kept and counted here.
    #[arg(long, env = "AGENT_LITE_CLIENT_STATS")]
    pub client_stats: bool,

    /// Largest trace payload taken, in bytes (the Agent's apm_config.max_payload_size: 25 MB).
    #[arg(long, env = "DD_APM_MAX_PAYLOAD_SIZE", default_value_t = 25 * 1024 * 1024)]
    pub max_payload_bytes: usize,

    #[command(flatten)]
    pub collectors: crate::collectors::CollectorsConfig,

    #[command(flatten)]
    pub logs: crate::collectors::logs::LogsConfig,

    #[command(flatten)]
    pub monitors: crate::monitors::MonitorsConfig,
}

impl Cli {
    /// The configuration file named for the command about to run.
    pub fn config_file(&self) -> Option<&std::path::Path> {
        match &self.command {
            Some(Command::Run(cfg)) => cfg.config.as_deref(),
            Some(Command::Status(_) | Command::CheckMonitors { .. }) => None,
            None => self.run.config.as_deref(),
        }
    }
}

impl RunConfig {
    pub fn hostname(&self) -> String {
        self.hostname
            .clone()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned())
    }
}
