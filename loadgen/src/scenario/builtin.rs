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
        assert!((180..=240).contains(&quick), "quick lasts {quick} s");
        let bootcamp = total("bootcamp").flatten().unwrap().as_secs();
        assert!(bootcamp > 15 * 60, "bootcamp lasts {bootcamp} s");
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
