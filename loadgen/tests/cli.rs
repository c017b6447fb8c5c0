//! loadgen's command line without a lab: the built-ins listed and printed, `show` output that
//! parses back to the same scenario, bad flags and bad files refused with what is wrong and
//! where, before anything is sent.

mod common;

use std::io::Write as _;
use std::net::TcpListener;
use std::process::Command;
use std::time::Duration;

use common::LOADGEN;

fn loadgen(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(LOADGEN)
        .args(args)
        .env_remove("LOADGEN_TARGET")
        .env_remove("LOADGEN_AGENT")
        .output()
        .expect("run loadgen");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn scenarios_lists_the_builtins_with_a_line_each() {
    let (code, out, _) = loadgen(&["scenarios"]);
    assert_eq!(code, Some(0));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, name) in lines.iter().zip(["baseline", "bootcamp", "quick"]) {
        assert!(line.starts_with(name), "{line}");
        assert!(line.len() > name.len() + 20, "a description: {line}");
    }
}

#[test]
fn show_prints_a_scenario_that_parses_back_to_the_same_plan() {
    for name in ["baseline", "bootcamp", "quick"] {
        let (code, text, err) = loadgen(&["show", name]);
        assert_eq!(code, Some(0), "{err}");
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join(format!("{name}.toml"));
        std::fs::write(&file, &text).expect("write");
        let (code, from_file, err) = loadgen(&["validate", &file.display().to_string()]);
        assert_eq!(code, Some(0), "{err}");
        let (_, builtin, _) = loadgen(&["validate", name]);
        // Same plan line for line; only the first line names where it came from.
        let body = |s: &str| s.lines().skip(1).map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(body(&from_file), body(&builtin), "{name}");
        assert!(from_file.contains(&file.display().to_string()));
    }
    let (code, _, err) = loadgen(&["show", "nope"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("baseline, bootcamp, quick"), "{err}");
}

#[test]
fn bad_flags_are_refused_with_what_is_wrong() {
    let cases: &[(&[&str], &str)] = &[
        (&["run", "quick", "--junit", "x.xml"], "--check"),
        (
            &["run", "quick", "--target", "localhost:8080"],
            "not an http:// or https:// URL",
        ),
        (&["run", "quick", "--duration", "soon"], "is not a duration"),
        (&["run", "quick", "--duration", "0s"], "a duration above 0s"),
        (
            &["run", "quick", "--rate", "5"],
            "unexpected argument '--rate'",
        ),
        (&["run"], "<SCENARIO>"),
        (&["fly"], "unrecognized subcommand 'fly'"),
    ];
    for (args, expected) in cases {
        let (code, _, err) = loadgen(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let (code, _, err) = loadgen(&["run", "no-such-scenario"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("no scenario file no-such-scenario and no built-in"),
        "{err}"
    );
}

#[test]
fn a_malformed_file_is_refused_before_any_traffic_naming_file_line_and_field() {
    // A target that counts who connects: nothing must.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    listener.set_nonblocking(true).expect("nonblocking");
    let target = format!("http://{}", listener.local_addr().expect("addr"));
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("broken.toml");
    let mut f = std::fs::File::create(&file).expect("create");
    write!(
        f,
        "name = \"broken\"\n[traffic]\nrate = 10\n\n[[phase]]\nname = \"calm\"\nduration = \"30s\"\n\n[[phase]]\nname = \"errors\"\nduration = \"20s\"\nerror_burst = {{ share = 30 }}\n"
    )
    .expect("write");
    let (code, _, err) = loadgen(&["run", &file.display().to_string(), "--target", &target]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&file.display().to_string()), "the file: {err}");
    assert!(err.contains("line 12"), "the line: {err}");
    assert!(
        err.contains("field `phase[1].error_burst.share`"),
        "the field: {err}"
    );
    assert!(
        err.contains("30 is out of range: a share from 0 to 1"),
        "{err}"
    );
    assert!(err.contains("nothing was sent"), "{err}");
    std::thread::sleep(Duration::from_millis(100));
    assert!(listener.accept().is_err(), "no connection was made");
}
