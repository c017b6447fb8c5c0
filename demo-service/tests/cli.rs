//! The command line: bad configuration refused at start, the healthcheck subcommand, --help.

mod common;

use common::{Service, BIN};
use lab_testkit::process::ChildProcess;
use std::time::Duration;

fn run(args: &[&str], envs: &[(&str, String)]) -> (i32, String) {
    let mut p = ChildProcess::spawn(BIN, args, envs);
    let status = p.wait(Duration::from_secs(20));
    let mut text = p.stderr_lines().join("\n");
    text.push_str(&p.stdout_lines().join("\n"));
    (status.code().unwrap_or(-1), text)
}

#[test]
fn bad_configuration_is_refused_with_the_variable_named() {
    for (var, value) in [
        ("DD_TRACE_AGENT_PORT", "eighty"),
        ("DD_DOGSTATSD_PORT", "70000"),
        ("DD_TRACE_ENABLED", "maybe"),
        ("DD_LOGS_INJECTION", "sometimes"),
        ("DD_RUNTIME_METRICS_ENABLED", "2"),
        ("DD_LOG_LEVEL", "loud"),
        ("DD_TAGS", "nocolon"),
        ("DD_TRACE_AGENT_URL", "agent:8126"),
        ("DEMO_LISTEN", "not-an-address"),
    ] {
        let (code, text) = run(&[], &[(var, value.to_owned())]);
        assert_eq!(code, 2, "{var}={value}: {text}");
        assert!(
            text.contains(var),
            "{var}={value}: the message names the variable: {text}"
        );
        assert!(
            text.contains(value),
            "{var}={value}: the message shows the value: {text}"
        );
    }
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = busy.local_addr().expect("addr").to_string();
    let (code, text) = run(
        &[],
        &[
            ("DEMO_LISTEN", addr.clone()),
            ("DD_TRACE_ENABLED", "false".into()),
        ],
    );
    assert_eq!(code, 1, "{text}");
    assert!(text.contains(&format!("cannot listen on {addr}")), "{text}");
}

#[test]
fn help_lists_every_datadog_variable() {
    let (code, text) = run(&["--help"], &[]);
    assert_eq!(code, 0);
    for var in [
        "DD_SERVICE",
        "DD_ENV",
        "DD_VERSION",
        "DD_TAGS",
        "DD_AGENT_HOST",
        "DD_TRACE_AGENT_PORT",
        "DD_TRACE_AGENT_URL",
        "DD_DOGSTATSD_PORT",
        "DD_TRACE_ENABLED",
        "DD_LOGS_INJECTION",
        "DD_RUNTIME_METRICS_ENABLED",
        "DD_LOG_LEVEL",
        "DEMO_LISTEN",
        "DEMO_SLOW_RANGE_MS",
        "DEMO_CHAOS_ENABLED",
        "DEMO_BURN_MAX_MS",
    ] {
        assert!(text.contains(var), "--help lacks {var}");
    }
}

#[test]
fn healthcheck_subcommand_reports_the_service_state() {
    let svc = Service::start(&[("DD_TRACE_ENABLED", "false".into())]);
    let url = format!("{}/healthz", svc.base);
    let (code, _) = run(&["healthcheck", "--url", &url], &[]);
    assert_eq!(code, 0);
    svc.stop();
    let (code, text) = run(&["healthcheck", "--url", &url, "--timeout-ms", "500"], &[]);
    assert_eq!(code, 1);
    assert!(text.contains("is not healthy"), "{text}");
}
