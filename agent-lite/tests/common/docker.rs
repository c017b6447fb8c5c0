//! The Docker side of the container tests: a test image built here without a registry (the
//! static `docker/sleeper.c`, `docker import`ed), and containers removed however a test
//! ends. These tests need the Engine: without it they fail and say so (CI has it).

use std::process::{Command, Output};
use std::sync::OnceLock;

pub const IMAGE: &str = "agent-lite-test/sleeper:1";
/// Marks the images and containers these tests make, to clean up after a killed run.
pub const TEST_LABEL: &str = "agent-lite-test";

pub fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the docker CLI ({e}): these tests need Docker"))
}

pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Builds the test image once per run: sleeper.c compiled static, alone in a tarball, also
/// as /bin/sh so that `--health-cmd` (run through `sh -c`) passes.
pub fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let version = docker(&["version", "--format", "{{.Server.APIVersion}}"]);
        assert!(
            version.status.success(),
            "the Docker Engine is not reachable: {}; these tests need it (CI has it)",
            String::from_utf8_lossy(&version.stderr).trim()
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let rootfs = dir.path().join("rootfs");
        std::fs::create_dir_all(rootfs.join("bin")).expect("rootfs");
        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/docker/sleeper.c");
        let status = Command::new("gcc")
            .args(["-static", "-Os", "-o"])
            .arg(rootfs.join("sleeper"))
            .arg(source)
            .status()
            .expect("gcc (a C compiler with static libc builds the test image)");
        assert!(status.success(), "gcc -static {source} failed");
        std::fs::copy(rootfs.join("sleeper"), rootfs.join("bin/sh")).expect("/bin/sh");
        let tarball = dir.path().join("rootfs.tar");
        let status = Command::new("tar")
            .arg("-C")
            .arg(&rootfs)
            .arg("-cf")
            .arg(&tarball)
            .args(["sleeper", "bin"])
            .status()
            .expect("tar");
        assert!(status.success(), "tar of the test rootfs failed");
        docker_ok(&[
            "import",
            "--change",
            r#"CMD ["/sleeper"]"#,
            "--change",
            &format!("LABEL {TEST_LABEL}=1"),
            &tarball.to_string_lossy(),
            IMAGE,
        ]);
        // What earlier runs left: the images this import untagged, and containers of a run
        // that was killed before it could remove them.
        let _ = docker(&[
            "image",
            "prune",
            "-f",
            "--filter",
            &format!("label={TEST_LABEL}"),
        ]);
        let stale = docker_ok(&["ps", "-aq", "--filter", &format!("label={TEST_LABEL}")]);
        for id in stale.split_whitespace() {
            let _ = docker(&["rm", "-f", id]);
        }
    });
    IMAGE
}

/// A container removed when the test ends, however it ends.
pub struct Container {
    pub name: String,
}

impl Container {
    pub fn run(name: &str, args: &[&str]) -> Self {
        let image = image();
        let _ = docker(&["rm", "-f", name]);
        let mut all = vec!["run", "-d", "--name", name];
        all.extend_from_slice(args);
        all.push(image);
        docker_ok(&all);
        Self {
            name: name.to_owned(),
        }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.name]);
    }
}

pub fn unique_name(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("al-{what}-{}-{nanos}", std::process::id())
}
