//! Test support for the lab's end-to-end tests and benches. Each piece stands in for a peer
//! only where the real peer cannot count exactly (Datadog's test agent is the real peer for
//! payload validity; this sink is for exact counts at full speed).

pub mod background;
pub mod inventory;
pub mod postgres;
pub mod process;
pub mod statsd;
pub mod test_agent;
pub mod trace_sink;
pub mod webhook_sink;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The lowest port free_port hands out.
const PICKED_PORTS_FROM: u32 = 10_000;

/// A loopback port free for TCP and UDP at the time of asking, for a server another process
/// binds.
///
/// Picked below the kernel's ephemeral range, not by binding port 0: that range is where every
/// outgoing connection of every test takes its local port too, so a port from it could be
/// taken before the server bound it (agent-lite's tests saw "Address already in use"). Below
/// it only another pick can collide, and picks walk one counter, started where this process's
/// id points so that two test binaries side by side walk apart.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let span = ephemeral_floor().saturating_sub(PICKED_PORTS_FROM);
    if span >= 1_000 {
        let _ = NEXT.compare_exchange(
            u32::MAX,
            std::process::id().wrapping_mul(7_919) % span,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        for _ in 0..span {
            let port = PICKED_PORTS_FROM + NEXT.fetch_add(1, Ordering::Relaxed) % span;
            let Ok(port) = u16::try_from(port) else {
                continue;
            };
            let free = TcpListener::bind(("127.0.0.1", port)).is_ok()
                && UdpSocket::bind(("127.0.0.1", port)).is_ok();
            if free {
                return port;
            }
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// The first port of the kernel's ephemeral range (Linux's default when it cannot be read).
fn ephemeral_floor() -> u32 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
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

/// Points `(seconds since the epoch, value)` of every series of `query` between `from` and
/// `to`, from agent-lite's query API at `api`.
pub fn query_points(
    http: &reqwest::blocking::Client,
    api: &str,
    query: &str,
    from: f64,
    to: f64,
) -> Vec<(f64, f64)> {
    let v: serde_json::Value = http
        .get(format!("{api}/api/v1/query"))
        .query(&[
            ("from", (from as i64).to_string()),
            ("to", (to as i64).to_string()),
            ("query", query.to_owned()),
        ])
        .send()
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("query {query}: {e}"));
    v["series"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["pointlist"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| Some((p[0].as_f64()? / 1000.0, p[1].as_f64()?)))
        .collect()
}

/// Removes from `cmd` the variables `cargo test` sets for the test process itself (`OUT_DIR`,
/// `CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...), for a `cargo build` the test starts. Build
/// scripts such as ring's declare `rerun-if-env-changed` on some of them, and cargo compares
/// those with its own environment: a build started from a test with them set rebuilt ring and
/// everything above it (rustls, reqwest, goose, every binary), and the next build from a shell
/// rebuilt it all back, minutes of CI each time.
pub fn without_test_env(cmd: &mut std::process::Command) -> &mut std::process::Command {
    const SET_FOR_TESTS: [&str; 5] = [
        "CARGO_MANIFEST_",
        "CARGO_PKG_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
        "CARGO_PRIMARY_PACKAGE",
    ];
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key == "OUT_DIR"
            || key == "CARGO_TARGET_TMPDIR"
            || key == "CARGO_RUSTC_CURRENT_DIR"
            || SET_FOR_TESTS.iter().any(|p| key.starts_with(p))
        {
            cmd.env_remove(key);
        }
    }
    cmd
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
    without_test_env(&mut cmd);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct_bindable_and_outside_the_ephemeral_range() {
        let ports: Vec<u16> = (0..200).map(|_| free_port()).collect();
        let distinct: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        // (Unless the range leaves no room below it, where free_port binds port 0.)
        let floor = ephemeral_floor();
        let below = floor >= PICKED_PORTS_FROM + 1_000;
        for &p in &ports {
            assert!(
                !below || u32::from(p) < floor,
                "{p} is in the ephemeral range"
            );
            TcpListener::bind(("127.0.0.1", p)).expect("a picked port binds");
        }
    }
}
