//! A throwaway PostgreSQL cluster from Debian's `postgresql` package: `initdb` in a temporary
//! folder, `pg_ctl` on a free loopback port, stopped and removed on drop. The real server, so
//! that the tests of a service that talks to PostgreSQL meet its real errors, locks and timings.
//!
//! The server refuses to run as root: under root (CI containers) the cluster's folder is
//! given to the `postgres` user that Debian's package creates, and the server runs as it.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{bail, Context as _};

/// The superuser of a test cluster (trust authentication on loopback: a test cluster only).
pub const SUPERUSER: &str = "postgres";

pub struct PgCluster {
    bin: PathBuf,
    // Kept for its drop: the folder goes with the cluster.
    dir: tempfile::TempDir,
    data: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    running: bool,
}

impl PgCluster {
    /// initdb + start on a free port; panics with the server's own words when either fails
    /// (a test cannot go on without its database).
    pub fn start() -> Self {
        Self::try_start().unwrap_or_else(|e| panic!("test PostgreSQL cluster: {e:#}"))
    }

    pub fn try_start() -> anyhow::Result<Self> {
        let bin = bin_dir()?;
        let dir = tempfile::Builder::new()
            .prefix("lab-pg-")
            .tempdir()
            .context("temporary folder for the cluster")?;
        let run_as = server_user()?;
        if let Some((uid, gid)) = run_as {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .context("giving the cluster's folder to the postgres user")?;
        }
        let data = dir.path().join("data");
        let mut cluster = Self {
            bin,
            dir,
            data,
            port: crate::free_port(),
            run_as,
            running: false,
        };
        let data_arg = cluster.data.to_string_lossy().into_owned();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data_arg,
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
        )?;
        cluster.start_server()?;
        Ok(cluster)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }

    /// CREATE DATABASE through the package's `createdb`.
    pub fn create_database(&self, name: &str) {
        let port = self.port.to_string();
        self.run(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", SUPERUSER, name],
        )
        .unwrap_or_else(|e| panic!("createdb {name}: {e:#}"));
    }

    /// One SQL command through `psql` (a second client, for what a test does behind the
    /// service's back: a lock held, a row changed).
    pub fn psql(&self, database: &str, sql: &str) -> String {
        let port = self.port.to_string();
        let out = self
            .run(
                "psql",
                &[
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    SUPERUSER,
                    "-d",
                    database,
                    "-X",
                    "-A",
                    "-t",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-c",
                    sql,
                ],
            )
            .unwrap_or_else(|e| panic!("psql {sql:?}: {e:#}"));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Stops the server (fast shutdown: clients are disconnected), keeping the data.
    pub fn stop(&mut self) {
        if self.running {
            let data = self.data.to_string_lossy().into_owned();
            self.run("pg_ctl", &["stop", "-D", &data, "-m", "fast", "-w"])
                .unwrap_or_else(|e| panic!("pg_ctl stop: {e:#}"));
            self.running = false;
        }
    }

    /// Starts the stopped server again, on the same port.
    pub fn restart(&mut self) {
        self.start_server()
            .unwrap_or_else(|e| panic!("pg_ctl start: {e:#}"));
    }

    fn start_server(&mut self) -> anyhow::Result<()> {
        let data = self.data.to_string_lossy().into_owned();
        let log = self.dir.path().join("server.log");
        // Loopback TCP only, and the socket in the cluster's own folder (the system's
        // /var/run/postgresql may not exist or belong to another cluster).
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -c unix_socket_directories={} -c fsync=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let log_arg = log.to_string_lossy().into_owned();
        let started = self.run(
            "pg_ctl",
            &[
                "start", "-D", &data, "-l", &log_arg, "-o", &options, "-w", "-t", "60",
            ],
        );
        if let Err(e) = started {
            let server_log = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(e.context(format!("server log:\n{server_log}")));
        }
        self.running = true;
        Ok(())
    }

    fn run(&self, tool: &str, args: &[&str]) -> anyhow::Result<Output> {
        let mut cmd = Command::new(self.bin.join(tool));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("PGHOST")
            .env_remove("PGPORT")
            .env_remove("PGDATABASE")
            .env_remove("PGUSER");
        if let Some((uid, gid)) = self.run_as {
            cmd.uid(uid).gid(gid);
        }
        let out = cmd
            .output()
            .with_context(|| format!("running {}", self.bin.join(tool).display()))?;
        if !out.status.success() {
            bail!(
                "{tool} {args:?} exited {}: {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(out)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            let data = self.data.to_string_lossy().into_owned();
            // Immediate: nothing of a test cluster needs to survive.
            let _ = self.run("pg_ctl", &["stop", "-D", &data, "-m", "immediate", "-w"]);
        }
    }
}

/// The server's programs: PG_BINDIR if set, else the newest of Debian's
/// /usr/lib/postgresql/<major>/bin (Debian keeps them off PATH, one folder per major version).
fn bin_dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let root = Path::new("/usr/lib/postgresql");
    let mut majors: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .with_context(|| {
            format!(
                "no {} (install Debian's postgresql package: tests/setup does, or set PG_BINDIR)",
                root.display()
            )
        })?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    majors.sort();
    majors
        .pop()
        .map(|(_, bin)| bin)
        .with_context(|| format!("no {}/<version>/bin/initdb", root.display()))
}

/// Under root, the uid and gid of the `postgres` user the server runs as.
fn server_user() -> anyhow::Result<Option<(u32, u32)>> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let user = nix::unistd::User::from_name(SUPERUSER)
        .context("looking up the postgres user")?
        .context("running as root and there is no postgres user to run the server as (Debian's postgresql package creates it)")?;
    Ok(Some((user.uid.as_raw(), user.gid.as_raw())))
}

/// Waits until the server on `port` accepts TCP connections.
pub fn wait_until_listening(port: u16, deadline: Duration) {
    crate::wait_for("PostgreSQL to listen", deadline, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_starts_answers_sql_stops_and_starts_again() {
        let mut pg = PgCluster::start();
        pg.create_database("lab");
        assert_eq!(pg.psql("lab", "SELECT 40 + 2"), "42");
        let port = pg.port();
        pg.stop();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
        pg.restart();
        assert_eq!(pg.psql("lab", "SELECT current_database()"), "lab");
    }
}
