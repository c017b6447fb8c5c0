//! An axum app served on its own thread and runtime, so blocking tests can run peers
//! (a trace sink, a webhook receiver) beside the process under test.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;

/// The server stops when this is dropped.
pub struct BackgroundServer {
    pub addr: SocketAddr,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl BackgroundServer {
    /// Serves `app` on `addr`; port 0 takes a free port, bound before this returns (a port
    /// picked first and bound later can be taken by another test in between).
    pub fn start(name: &str, addr: SocketAddr, app: Router) -> anyhow::Result<Self> {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(anyhow::anyhow!(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::bind(addr).await {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(anyhow::anyhow!("binding {addr}: {e}")));
                            return;
                        }
                    };
                    let bound = match listener.local_addr() {
                        Ok(a) => a,
                        Err(e) => {
                            let _ = ready_tx.send(Err(anyhow::anyhow!("binding {addr}: {e}")));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(bound));
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = rx.await;
                        })
                        .await;
                });
            })?;
        let addr = ready_rx.recv_timeout(Duration::from_secs(10))??;
        Ok(Self {
            addr,
            _shutdown: tx,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
