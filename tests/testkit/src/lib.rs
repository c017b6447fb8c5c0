//! Test support for the lab's end-to-end tests and benches. Each piece stands in for a peer
//! only where the real peer cannot count exactly (Datadog's test agent is the real peer for
//! payload validity; this sink is for exact counts at full speed).

pub mod background;
pub mod process;
pub mod statsd;
pub mod test_agent;
pub mod trace_sink;
pub mod webhook_sink;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// A loopback port free at the time of asking.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// For a server the test starts itself: the system picks a free port as it binds.
pub const ANY_LOOPBACK_PORT: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// A loopback address with a free port, for a server another process binds (one the test
/// starts binds ANY_LOOPBACK_PORT instead: nothing can take its port in between).
pub fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// Polls `check` until it returns Some or `deadline` passes. Polling with a generous deadline
/// is how these tests wait: nothing here asserts on elapsed time.
pub fn wait_for<T>(what: &str, deadline: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + deadline;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() > end {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Path of another binary of the workspace, built first (`cargo build -p <name>`) so that a
/// test of one crate can run a peer from another with the same profile.
pub fn workspace_bin(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test> -> target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("a target directory")
        .to_path_buf();
    let profile = profile_dir
        .file_name()
        .and_then(|p| p.to_str())
        .unwrap_or("debug")
        .to_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    // The folder is named after the profile, but for the default one.
    let profile = if profile == "debug" { "dev" } else { &profile };
    cmd.args([
        "build",
        "-q",
        "--profile",
        profile,
        "-p",
        name,
        "--bin",
        name,
    ]);
    let status = cmd.status().expect("running cargo build");
    assert!(status.success(), "cargo build -p {name} failed");
    profile_dir.join(name)
}
