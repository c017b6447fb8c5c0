//! loadgen as a library: the binary (`main.rs`) is its command line, and the fuzz targets
//! (`fuzz/` at the repository's root) read scenario files with the same functions as
//! `loadgen validate` and `loadgen run`: [`scenario::parse::parse`], then [`describe`].

// The output macros are exported (hidden from the docs) for `main.rs`; the modules below see
// them because they are defined first.

/// `eprintln!` that does not panic when stderr is gone (a closed pipe): the run goes on and
/// still stops and cleans up at its end.
#[macro_export]
#[doc(hidden)]
macro_rules! elog {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// `println!` that does not panic on a closed stdout.
#[macro_export]
#[doc(hidden)]
macro_rules! olog {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

/// `print!` that does not panic on a closed stdout.
#[macro_export]
#[doc(hidden)]
macro_rules! oprint {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($t)*);
    }};
}

pub mod agent;
pub mod budget;
pub mod chaos;
pub mod cli;
pub mod expect;
pub mod junit;
pub mod plan;
pub mod progress;
pub mod report;
pub mod run;
pub mod scenario;
pub mod stats;
pub mod traffic;

use scenario::{duration, Load, Scenario};

/// `loadgen validate`: the timeline as it would run.
pub fn describe(s: &Scenario) -> String {
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
        if let Some(l) = &p.db_lock {
            out.push_str(&format!(
                "; database lock on {} ({}) at {} for {}",
                l.table,
                l.mode.sql().to_lowercase(),
                l.at,
                l.duration
            ));
        }
        out.push('\n');
    }
    let mut expects: Vec<(usize, String)> = s
        .expectations
        .iter()
        .map(|e| (e.line, s.describe(e, None)))
        .chain(
            s.budgets
                .iter()
                .map(|b| (b.line, s.describe_budget(b, None, None))),
        )
        .collect();
    expects.sort();
    for (line, text) in expects {
        out.push_str(&format!("  expect (line {line}): {text}\n"));
    }
    out
}
