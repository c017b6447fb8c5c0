//! A throwaway PostgreSQL cluster (Debian's `postgresql` package): `initdb` in a temporary
//! folder and `pg_ctl` on a free loopback port, stopped on drop. Local to agent-lite's tests
//! until the testkit's own helper (i19-inventory's branch) reaches main. The server refuses
//! to run as root: then it runs as Debian's `postgres` user, through `runuser`.

use std::path::PathBuf;
use std::process::Command;

use lab_testkit::free_port;

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

pub struct Pg {
    pub port: u16,
    data: PathBuf,
    bin: PathBuf,
    _dir: tempfile::TempDir,
}

fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("Debian's postgresql package (apt-get install -y postgresql)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect("an initdb under /usr/lib/postgresql")
}

fn as_server_user(program: &std::path::Path, args: &[&str]) {
    let root = is_root();
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    let out = cmd.args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pg {
    pub fn start() -> Pg {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("agent-lite-pg-")
            .tempdir()
            .expect("tempdir");
        if is_root() {
            let out = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .output()
                .expect("chown");
            assert!(out.status.success());
        }
        let data = dir.path().join("data");
        let port = free_port();
        let d = data.to_string_lossy().into_owned();
        as_server_user(
            &bin.join("initdb"),
            &["-D", &d, "-U", "postgres", "--auth=trust", "--no-sync"],
        );
        let opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {}",
            dir.path().display()
        );
        let log = dir.path().join("server.log").to_string_lossy().into_owned();
        as_server_user(
            &bin.join("pg_ctl"),
            &["-D", &d, "-o", &opts, "-l", &log, "-w", "start"],
        );
        Pg {
            port,
            data,
            bin,
            _dir: dir,
        }
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL with psql.
    pub fn psql(&self, db: &str, sql: &str) {
        let out = Command::new(self.bin.join("psql"))
            .args([&self.url(db), "-v", "ON_ERROR_STOP=1", "-qc", sql])
            .output()
            .expect("psql");
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn stop(&self) {
        let d = self.data.to_string_lossy().into_owned();
        as_server_user(
            &self.bin.join("pg_ctl"),
            &["-D", &d, "-m", "fast", "-w", "stop"],
        );
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let d = self.data.to_string_lossy().into_owned();
        let _ = Command::new(if is_root() { "runuser" } else { "true" })
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", &d, "-m", "immediate", "stop"])
            .output();
    }
}
