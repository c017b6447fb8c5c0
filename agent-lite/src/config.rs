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

/// `agent-lite run`: the options of every component, each flattened from the component's
/// own configuration (a new option goes in its component's folder).
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

    /// Host name tagged on metrics and events; the machine's when unset.
    #[arg(long, env = "DD_HOSTNAME")]
    pub hostname: Option<String>,

    #[command(flatten)]
    pub traces: crate::intake::traces::TraceIntakeConfig,

    #[command(flatten)]
    pub profiles: crate::intake::profiles::ProfilesConfig,

    #[command(flatten)]
    pub dogstatsd: crate::intake::dogstatsd::DogStatsDConfig,

    #[command(flatten)]
    pub web: crate::web::WebConfig,

    #[command(flatten)]
    pub store: crate::store::StoreConfig,

    #[command(flatten)]
    pub trace_store: crate::apm::TraceStoreConfig,

    #[command(flatten)]
    pub collectors: crate::collectors::CollectorsConfig,

    #[command(flatten)]
    pub logs: crate::collectors::logs::LogsConfig,

    #[command(flatten)]
    pub monitors: crate::monitors::MonitorsConfig,

    #[command(flatten)]
    pub dashboards: crate::dashboards::DashboardsConfig,

    #[command(flatten)]
    pub slos: crate::slos::SlosConfig,
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
