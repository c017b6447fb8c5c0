//! The scenarios compiled into the binary, so `loadgen run quick` works from anywhere (a
//! container, CI) without the repository's files. `loadgen show NAME` prints the text as
//! written, comments included: the starting point for one's own scenario.

use super::parse::{self, ScenarioError};
use super::Scenario;

pub struct Builtin {
    pub name: &'static str,
    pub text: &'static str,
}

pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "baseline",
        text: include_str!("../../scenarios/baseline.toml"),
    },
    Builtin {
        name: "bootcamp",
        text: include_str!("../../scenarios/bootcamp.toml"),
    },
    Builtin {
        name: "quick",
        text: include_str!("../../scenarios/quick.toml"),
    },
];

pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

impl Builtin {
    pub fn parse(&self) -> Result<Scenario, ScenarioError> {
        parse::parse(&format!("built-in {}", self.name), self.text)
    }
}

pub fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{MonitorRef, MonitorState, When};

    #[test]
    fn every_builtin_parses_and_is_named_as_listed() {
        for b in BUILTINS {
            let s = b.parse().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.name, b.name);
            assert!(!s.description.is_empty(), "{} has a description", b.name);
        }
    }

    #[test]
    fn baseline_is_endless_and_the_others_end() {
        let total = |n: &str| find(n).map(|b| b.parse().unwrap().total());
        assert_eq!(total("baseline"), Some(None));
        let quick = total("quick").flatten().unwrap().as_secs();
        assert!((240..=360).contains(&quick), "quick lasts {quick} s");
        let bootcamp = total("bootcamp").flatten().unwrap().as_secs();
        assert!(bootcamp > 15 * 60, "bootcamp lasts {bootcamp} s");
    }

    #[test]
    fn quick_and_bootcamp_have_a_database_slowdown_and_a_dependency_outage() {
        for name in ["quick", "bootcamp"] {
            let s = find(name).unwrap().parse().unwrap();
            let slowdown = s.phases.iter().position(|p| p.db_lock.is_some());
            let outage = s.phases.iter().position(|p| {
                p.containers
                    .iter()
                    .any(|c| c.service == "postgres" && c.down_for.is_some())
            });
            let (Some(slowdown), Some(outage)) = (slowdown, outage) else {
                panic!("{name}: slowdown {slowdown:?}, outage {outage:?}");
            };
            // Each incident has monitors that fire during it and recover after it.
            for phase in [slowdown, outage] {
                let fired = s.expectations.iter().filter(|e| {
                    e.state == MonitorState::Alert
                        && matches!(e.when, When::Within { phase: p, .. } if p == phase)
                });
                assert!(fired.count() >= 2, "{name}: phase {phase} fires little");
                let after = s.expectations.iter().filter(|e| {
                    e.state == MonitorState::Ok
                        && matches!(e.when, When::Within { phase: p, .. } if p == phase + 1)
                });
                assert!(
                    after.count() >= 2,
                    "{name}: phase {} recovers little",
                    phase + 1
                );
            }
            assert!(
                s.budgets.iter().any(|b| b.below.is_some()),
                "{name} says an incident spends a budget"
            );
            assert!(
                s.budgets.iter().any(|b| b.above.is_some()),
                "{name} says calm traffic keeps one"
            );
        }
    }

    /// The names of the lab's monitors (compose/monitors) and the ids of its SLOs
    /// (compose/slos): what the built-in scenarios expect must exist there.
    fn lab_definitions(folder: &str, key: &str) -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../compose")
            .join(folder);
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|x| x == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                out.extend(v[key].as_str().map(str::to_owned));
            }
        }
        out
    }

    #[test]
    fn every_monitor_and_slo_the_builtins_expect_is_in_the_lab() {
        let monitors = lab_definitions("monitors", "name");
        let slos = lab_definitions("slos", "id");
        for b in BUILTINS {
            let s = b.parse().unwrap();
            for e in &s.expectations {
                if let MonitorRef::Name(n) = &e.monitor {
                    assert!(
                        monitors.contains(n),
                        "{}: no monitor {n:?} in compose/monitors",
                        b.name
                    );
                }
            }
            for e in &s.budgets {
                assert!(
                    slos.contains(&e.slo.0),
                    "{}: no SLO {:?} in compose/slos",
                    b.name,
                    e.slo.0
                );
            }
        }
    }

    #[test]
    fn bootcamp_cpu_spike_outlasts_the_seed_monitor_window() {
        // The seed's monitor: avg(last_5m) with require_full_window and a 15 s evaluation
        // delay, evaluated every 15 s: the spike must cover 5 min + 15 s + an evaluation.
        let s = find("bootcamp").unwrap().parse().unwrap();
        let spike = s.phases.iter().find(|p| p.cpu_spike.is_some()).unwrap();
        assert!(spike.duration.unwrap().as_secs() >= 5 * 60 + 15 + 15 + 30);
    }
}
