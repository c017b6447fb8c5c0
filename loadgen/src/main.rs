//! loadgen: the lab's load generator. goose sends the traffic; loadgen adds the scenario's
//! timeline (phases, chaos), the open model, latency without coordinated omission, the live
//! line, reports, and expectations on agent-lite's monitors with an exit code for CI.

use std::process::ExitCode;

use clap::Parser;

use loadgen::cli::{Cli, Command};
use loadgen::scenario::builtin;
use loadgen::{describe, elog, olog, oprint, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Scenarios => {
            for b in builtin::BUILTINS {
                match b.parse() {
                    Ok(s) => olog!("{:<10} {}", b.name, s.description),
                    Err(e) => olog!("{:<10} (does not parse: {e})", b.name),
                }
            }
            ExitCode::SUCCESS
        }
        Command::Show { name } => match builtin::find(&name) {
            Some(b) => {
                oprint!("{}", b.text);
                ExitCode::SUCCESS
            }
            None => {
                elog!(
                    "loadgen: no built-in scenario {name:?} (built-ins: {}); `loadgen scenarios` lists them",
                    builtin::names().join(", ")
                );
                ExitCode::from(2)
            }
        },
        Command::Validate { scenario } => match run::load(&scenario) {
            Ok(s) => {
                oprint!("{}", describe(&s));
                ExitCode::SUCCESS
            }
            Err(e) => {
                elog!("loadgen: {e}");
                ExitCode::from(2)
            }
        },
        Command::Run(args) => {
            let s = match run::load(&args.scenario) {
                Ok(s) => s,
                Err(e) => {
                    elog!("loadgen: {e}\nloadgen: nothing was sent");
                    return ExitCode::from(2);
                }
            };
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = std::env::var("LOADGEN_WORKERS")
                .ok()
                .and_then(|v| v.parse().ok())
            {
                builder.worker_threads(n);
            }
            let runtime = match builder.enable_all().build() {
                Ok(r) => r,
                Err(e) => {
                    elog!("loadgen: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(run::run(args, s)) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    elog!("loadgen: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
