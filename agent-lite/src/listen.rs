//! Binding the intakes' and the API's sockets, with errors that name the address and the
//! variable that chose it. Each component binds its own listeners through these.

use std::net::SocketAddr;
use std::os::unix::fs::FileTypeExt as _;
use std::path::Path;

use anyhow::Context as _;
use tokio::net::{TcpListener, UdpSocket, UnixDatagram, UnixListener};

pub async fn tcp(addr: SocketAddr, what: &str, variable: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for {what} on {addr} ({variable})"))
}

pub async fn udp(addr: SocketAddr, what: &str, variable: &str) -> anyhow::Result<UdpSocket> {
    UdpSocket::bind(addr)
        .await
        .with_context(|| format!("cannot listen for {what} on {addr}/udp ({variable})"))
}

pub fn unix_stream(path: &Path, what: &str, variable: &str) -> anyhow::Result<UnixListener> {
    unix(path, what, variable, |p| UnixListener::bind(p))
}

pub fn unix_datagram(path: &Path, what: &str, variable: &str) -> anyhow::Result<UnixDatagram> {
    unix(path, what, variable, |p| UnixDatagram::bind(p))
}

/// A socket left by an earlier run is replaced, as the Agent replaces its own; any other
/// kind of file at that path is an error, never removed.
fn unix<T>(
    path: &Path,
    what: &str,
    variable: &str,
    bind: impl FnOnce(&Path) -> std::io::Result<T>,
) -> anyhow::Result<T> {
    let context = || {
        format!(
            "cannot bind the {what} socket {} ({variable})",
            path.display()
        )
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => std::fs::remove_file(path).with_context(context)?,
        Ok(_) => anyhow::bail!(
            "{}: the path is taken by a file that is not a socket",
            context()
        ),
        Err(_) => {}
    }
    bind(path).with_context(context)
}
