//! The DogStatsD intake's options, with the Agent's names, and its sockets.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Source;
use crate::listen;

#[derive(Debug, Clone, Args)]
pub struct DogStatsDConfig {
    /// DogStatsD port (UDP); 0 turns UDP off.
    #[arg(long, env = "DD_DOGSTATSD_PORT", default_value_t = 8125)]
    pub dogstatsd_port: u16,

    /// Also take DogStatsD datagrams on this Unix socket.
    #[arg(long, env = "DD_DOGSTATSD_SOCKET")]
    pub dogstatsd_socket: Option<PathBuf>,

    /// Seconds between two DogStatsD flushes into the store (the Agent's is 10).
    #[arg(long, env = "AGENT_LITE_FLUSH_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=60))]
    pub flush_secs: u64,
}

impl DogStatsDConfig {
    pub fn flush_every(&self) -> Duration {
        Duration::from_secs(self.flush_secs)
    }

    /// Binds every configured socket (UDP on `bind_host`, and the Unix socket).
    pub async fn bind(&self, bind_host: IpAddr) -> anyhow::Result<Vec<Source>> {
        let mut sources = Vec::new();
        if self.dogstatsd_port != 0 {
            let addr = SocketAddr::new(bind_host, self.dogstatsd_port);
            sources.push(Source::Udp(
                listen::udp(addr, "DogStatsD", "DD_DOGSTATSD_PORT").await?,
            ));
        }
        if let Some(path) = &self.dogstatsd_socket {
            sources.push(Source::Unix(listen::unix_datagram(
                path,
                "DogStatsD",
                "DD_DOGSTATSD_SOCKET",
            )?));
        }
        Ok(sources)
    }
}
