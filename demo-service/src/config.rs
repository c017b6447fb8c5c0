//! Command line and environment: the Datadog variables with the meaning Datadog's tracers give
//! them, plus the service's own knobs. clap reads both, so `--help` lists every option with its
//! variable and a bad value is refused at start with the variable's name in the message.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "demo-service",
    version,
    about = "The lab's instrumented web service: /, /slow, /error, /burn, traced with Datadog's Rust tracer",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeConfig,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (the default when no subcommand is given).
    Serve(Box<ServeConfig>),
    /// Probe a running service's /healthz and exit 0 when it answers 200, 1 otherwise.
    Healthcheck(HealthcheckConfig),
    /// Run the inventory service demo-service calls: stock in PostgreSQL, traced the same way.
    Inventory(Box<InventoryConfig>),
}

/// `demo-service inventory`: the same tagging, logs, tracer and runtime metrics options as the
/// service (with inventory's own defaults, see [`Cli::command_with_defaults`]), plus its
/// database.
#[derive(Debug, Clone, Args)]
pub struct InventoryConfig {
    #[command(flatten)]
    pub serve: ServeConfig,
    #[command(flatten)]
    pub db: DbConfig,
}

/// inventory's PostgreSQL.
#[derive(Debug, Clone, Args)]
pub struct DbConfig {
    /// The database, as a libpq URL (`postgres://user:password@host:port/dbname`).
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/inventory",
        value_parser = parse_database_url
    )]
    pub database_url: tokio_postgres::Config,

    /// Most connections the pool opens to PostgreSQL.
    #[arg(long, env = "INVENTORY_DB_POOL_SIZE", default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub db_pool_size: u64,

    /// Milliseconds a request waits for a pooled connection, a new connection, or a query
    /// (beyond the asked sleep of /items?ms=) before answering 503 or 504.
    #[arg(long, env = "INVENTORY_DB_TIMEOUT_MS", default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub db_timeout_ms: u64,
}

impl DbConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.db_timeout_ms)
    }
}

/// Only the URL form: tokio-postgres also takes `key=value` strings, where a typo passes
/// unnoticed as an unknown key.
fn parse_database_url(raw: &str) -> Result<tokio_postgres::Config, String> {
    let raw = raw.trim();
    if !(raw.starts_with("postgres://") || raw.starts_with("postgresql://")) {
        return Err("not a postgres:// or postgresql:// URL".to_owned());
    }
    raw.parse::<tokio_postgres::Config>()
        .map_err(|e| format!("not a PostgreSQL URL: {e}"))
}

#[derive(Debug, Clone, Args)]
pub struct HealthcheckConfig {
    /// URL probed.
    #[arg(
        long,
        env = "DEMO_HEALTHCHECK_URL",
        default_value = "http://127.0.0.1:8080/healthz"
    )]
    pub url: String,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address the HTTP server listens on.
    #[arg(long, env = "DEMO_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// HTTP worker threads (0: one per core).
    #[arg(long, env = "DEMO_WORKERS", default_value_t = 0)]
    pub workers: usize,

    /// Unified service tagging: the service name on every span, metric and log line.
    #[arg(long, env = "DD_SERVICE", default_value = "demo-service")]
    pub service: String,

    /// Unified service tagging: the environment.
    #[arg(long, env = "DD_ENV", default_value = "dev")]
    pub env: String,

    /// Unified service tagging: the version.
    #[arg(
        id = "dd_version",
        long = "dd-version",
        env = "DD_VERSION",
        default_value = "1.0"
    )]
    pub version: String,

    /// Extra tags on every span and metric, `key:value` separated by commas or spaces.
    #[arg(long, env = "DD_TAGS", default_value = "", value_parser = parse_dd_tags)]
    pub tags: DdTags,

    /// Host of the Datadog Agent (traces and DogStatsD).
    #[arg(long, env = "DD_AGENT_HOST", default_value = "localhost")]
    pub agent_host: String,

    /// Port of the Agent's trace intake.
    #[arg(long, env = "DD_TRACE_AGENT_PORT", default_value_t = 8126)]
    pub trace_agent_port: u16,

    /// Full URL of the trace intake; wins over DD_AGENT_HOST and DD_TRACE_AGENT_PORT.
    #[arg(long, env = "DD_TRACE_AGENT_URL", value_parser = parse_agent_url)]
    pub trace_agent_url: Option<String>,

    /// Port of the Agent's DogStatsD server (UDP) for runtime metrics.
    #[arg(long, env = "DD_DOGSTATSD_PORT", default_value_t = 8125)]
    pub dogstatsd_port: u16,

    /// Send traces; false turns the tracer off entirely (no spans made, none sent).
    #[arg(long, env = "DD_TRACE_ENABLED", default_value = "true", value_parser = parse_dd_bool)]
    pub trace_enabled: bool,

    /// Put dd.trace_id, dd.span_id, dd.service, dd.env, dd.version on every log line made inside a request.
    #[arg(long, env = "DD_LOGS_INJECTION", default_value = "true", value_parser = parse_dd_bool)]
    pub logs_injection: bool,

    /// Send runtime.rust.* metrics over DogStatsD every 10 seconds.
    #[arg(long, env = "DD_RUNTIME_METRICS_ENABLED", default_value = "false", value_parser = parse_dd_bool)]
    pub runtime_metrics_enabled: bool,

    /// Run the continuous CPU profiler and send its profiles to the Agent (`/profiling/v1/input`).
    #[arg(long, env = "DD_PROFILING_ENABLED", default_value = "false", value_parser = parse_dd_bool)]
    pub profiling_enabled: bool,

    /// Seconds between two profile uploads.
    #[arg(long, env = "DD_PROFILING_UPLOAD_PERIOD", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub profiling_upload_period_secs: u64,

    /// CPU samples a CPU-second taken by the profiler.
    #[arg(long, env = "DEMO_PROFILING_HZ", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub profiling_hz: u32,

    /// Seconds between two runtime metrics reports.
    #[arg(long, env = "DEMO_RUNTIME_METRICS_INTERVAL_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub runtime_metrics_interval_secs: u64,

    /// Least and most milliseconds /slow takes when no ?ms= is given (the seed: 500-1500).
    #[arg(long, env = "DEMO_SLOW_RANGE_MS", default_value = "500-1500", value_parser = parse_range)]
    pub slow_range_ms: MsRange,

    /// Upper bound of /slow?ms=.
    #[arg(long, env = "DEMO_SLOW_MAX_MS", default_value_t = 10_000)]
    pub slow_max_ms: u64,

    /// Serve the chaos endpoint /burn; when false it answers 403.
    #[arg(long, env = "DEMO_CHAOS_ENABLED", default_value = "true", value_parser = parse_dd_bool)]
    pub chaos_enabled: bool,

    /// Upper bound of /burn?ms=.
    #[arg(long, env = "DEMO_BURN_MAX_MS", default_value_t = 2_000)]
    pub burn_max_ms: u64,

    /// Log level of the service's own lines (error, warn, info, debug, trace).
    #[arg(long, env = "DEMO_LOG_LEVEL", default_value = "info", value_parser = parse_level)]
    pub log_level: tracing::Level,

    /// Log level of the tracer's own diagnostics (off, error, warn, info, debug), as Datadog's tracers read it.
    #[arg(long = "dd-log-level", env = "DD_LOG_LEVEL", default_value = "warn", value_parser = parse_level_filter)]
    pub tracer_log_level: tracing_subscriber::filter::LevelFilter,

    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT.
    #[arg(long, env = "DEMO_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30)]
    pub shutdown_timeout_secs: u64,

    /// Base URL of the inventory service that /slow and /error call.
    #[arg(long, env = "INVENTORY_URL", default_value = "http://127.0.0.1:8081", value_parser = parse_http_url)]
    pub inventory_url: String,

    /// Milliseconds a call to inventory may take (on top of the sleep /slow?ms= asks for)
    /// before demo-service gives up and answers 504.
    #[arg(long, env = "INVENTORY_TIMEOUT_MS", default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub inventory_timeout_ms: u64,
}

/// inventory's defaults for the options it shares with demo-service.
const INVENTORY_DEFAULTS: [(&str, &str); 2] =
    [("listen", "0.0.0.0:8081"), ("service", "inventory")];

impl Cli {
    /// The command line with inventory's own defaults on its shared options, so that
    /// `demo-service inventory` needs no DD_SERVICE or DEMO_LISTEN and `--help` says so.
    pub fn command_with_defaults() -> clap::Command {
        Self::command().mut_subcommand("inventory", |sub| {
            INVENTORY_DEFAULTS.iter().fold(sub, |sub, (id, value)| {
                sub.mut_arg(*id, |a| a.default_value(*value))
            })
        })
    }

    pub fn try_parse_with_defaults<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::FromArgMatches as _;
        let mut matches = Self::command_with_defaults().try_get_matches_from(args)?;
        Self::from_arg_matches_mut(&mut matches)
    }

    /// Parses the command line and the environment; on a bad value, exits 2 with clap's
    /// message and, when the value came from a variable, the variable's name: clap's own
    /// message names only the flag, and in a container the flag is never what was set.
    pub fn parse_or_exit() -> Self {
        match Self::try_parse_with_defaults(std::env::args_os()) {
            Ok(cli) => cli,
            Err(err) => {
                let origin = variable_behind(&err);
                let _ = err.print();
                if let Some((var, value)) = origin {
                    eprintln!(
                        "note: the value {value:?} was read from the environment variable {var}"
                    );
                }
                std::process::exit(err.exit_code());
            }
        }
    }
}

/// The environment variable (and its value) behind an invalid-value error, if any.
fn variable_behind(err: &clap::Error) -> Option<(String, String)> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let Some(ContextValue::String(arg)) = err.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.split_whitespace().next()?.trim_start_matches("--");
    let cmd = Cli::command_with_defaults();
    let mut commands = vec![&cmd];
    commands.extend(cmd.get_subcommands());
    let env = commands
        .iter()
        .flat_map(|c| c.get_arguments())
        .find(|a| a.get_long() == Some(long))?
        .get_env()?
        .to_string_lossy()
        .into_owned();
    let value = std::env::var(&env).ok()?;
    Some((env, value))
}

impl ServeConfig {
    /// Where traces go, as Datadog's tracers resolve it: the URL if given, else host and port.
    pub fn trace_agent_url(&self) -> String {
        match &self.trace_agent_url {
            Some(url) => url.clone(),
            None => format!(
                "http://{}:{}",
                bracket_ipv6(&self.agent_host),
                self.trace_agent_port
            ),
        }
    }

    pub fn runtime_metrics_interval(&self) -> Duration {
        Duration::from_secs(self.runtime_metrics_interval_secs)
    }

    /// service, env, version, then DD_TAGS, as `key:value` strings.
    pub fn unified_tags(&self) -> Vec<(String, String)> {
        let mut tags = vec![
            ("service".to_owned(), self.service.clone()),
            ("env".to_owned(), self.env.clone()),
            ("version".to_owned(), self.version.clone()),
        ];
        tags.extend(self.tags.0.iter().cloned());
        tags
    }
}

fn bracket_ipv6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// Tags from DD_TAGS, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DdTags(pub Vec<(String, String)>);

/// DD_TAGS as Datadog's tracers read it: `k:v` pairs separated by commas or spaces; a tag
/// without a colon is refused here (tracers drop it silently, which hides typos).
fn parse_dd_tags(raw: &str) -> Result<DdTags, String> {
    let mut tags = Vec::new();
    for item in raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        match item.split_once(':') {
            Some((k, v)) if !k.is_empty() => tags.push((k.to_owned(), v.to_owned())),
            _ => return Err(format!("tag {item:?} is not key:value")),
        }
    }
    Ok(DdTags(tags))
}

/// Booleans as Datadog's tracers accept them.
fn parse_dd_bool(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(format!(
            "{other:?} is not a boolean (true/false, 1/0, yes/no, on/off)"
        )),
    }
}

fn parse_http_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.starts_with("http://") || raw.starts_with("https://") {
        Ok(raw.trim_end_matches('/').to_owned())
    } else {
        Err(format!("{raw:?} is not an http:// or https:// URL"))
    }
}

fn parse_agent_url(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if raw.starts_with("http://") || raw.starts_with("https://") || raw.starts_with("unix://") {
        Ok(raw.trim_end_matches('/').to_owned())
    } else {
        Err(format!(
            "{raw:?} is not an http://, https:// or unix:// URL"
        ))
    }
}

fn parse_level(raw: &str) -> Result<tracing::Level, String> {
    raw.parse::<tracing::Level>()
        .map_err(|_| format!("{raw:?} is not one of error, warn, info, debug, trace"))
}

fn parse_level_filter(raw: &str) -> Result<tracing_subscriber::filter::LevelFilter, String> {
    raw.parse::<tracing_subscriber::filter::LevelFilter>()
        .map_err(|_| format!("{raw:?} is not one of off, error, warn, info, debug"))
}

/// An inclusive range of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MsRange {
    pub min: u64,
    pub max: u64,
}

fn parse_range(raw: &str) -> Result<MsRange, String> {
    let (a, b) = raw
        .split_once('-')
        .ok_or_else(|| format!("{raw:?} is not MIN-MAX"))?;
    let min = a.trim().parse::<u64>().map_err(|e| format!("{a:?}: {e}"))?;
    let max = b.trim().parse::<u64>().map_err(|e| format!("{b:?}: {e}"))?;
    if min > max {
        return Err(format!("{min} is more than {max}"));
    }
    Ok(MsRange { min, max })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_with_defaults(std::iter::once("demo-service").chain(args.iter().copied()))
    }

    #[test]
    fn dd_tags_accept_commas_and_spaces() {
        assert_eq!(
            parse_dd_tags("team:lab, region:eu  tier:1").unwrap(),
            DdTags(vec![
                ("team".into(), "lab".into()),
                ("region".into(), "eu".into()),
                ("tier".into(), "1".into())
            ])
        );
        assert!(parse_dd_tags("nocolon").is_err());
    }

    #[test]
    fn agent_url_wins_over_host_and_port() {
        let cli = parse(&[
            "--agent-host",
            "agent",
            "--trace-agent-url",
            "http://other:9/",
        ])
        .unwrap();
        assert_eq!(cli.serve.trace_agent_url(), "http://other:9");
        let cli = parse(&["--agent-host", "::1", "--trace-agent-port", "8127"]).unwrap();
        assert_eq!(cli.serve.trace_agent_url(), "http://[::1]:8127");
    }

    #[test]
    fn bad_values_are_refused() {
        assert!(parse(&["--trace-agent-port", "eighty"]).is_err());
        assert!(parse(&["--trace-enabled", "maybe"]).is_err());
        assert!(parse(&["--slow-range-ms", "900-100"]).is_err());
        assert!(parse(&["--trace-agent-url", "agent:8126"]).is_err());
    }

    #[test]
    fn inventory_has_its_own_defaults_and_a_checked_database_url() {
        let cli = parse(&["inventory"]).unwrap();
        let Some(Command::Inventory(inv)) = cli.command else {
            panic!("not the inventory subcommand");
        };
        assert_eq!(inv.serve.service, "inventory");
        assert_eq!(inv.serve.listen.port(), 8081);
        assert_eq!(inv.db.database_url.get_dbname(), Some("inventory"));
        assert_eq!(parse(&[]).unwrap().serve.service, "demo-service");
        assert!(parse(&["inventory", "--database-url", "host=db"]).is_err());
        assert!(parse(&["inventory", "--database-url", "postgres://db:notaport/x"]).is_err());
        assert!(parse(&["--inventory-url", "inventory:8081"]).is_err());
    }

    #[test]
    fn healthcheck_is_a_subcommand() {
        let cli = parse(&["healthcheck", "--url", "http://127.0.0.1:1/healthz"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Healthcheck(_))));
    }
}
