//! The API's and page's options, and its listener.

use std::net::{IpAddr, SocketAddr};

use clap::Args;
use tokio::net::TcpListener;

use crate::listen;

#[derive(Debug, Clone, Args)]
pub struct WebConfig {
    /// Port of the API and page (the Agent GUI's port).
    #[arg(long, env = "AGENT_LITE_API_PORT", default_value_t = 5002)]
    pub api_port: u16,
}

impl WebConfig {
    pub async fn bind(&self, bind_host: IpAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
        let addr = SocketAddr::new(bind_host, self.api_port);
        let listener = listen::tcp(addr, "the API", "AGENT_LITE_API_PORT").await?;
        let addr = listener.local_addr().unwrap_or(addr);
        Ok((listener, addr))
    }
}
