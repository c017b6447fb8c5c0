//! A binary of the workspace run as a child process, its stdout lines kept for assertions.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

pub struct ChildProcess {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl ChildProcess {
    /// Starts `program` with `args` and `envs` added to a clean slate of DD_* variables (the
    /// caller's own DD_* settings must not leak into a test).
    pub fn spawn(program: &str, args: &[&str], envs: &[(&str, String)]) -> Self {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("DD_") || k.starts_with("DEMO_") {
                cmd.env_remove(k);
            }
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            collect(out, Arc::clone(&stdout));
        }
        if let Some(err) = child.stderr.take() {
            collect(err, Arc::clone(&stderr));
        }
        Self {
            child,
            stdout,
            stderr,
        }
    }

    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// stdout lines that parse as JSON objects.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.stdout_lines()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits up to `deadline` for the exit.
    pub fn terminate(&mut self, deadline: Duration) -> ExitStatus {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        self.wait(deadline)
    }

    /// Waits up to `deadline` for the process to exit by itself; kills it past that.
    pub fn wait(&mut self, deadline: Duration) -> ExitStatus {
        let end = std::time::Instant::now() + deadline;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the reader threads drain what is left in the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if std::time::Instant::now() > end {
                let _ = self.child.kill();
                panic!(
                    "process did not exit within {deadline:?}; stderr: {:?}",
                    self.stderr_lines()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn collect(pipe: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            into.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    });
}
