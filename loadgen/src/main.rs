//! loadgen: the lab's load generator. goose sends the traffic; loadgen adds the scenario's
//! timeline (phases, chaos), the open model, latency without coordinated omission, the live
//! line, reports, and expectations on agent-lite's monitors with an exit code for CI.

/// `eprintln!` that does not panic when stderr is gone (a closed pipe): the run goes on and
/// still stops and cleans up at its end.
macro_rules! elog {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// `println!` that does not panic on a closed stdout.
macro_rules! olog {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `print!` that does not panic on a closed stdout.
macro_rules! oprint {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

mod agent;
mod chaos;
mod cli;
mod expect;
mod junit;
mod plan;
mod progress;
mod report;
mod run;
mod scenario;
mod stats;
mod traffic;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};
use scenario::{builtin, duration, Load, Scenario};

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

/// `loadgen validate`: the timeline as it would run.
fn describe(s: &Scenario) -> String {
    let plan = plan::Plan::new(s, None);
    let mut out = format!(
        "scenario '{}' ({}): {}\n{} phases, {}, a pool of {} users\n",
        s.name,
        s.source,
        s.description,
        s.phases.len(),
        s.total().map_or("until stopped".into(), |t| format!(
            "{} in all",
            duration::format(t)
        )),
        plan.pool
    );
    for (p, pp) in s.phases.iter().zip(&plan.phases) {
        let load = match p.traffic.load {
            Load::Rate(r) => format!("{r} req/s"),
            Load::Users(n) => format!("{n} users back to back"),
        };
        out.push_str(&format!(
            "  {:>7}  {:<16} {:>7}  {load}, mix / {} /slow {} /error {}",
            duration::format(std::time::Duration::from_secs_f64(pp.start)),
            p.name,
            p.duration.map_or("forever".into(), duration::format),
            p.traffic.mix.root,
            p.traffic.mix.slow,
            p.traffic.mix.error
        ));
        if let Some(b) = pp.burn {
            out.push_str(&format!(
                "; cpu spike: {:.1} /burn?ms={} a second",
                b.rate, pp.burn_ms
            ));
        }
        if let Some(b) = p.error_burst {
            out.push_str(&format!("; error burst {}", b.share.0));
        }
        if let Some(b) = p.latency_burst {
            out.push_str(&format!("; latency burst {}", b.share.0));
        }
        for c in &p.containers {
            out.push_str(&format!("; {:?} {} at {}", c.action, c.service, c.at).to_lowercase());
        }
        if let Some(o) = &p.agent_outage {
            out.push_str(&format!(
                "; agent outage ({}) for {}",
                o.service, o.duration
            ));
        }
        out.push('\n');
    }
    for e in &s.expectations {
        out.push_str(&format!(
            "  expect (line {}): {}\n",
            e.line,
            s.describe(e, None)
        ));
    }
    out
}
