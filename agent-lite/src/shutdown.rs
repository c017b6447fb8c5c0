//! The stop signal every long-running task is handed: main sends it once (a signal, or a
//! listener that ended), and each task finishes what it holds before returning; and the
//! process signals that make main send it.

use tokio::sync::watch;

/// Sends the stop signal.
pub struct Shutdown(watch::Sender<bool>);

/// Waits for the stop signal; clones are independent waiters.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Shutdown {
    pub fn new() -> (Self, Stop) {
        let (tx, rx) = watch::channel(false);
        (Self(tx), Stop(rx))
    }

    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl Stop {
    /// Resolves once the signal is sent (or its sender is gone).
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stopped| *stopped).await;
    }
}

/// Waits for SIGINT or SIGTERM and names the one that came: the signals that stop agent-lite.
pub async fn signal() -> &'static str {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term => "SIGTERM",
    }
}
