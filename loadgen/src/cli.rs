//! loadgen's own command line. goose is used as a library and never sees the process's
//! arguments: its configuration is built in `traffic::goose_config`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Traffic and chaos on a timeline for the observability lab, with expectations on monitors",
    long_about = "Traffic and chaos on a timeline for the observability lab: calm traffic, CPU \
        spikes, error and latency bursts, container kills, agent outages, driven by goose \
        against the demo service. With --check, the expectations of a scenario are checked \
        against agent-lite's monitors and the exit code says whether they held.\n\n\
        Exit status: 0 when the run (and every expectation) passed, 1 when an expectation \
        failed or the run could not go on, 2 for a bad command line or scenario."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: a built-in name (see `loadgen scenarios`) or a TOML file.
    Run(RunArgs),
    /// List the built-in scenarios.
    Scenarios,
    /// Print a built-in scenario's TOML, to read or to start one's own from.
    Show {
        /// A built-in scenario's name.
        name: String,
    },
    /// Check a scenario file and print its timeline, without sending anything.
    Validate {
        /// A built-in name or a TOML file.
        scenario: String,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A built-in scenario's name or a TOML file.
    pub scenario: String,

    /// The demo service.
    #[arg(
        long,
        env = "LOADGEN_TARGET",
        default_value = "http://127.0.0.1:8080",
        value_parser = parse_url
    )]
    pub target: String,

    /// agent-lite's API, for --check.
    #[arg(
        long,
        env = "LOADGEN_AGENT",
        default_value = "http://127.0.0.1:5002",
        value_parser = parse_url
    )]
    pub agent: String,

    /// Check the scenario's expectations against agent-lite's monitors; exit 1 when one fails.
    #[arg(long)]
    pub check: bool,

    /// Write the expectations' results as JUnit XML (needs --check).
    #[arg(long, value_name = "PATH", requires = "check")]
    pub junit: Option<PathBuf>,

    /// Write goose's HTML report, loadgen's JSON report and a self-contained HTML summary here.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// Stop after this long (e.g. 90s, 5m), whatever the scenario says; ends `baseline`.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// Skip the Docker actions (container kill, agent outage) instead of refusing to start
    /// when the Docker API cannot be reached; their expectations are reported as skipped.
    #[arg(long)]
    pub skip_docker: bool,

    /// The compose project whose services the Docker actions act on, when several run.
    #[arg(long, env = "COMPOSE_PROJECT_NAME")]
    pub compose_project: Option<String>,

    /// The PostgreSQL the database slowdown (a phase's `db_lock`) takes its lock in, as a
    /// libpq URL (`postgres://user:password@host:5432/dbname`); without it, locks are skipped.
    #[arg(long, env = "LOADGEN_POSTGRES_URL", hide_env_values = true)]
    pub postgres: Option<String>,

    /// No live line on stderr (the summary is still printed).
    #[arg(long)]
    pub quiet: bool,
}

fn parse_url(s: &str) -> Result<String, String> {
    let trimmed = s.trim();
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"))
        .ok_or_else(|| format!("{s:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("{s:?} has no host"));
    }
    Ok(trimmed.trim_end_matches('/').to_owned())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let d = crate::scenario::duration::parse(s)?;
    if d.is_zero() {
        return Err("a duration above 0s".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn urls_are_checked_and_trimmed() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(parse_url("127.0.0.1:8080")
            .unwrap_err()
            .contains("not an http"));
        assert!(parse_url("http://").unwrap_err().contains("no host"));
    }

    #[test]
    fn junit_needs_check() {
        let err = Cli::try_parse_from(["loadgen", "run", "quick", "--junit", "x.xml"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--check"), "{err}");
    }
}
