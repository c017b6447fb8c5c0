//! Scenario files: what parses, and what is refused with the file, line and field named.

use std::time::Duration;

use super::parse::{parse, ScenarioError};
use super::{ContainerVerb, Load, MonitorRef, MonitorState, When};

fn refused(text: &str) -> ScenarioError {
    match parse("lab.toml", text) {
        Ok(s) => panic!("accepted: {s:?}"),
        Err(e) => e,
    }
}

const HEAD: &str = "name = \"t\"\n[traffic]\nrate = 10\n";

#[test]
fn a_full_scenario_parses() {
    let s = parse(
        "lab.toml",
        r#"
name = "full"
description = "everything"
users = 40
hatch_rate = 8
trace_headers = true
timeout = "10s"

[traffic]
rate = 20
mix = { "/" = 90, "/slow" = 8, "/error" = 2 }
slow_ms = 700

[[phase]]
name = "calm"
duration = "1m"

[[phase]]
name = "closed"
duration = "30s"
traffic = { users = 5 }
cpu_spike = { percent = 80, cores = 1, at = "5s", duration = "20s", ramp = "5s", burn_ms = 150, local = true }
latency_burst = { share = 0.2, ms = 1500 }
error_burst = { share = 0.1 }
container = [{ action = "crash", service = "demo-service", at = "10s", down_for = "5s" }]
agent_outage = { at = "1s", duration = "10s" }

[[expect]]
monitor = 42
group = "host:lab"
state = "no data"
phase = "closed"
within = "45s"

[[expect]]
monitor = "CPU"
never = true
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.users, Some(40));
    assert!(s.trace_headers);
    assert_eq!(s.timeout, Duration::from_secs(10));
    assert_eq!(s.phases[0].traffic.load, Load::Rate(20.0));
    assert_eq!(s.phases[0].traffic.slow_ms, Some(700));
    assert_eq!(s.phases[1].traffic.load, Load::Users(5));
    assert_eq!(s.phases[1].traffic.mix.slow, 8, "the default mix is kept");
    let c = s.phases[1].cpu_spike.expect("a spike");
    assert!(c.local && c.percent.0 == 80.0 && c.burn_ms.0 == 150);
    assert_eq!(s.phases[1].containers[0].action, ContainerVerb::Crash);
    assert_eq!(
        s.phases[1]
            .agent_outage
            .as_ref()
            .map(|o| o.service.as_str()),
        Some("agent-lite")
    );
    assert_eq!(s.expectations[0].monitor, MonitorRef::Id(42));
    assert_eq!(s.expectations[0].state, MonitorState::NoData);
    assert_eq!(
        s.expectations[0].when,
        When::Within {
            phase: 1,
            within: Duration::from_secs(45)
        }
    );
    assert_eq!(s.expectations[1].state, MonitorState::Alert, "the default");
    assert_eq!(s.expectations[1].when, When::Never);
    assert_eq!(s.total(), Some(Duration::from_secs(90)));
    assert!(s.needs_docker());
}

#[test]
fn a_type_error_names_line_column_and_field() {
    let e = refused(
        "name = \"t\"\n[traffic]\nrate = \"fast\"\n[[phase]]\nname = \"a\"\nduration = \"1s\"\n",
    );
    assert_eq!(
        (e.file.as_str(), e.line, e.column),
        ("lab.toml", Some(3), Some(8))
    );
    assert_eq!(e.field.as_deref(), Some("traffic.rate"));
    assert!(e.message.contains("expected a number"), "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with("scenario lab.toml, line 3, column 8, field `traffic.rate`:"),
        "{shown}"
    );
    assert!(shown.ends_with("    3 | rate = \"fast\""), "{shown}");
}

#[test]
fn an_unknown_key_is_refused_with_the_known_ones() {
    let e = refused(&format!(
        "{HEAD}[[phase]]\nname = \"a\"\nduraton = \"1s\"\n"
    ));
    assert_eq!(e.line, Some(6));
    assert_eq!(e.field.as_deref(), Some("phase[0].duraton"));
    assert!(
        e.message
            .contains("unknown field `duraton`, expected one of `name`, `duration`"),
        "{e}"
    );
}

#[test]
fn values_out_of_range_name_their_field() {
    let cases = [
        (
            "error_burst = { share = 1.5 }",
            "phase[0].error_burst.share",
            "a share from 0 to 1",
        ),
        (
            "cpu_spike = { percent = 0 }",
            "phase[0].cpu_spike.percent",
            "a percent above 0",
        ),
        (
            "cpu_spike = { percent = 50, burn_ms = 5000 }",
            "phase[0].cpu_spike.burn_ms",
            "from 1 to 2000 ms",
        ),
        (
            "latency_burst = { share = 0.5, ms = 0 }",
            "phase[0].latency_burst.ms",
            "from 1 to 10000 ms",
        ),
        (
            "traffic = { rate = -1 }",
            "phase[0].traffic.rate",
            "requests per second above 0",
        ),
        (
            "container = [{ action = \"explode\", service = \"x\" }]",
            "phase[0].container[0].action",
            "unknown variant `explode`",
        ),
        (
            "agent_outage = { duration = \"soon\" }",
            "phase[0].agent_outage.duration",
            "\"soon\" is not a duration",
        ),
    ];
    for (line, field, message) in cases {
        let e = refused(&format!(
            "{HEAD}[[phase]]\nname = \"a\"\nduration = \"30s\"\n{line}\n"
        ));
        assert_eq!(e.line, Some(7), "{line}: {e}");
        assert_eq!(e.field.as_deref(), Some(field), "{line}: {e}");
        assert!(e.message.contains(message), "{line}: {e}");
    }
}

#[test]
fn checks_across_fields_point_at_their_table() {
    let phase = |extra: &str| format!("{HEAD}[[phase]]\nname = \"a\"\nduration = \"30s\"\n{extra}");
    let cases = [
        (phase("traffic = { rate = 5, users = 3 }\n"), 7, "phase[0].traffic", "not both"),
        (phase("error_burst = { share = 0.6 }\nlatency_burst = { share = 0.6 }\n"), 4, "phase[0].error_burst", "add up to 1.2"),
        (phase("cpu_spike = { percent = 50, at = \"20s\", duration = \"20s\" }\n"), 7, "phase[0].cpu_spike", "does not fit"),
        (phase("container = [{ action = \"kill\", service = \"x\", at = \"40s\" }]\n"), 7, "phase[0].container[0].at", "past the end"),
        (
            format!("{HEAD}[[phase]]\nname = \"a\"\nduration = \"forever\"\n[[phase]]\nname = \"b\"\nduration = \"1s\"\n"),
            4,
            "phase[0].duration",
            "only the last phase",
        ),
        (
            format!("{HEAD}[[phase]]\nname = \"a\"\nduration = \"1s\"\n[[phase]]\nname = \"a\"\nduration = \"1s\"\n"),
            7,
            "phase[1].name",
            "two phases are named \"a\"",
        ),
        (
            format!("{HEAD}[[phase]]\nname = \"a\"\nduration = \"1s\"\n\n[[expect]]\nmonitor = \"m\"\nphase = \"b\"\nwithin = \"5s\"\n"),
            8,
            "expect[0].phase",
            "no phase is named \"b\" (phases: a)",
        ),
        (
            format!("{HEAD}[[phase]]\nname = \"a\"\nduration = \"1s\"\n\n[[expect]]\nmonitor = \"m\"\nphase = \"a\"\n"),
            8,
            "expect[0].within",
            "`phase` needs `within`",
        ),
        (
            format!("{HEAD}[[phase]]\nname = \"a\"\nduration = \"1s\"\n\n[[expect]]\nmonitor = \"m\"\nnever = true\nphase = \"a\"\n"),
            8,
            "expect[0].never",
            "leave out `phase` and `within`",
        ),
        (
            format!("{HEAD}[[phase]]\nname = \"a\"\nduration = \"1s\"\n\n[[expect]]\nmonitor = \"m\"\nstate = \"Fired\"\nnever = true\n"),
            10,
            "expect[0].state",
            "unknown state \"Fired\"",
        ),
    ];
    for (text, line, field, message) in cases {
        let e = refused(&text);
        assert_eq!(e.line, Some(line), "{field}: {e}");
        assert_eq!(e.field.as_deref(), Some(field), "{e}");
        assert!(e.message.contains(message), "{e}");
    }
}

#[test]
fn a_scenario_without_traffic_or_phases_is_refused() {
    let e = refused("name = \"t\"\n[[phase]]\nname = \"a\"\nduration = \"1s\"\n");
    assert_eq!(e.field.as_deref(), Some("phase[0].traffic"));
    assert!(e.message.contains("no traffic"), "{e}");
    let e = refused("name = \"t\"\n");
    assert!(e.message.contains("missing field `phase`"), "{e}");
    let e = refused("name = \"t\"\n[traffic\n");
    assert_eq!(e.line, Some(2));
    assert!(e.field.is_none());
}

#[test]
fn a_database_lock_parses_with_its_mode_and_is_checked_against_its_phase() {
    let s = parse(
        "lab.toml",
        &format!(
            "{HEAD}[[phase]]\nname = \"db\"\nduration = \"30s\"\ndb_lock = {{ table = \"public.stock\", at = \"5s\", duration = \"20s\" }}\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let l = s.phases[0].db_lock.clone().expect("the lock");
    assert_eq!(l.table, "public.stock");
    assert_eq!(l.mode, super::LockMode::AccessExclusive, "the default");
    assert_eq!(l.duration.0, Duration::from_secs(20));

    let e = refused(&format!(
        "{HEAD}[[phase]]\nname = \"db\"\nduration = \"30s\"\ndb_lock = {{ table = \"stock; DROP TABLE stock\", duration = \"5s\" }}\n"
    ));
    assert_eq!(e.field.as_deref(), Some("phase[0].db_lock.table"), "{e}");
    assert_eq!(e.line, Some(7), "{e}");

    let e = refused(&format!(
        "{HEAD}[[phase]]\nname = \"db\"\nduration = \"30s\"\ndb_lock = {{ table = \"stock\", at = \"40s\", duration = \"5s\" }}\n"
    ));
    assert_eq!(e.field.as_deref(), Some("phase[0].db_lock.at"), "{e}");
    assert!(e.message.contains("past the end"), "{e}");

    let e = refused(&format!(
        "{HEAD}[[phase]]\nname = \"db\"\nduration = \"30s\"\ndb_lock = {{ table = \"stock\", mode = \"share\", duration = \"5s\" }}\n"
    ));
    assert!(
        e.field.as_deref().is_some_and(|f| f.contains("db_lock")),
        "{e}"
    );
}

#[test]
fn an_slo_budget_expectation_parses_beside_monitor_ones() {
    let s = parse(
        "lab.toml",
        &format!(
            r#"{HEAD}
[[phase]]
name = "calm"
duration = "30s"
[[phase]]
name = "burst"
duration = "20s"
error_burst = {{ share = 0.3 }}

[[expect]]
monitor = "errors"
phase = "burst"
within = "20s"

[[expect]]
slo = "demo-service-availability"
after = "burst"
budget_below = 0

[[expect]]
slo = "demo-service availability"
since = "burst"
after = "burst"
timeframe = "30d"
budget_above = -100
budget_below = 50
"#
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.expectations.len(), 1);
    assert_eq!(s.budgets.len(), 2);
    let b = &s.budgets[0];
    assert_eq!(b.slo.0, "demo-service-availability");
    assert_eq!((b.since, b.after, b.timeframe.as_deref()), (None, 1, None));
    assert_eq!((b.below, b.above), (Some(0.0), None));
    assert_eq!(b.line, 18, "the line of its [[expect]]");
    let b = &s.budgets[1];
    assert_eq!(
        (b.since, b.after, b.timeframe.as_deref()),
        (Some(1), 1, Some("30d"))
    );
    assert!(b.holds(0.0) && !b.holds(50.0) && !b.holds(-100.0));
    assert_eq!(
        s.describe_budget(b, Some("demo-service availability"), Some("30d")),
        "SLO \"demo-service availability\" has between -100% and 50% of its 30d error budget left at the end of phase 'burst' (counted from phase 'burst')"
    );
    assert_eq!(
        s.describe_budget(&s.budgets[0], Some("demo-service availability"), Some("7d")),
        "SLO \"demo-service-availability\" (demo-service availability) has under 0% of its 7d error budget left at the end of phase 'burst' (counted from the run's start)"
    );
}

#[test]
fn slo_budget_expectations_are_refused_with_their_field() {
    let file = |expect: &str| {
        format!(
            "{HEAD}[[phase]]\nname = \"a\"\nduration = \"30s\"\n[[phase]]\nname = \"b\"\nduration = \"forever\"\n\n[[expect]]\n{expect}\n"
        )
    };
    let cases = [
        (
            "monitor = \"m\"\nslo = \"s\"\nnever = true",
            "expect[0]",
            "not both",
        ),
        ("state = \"Alert\"", "expect[0]", "name a `monitor`"),
        (
            "slo = \"s\"\nbudget_below = 0",
            "expect[0].after",
            "say when: `after",
        ),
        (
            "slo = \"s\"\nafter = \"c\"\nbudget_below = 0",
            "expect[0].after",
            "no phase is named \"c\" (phases: a, b)",
        ),
        (
            "slo = \"s\"\nafter = \"b\"\nbudget_below = 0",
            "expect[0].after",
            "lasts forever",
        ),
        (
            "slo = \"s\"\nafter = \"a\"\nsince = \"b\"\nbudget_below = 0",
            "expect[0].since",
            "starts after the end of phase \"a\"",
        ),
        (
            "slo = \"s\"\nafter = \"a\"",
            "expect[0].budget_below",
            "give `budget_below` or `budget_above`",
        ),
        (
            "slo = \"s\"\nafter = \"a\"\nbudget_above = 100",
            "expect[0].budget_above",
            "can never be passed",
        ),
        (
            "slo = \"s\"\nafter = \"a\"\nbudget_above = 50\nbudget_below = 10",
            "expect[0].budget_above",
            "no value is over 50 and under 10",
        ),
        (
            "slo = \"s\"\nafter = \"a\"\ntimeframe = \"1d\"\nbudget_below = 0",
            "expect[0].timeframe",
            "7d, 30d or 90d",
        ),
        (
            "slo = \"s\"\nafter = \"a\"\nstate = \"Alert\"\nbudget_below = 0",
            "expect[0].state",
            "`state` is for a monitor",
        ),
        (
            "slo = \" \"\nafter = \"a\"\nbudget_below = 0",
            "expect[0].slo",
            "name the SLO",
        ),
        (
            "monitor = \"m\"\nphase = \"a\"\nwithin = \"5s\"\nbudget_below = 3",
            "expect[0].budget_below",
            "is for an SLO's error budget",
        ),
    ];
    for (expect, field, message) in cases {
        let e = refused(&file(expect));
        assert_eq!(e.line, Some(11), "{expect}: {e}");
        assert_eq!(e.field.as_deref(), Some(field), "{expect}: {e}");
        assert!(e.message.contains(message), "{expect}: {e}");
    }
}
