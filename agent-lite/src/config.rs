//! Command line and environment, with the Agent's DD_* names where it has one.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, CommandFactory as _, Parser, Subcommand};

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
    Status(crate::status::StatusConfig),
    /// Check an exercise of the bootcamp workbook (docs/bootcamp/) against the running lab:
    /// exits 0 when it passes, 1 saying what is missing, 2 when the lab does not answer.
    LabCheck(crate::workbook::LabCheckConfig),
    /// Check monitor definitions (files or folders) as a start would load them; exits 1 if
    /// any is refused. For CI jobs that test alert definitions.
    CheckMonitors {
        /// Monitor JSON files or folders of them.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
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

    // The state folder is shared: the monitors (history, API monitors), the dashboards and
    // the SLOs (the API's) each keep their files there, and each is handed this one option.
    // It sits between the monitors' options because --help has always listed it there.
    /// Folder keeping monitor history and API-created monitors across restarts (a volume).
    #[arg(long, env = "AGENT_LITE_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    #[command(flatten)]
    pub notifications: crate::monitors::NotificationsConfig,

    #[command(flatten)]
    pub dashboards: crate::dashboards::DashboardsConfig,

    #[command(flatten)]
    pub slos: crate::slos::SlosConfig,
}

impl Cli {
    /// The command line, with the configuration file it names read in: the file sets the
    /// variables that are not set yet, then the command line is parsed again (a variable wins
    /// over the file, a flag over both). Exits as clap does on a bad command line.
    ///
    /// Call it while the process has one thread: it writes the environment, which is safe
    /// only while no other thread reads it.
    pub fn load() -> anyhow::Result<Self> {
        let cli = Self::parse();
        let Some(path) = cli.config_file() else {
            return Ok(cli);
        };
        let vars = crate::config_file::variables(path, &Self::command(), |env| {
            std::env::var_os(env).is_some()
        })?;
        for (env, value) in vars {
            std::env::set_var(env, value);
        }
        Ok(Self::parse())
    }

    /// The configuration file named for the command about to run.
    pub fn config_file(&self) -> Option<&std::path::Path> {
        match &self.command {
            Some(Command::Run(cfg)) => cfg.config.as_deref(),
            Some(Command::Status(_) | Command::LabCheck(_) | Command::CheckMonitors { .. }) => None,
            None => self.run.config.as_deref(),
        }
    }
}
