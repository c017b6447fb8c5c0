//! loadgen playing a built-in scenario against the local lab, and when each of its phases
//! began, read from its live line (`[   42s] cpu spike   33s left | ...`, once a second on
//! stderr).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use lab_testkit::process::ChildProcess;

use crate::lab::Lab;

pub struct Scenario {
    proc: ChildProcess,
    /// Phase name -> the epoch second its first live line was seen.
    began: BTreeMap<String, i64>,
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Scenario {
    /// `loadgen run <name> --check`: without Docker (the lab runs as processes: the compose
    /// outage's phase is played as calm traffic and its expectations reported as skipped) and
    /// with inventory's PostgreSQL for the database slowdown. One worker thread, as on the
    /// lab's 2 cores: the other is the services'.
    pub fn start(lab: &Lab, loadgen: &Path, name: &str, report_dir: &Path) -> Self {
        let proc = ChildProcess::spawn(
            &loadgen.to_string_lossy(),
            &[
                "run",
                name,
                "--check",
                "--skip-docker",
                "--target",
                &lab.demo_url,
                "--agent",
                &lab.agent.api_url(""),
                "--postgres",
                &lab.inventory.database_url(),
                "--report-dir",
                &report_dir.to_string_lossy(),
            ],
            &[("LOADGEN_WORKERS", "1".into())],
        );
        Self {
            proc,
            began: BTreeMap::new(),
        }
    }

    /// Waits until `phase` has begun (a live line names it); the epoch second that line was
    /// first seen: call it while the phase before runs.
    pub fn wait_phase(&mut self, phase: &str, deadline: Duration) -> i64 {
        let named = format!("s] {phase} ");
        let end = std::time::Instant::now() + deadline;
        loop {
            if let Some(&t) = self.began.get(phase) {
                return t;
            }
            if self.proc.stderr_lines().iter().any(|l| l.contains(&named)) {
                self.began.insert(phase.to_owned(), now_secs());
                continue;
            }
            if let Some(status) = self.proc.exited() {
                panic!(
                    "loadgen ended ({status:?}) before phase {phase:?}; stderr:\n{}",
                    self.proc.stderr_lines().join("\n")
                );
            }
            assert!(
                std::time::Instant::now() < end,
                "phase {phase:?} not begun after {deadline:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits for the end of the run; loadgen's summary and verdicts (stdout), and whether
    /// every expectation passed.
    pub fn finish(mut self, deadline: Duration) -> (bool, String) {
        let status = self.proc.wait(deadline);
        (status.success(), self.proc.stdout_lines().join("\n"))
    }
}
