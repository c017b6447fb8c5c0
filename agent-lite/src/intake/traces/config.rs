//! The trace intake's options, with the Agent's names, and its listeners.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::Args;
use tokio::net::{TcpListener, UnixListener};

use crate::listen;

#[derive(Debug, Clone, Args)]
pub struct TraceIntakeConfig {
    /// Trace intake port.
    #[arg(long, env = "DD_APM_RECEIVER_PORT", default_value_t = 8126)]
    pub apm_port: u16,

    /// Also take traces on this Unix socket.
    #[arg(long, env = "DD_APM_RECEIVER_SOCKET")]
    pub apm_socket: Option<PathBuf>,

    /// Advertise `/v0.6/stats` and `client_drop_p0s` in `/info`, as the Agent does: tracers
    /// then compute stats themselves and may drop unsampled traces. Off by default, so that
    /// every trace is kept and counted here.
    #[arg(long, env = "AGENT_LITE_CLIENT_STATS")]
    pub client_stats: bool,

    /// Largest trace payload taken, in bytes (the Agent's apm_config.max_payload_size: 25 MB).
    #[arg(long, env = "DD_APM_MAX_PAYLOAD_SIZE", default_value_t = 25 * 1024 * 1024)]
    pub max_payload_bytes: usize,
}

/// The intake's sockets, bound.
pub struct Listeners {
    pub tcp: TcpListener,
    pub tcp_addr: SocketAddr,
    pub unix: Option<UnixListener>,
}

impl TraceIntakeConfig {
    pub async fn bind(&self, bind_host: IpAddr) -> anyhow::Result<Listeners> {
        let addr = SocketAddr::new(bind_host, self.apm_port);
        let tcp = listen::tcp(addr, "traces", "DD_APM_RECEIVER_PORT").await?;
        let tcp_addr = tcp.local_addr().unwrap_or(addr);
        let unix = match &self.apm_socket {
            Some(path) => Some(listen::unix_stream(
                path,
                "trace",
                "DD_APM_RECEIVER_SOCKET",
            )?),
            None => None,
        };
        Ok(Listeners {
            tcp,
            tcp_addr,
            unix,
        })
    }
}
