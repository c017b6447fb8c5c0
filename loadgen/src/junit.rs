//! The expectations as JUnit XML, the report CI systems show: one test case per expectation,
//! a failure carrying what the monitor did instead.

use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::expect::{Judged, Subject, Verdict};

pub fn render(scenario: &str, judged: &[Judged], took: Duration) -> anyhow::Result<String> {
    let mut suite = TestSuite::new(format!("loadgen {scenario}"));
    suite.set_time(took);
    for j in judged {
        let status = match &j.verdict {
            Verdict::Passed { .. } => TestCaseStatus::success(),
            Verdict::Skipped { why } => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(why.as_str());
                s
            }
            Verdict::Failed { why } => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(why.as_str());
                s.set_type("expectation failed");
                s.set_description(observed_text(j));
                s
            }
            Verdict::Pending => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message("undecided when the run ended");
                s.set_description(observed_text(j));
                s
            }
        };
        let mut case = TestCase::new(j.expectation.as_str(), status);
        case.set_classname(format!("loadgen.{scenario}"));
        case.set_system_out(observed_text(j));
        suite.add_test_case(case);
    }
    let mut report = Report::new("loadgen");
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| anyhow::anyhow!("cannot write JUnit XML: {e}"))
}

fn observed_text(j: &Judged) -> String {
    let mut s = format!("{}\n", j.subject);
    if j.observed.is_empty() {
        s.push_str(match j.subject {
            Subject::Monitor { .. } => "no transition during the run\n",
            Subject::Slo { .. } => "its budget was not read\n",
        });
    }
    for o in &j.observed {
        s.push_str(o);
        s.push('\n');
    }
    s
}

pub fn write(path: &Path, scenario: &str, judged: &[Judged], took: Duration) -> anyhow::Result<()> {
    let xml = render(scenario, judged, took)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, xml).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_expectation_is_a_failure_element() {
        let judged = vec![
            Judged {
                expectation: "\"errors\" is Alert within 45s of the start of phase 'burst'".into(),
                line: 3,
                subject: Subject::Monitor {
                    monitor_id: 7,
                    monitor_name: "errors".into(),
                },
                verdict: Verdict::Passed { at: Some(1.0) },
                observed: vec!["OK -> Alert at +12s into 'burst' (group *)".into()],
            },
            Judged {
                expectation: "\"latency\" is never Alert".into(),
                line: 9,
                subject: Subject::Monitor {
                    monitor_id: 8,
                    monitor_name: "latency".into(),
                },
                verdict: Verdict::Failed {
                    why: "Alert at +3s into 'burst'".into(),
                },
                observed: vec![],
            },
            Judged {
                expectation: "SLO \"avail\" has under 0% of its 7d error budget left at the end of phase 'burst' (counted from the run's start)".into(),
                line: 12,
                subject: Subject::Slo {
                    slo_id: "avail".into(),
                    slo_name: "availability".into(),
                },
                verdict: Verdict::Failed {
                    why: "41.0% of the 7d error budget was left, not under 0%".into(),
                },
                observed: vec!["7d error budget left 41.0% (target 98%, SLI 99.18%: 592 good of 597 events) from the run's start (+0s into 'calm') to the end of 'burst'".into()],
            },
        ];
        let xml = render("t", &judged, Duration::from_secs(5)).unwrap();
        assert!(xml.contains("tests=\"3\""), "{xml}");
        assert!(xml.contains("failures=\"2\""), "{xml}");
        assert!(
            xml.contains(
                "<failure message=\"41.0% of the 7d error budget was left, not under 0%\""
            ),
            "{xml}"
        );
        assert!(xml.contains("SLO availability (id avail)"), "{xml}");
        assert!(
            xml.contains("<failure message=\"Alert at +3s into &apos;burst&apos;\""),
            "{xml}"
        );
    }
}
