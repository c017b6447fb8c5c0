//! `agent-lite lab-check N`: the bootcamp workbook's checks (docs/bootcamp/). Each exercise
//! ends with one command the student runs; it inspects the running lab through agent-lite's
//! API only (what the student made: a dashboard by its title, a monitor or an SLO by its name;
//! what the lab shows: traces, logs, events, metrics, profiles), never a file of answers, and
//! says pass, or what is missing.
//!
//! Exit codes: 0 pass, 1 something missing, 2 the lab could not be asked (agent-lite does not
//! answer, or answers something else than its API).

mod client;
mod dashboard;
mod ex01_agent_status;
mod ex02_host_dashboard;
mod ex03_cpu_monitor;
mod ex04_containers;
mod ex05_apm;
mod ex06_logs_and_traces;
mod ex07_runtime_metrics;
mod ex08_distributed_tracing;
mod ex09_profiling;
mod ex10_slo;
mod ex11_alerts_as_tests;
pub mod lang;
mod monitor;
mod report;

use std::process::ExitCode;

use clap::Args;

use client::{ApiError, LabApi};
use lang::{tr, Lang};
use report::Report;

/// The last exercise of the workbook.
pub const EXERCISES: u8 = 11;

#[derive(Debug, Clone, Args)]
pub struct LabCheckConfig {
    /// The exercise to check, 1 to 11 (docs/bootcamp/).
    #[arg(value_parser = clap::value_parser!(u8).range(1..=i64::from(EXERCISES)))]
    pub exercise: u8,
    /// The lab's agent-lite API.
    #[arg(long, env = "AGENT_LITE_URL", default_value = "http://127.0.0.1:5002")]
    pub url: String,
    /// The language of the verdict: en, or fr (the bootcamp's).
    #[arg(long, value_enum, env = "LAB_CHECK_LANG", default_value = "en")]
    pub lang: Lang,
    /// Exercise 6: the trace you followed from its error log line (the line's dd.trace_id).
    #[arg(long, value_name = "ID")]
    pub trace_id: Option<String>,
    /// Exercise 9: the function you found hottest in demo-service's CPU profile.
    #[arg(long, value_name = "NAME")]
    pub function: Option<String>,
}

/// What every check is handed: the API, the language, and the answers a student gives on
/// the command line.
pub struct Ctx {
    pub api: LabApi,
    pub lang: Lang,
    pub trace_id: Option<String>,
    pub function: Option<String>,
}

/// Runs the check of one exercise and prints its verdict (stdout) or why the lab could not be
/// asked (stderr).
pub async fn run(cfg: LabCheckConfig) -> ExitCode {
    let lang = cfg.lang;
    let outcome = match LabApi::new(&cfg.url) {
        Ok(api) => {
            let ctx = Ctx {
                api,
                lang,
                trace_id: cfg.trace_id,
                function: cfg.function,
            };
            check(cfg.exercise, &ctx).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(report) => {
            let (title, verifies) = describe(cfg.exercise, lang);
            print!("{}", report.render(cfg.exercise, &title, &verifies, lang));
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(ApiError::Unreachable { url, reason }) => {
            eprintln!(
                "{}",
                tr!(
                    lang,
                    "lab-check: cannot reach the lab: agent-lite does not answer at {url} ({reason}). Is the lab up (`docker compose up`)? Elsewhere, pass --url.",
                    "lab-check : le lab ne répond pas : agent-lite ne répond pas à {url} ({reason}). Le lab est-il lancé (`docker compose up`) ? Sinon, donnez --url."
                )
            );
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!(
                "{}",
                tr!(
                    lang,
                    "lab-check: cannot check: {e}",
                    "lab-check : contrôle impossible : {e}"
                )
            );
            ExitCode::from(2)
        }
    }
}

async fn check(exercise: u8, ctx: &Ctx) -> Result<Report, ApiError> {
    // Asked first, so that a lab that is down is said once, plainly, whatever the exercise.
    let status = ctx.api.status().await?;
    let mut report = Report::default();
    match exercise {
        1 => ex01_agent_status::check(ctx, &status, &mut report).await?,
        2 => ex02_host_dashboard::check(ctx, &mut report).await?,
        3 => ex03_cpu_monitor::check(ctx, &mut report).await?,
        4 => ex04_containers::check(ctx, &mut report).await?,
        5 => ex05_apm::check(ctx, &mut report).await?,
        6 => ex06_logs_and_traces::check(ctx, &mut report).await?,
        7 => ex07_runtime_metrics::check(ctx, &mut report).await?,
        8 => ex08_distributed_tracing::check(ctx, &mut report).await?,
        9 => ex09_profiling::check(ctx, &mut report).await?,
        10 => ex10_slo::check(ctx, &mut report).await?,
        _ => ex11_alerts_as_tests::check(ctx, &mut report).await?,
    }
    Ok(report)
}

/// The exercise's title and the plain statement of what its check verifies.
fn describe(exercise: u8, lang: Lang) -> (String, String) {
    match exercise {
        1 => ex01_agent_status::describe(lang),
        2 => ex02_host_dashboard::describe(lang),
        3 => ex03_cpu_monitor::describe(lang),
        4 => ex04_containers::describe(lang),
        5 => ex05_apm::describe(lang),
        6 => ex06_logs_and_traces::describe(lang),
        7 => ex07_runtime_metrics::describe(lang),
        8 => ex08_distributed_tracing::describe(lang),
        9 => ex09_profiling::describe(lang),
        10 => ex10_slo::describe(lang),
        _ => ex11_alerts_as_tests::describe(lang),
    }
}
