//! A DogStatsD capture: a UDP socket on loopback that keeps every line it receives.

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct StatsdCapture {
    pub addr: SocketAddr,
    lines: Arc<Mutex<Vec<String>>>,
}

impl StatsdCapture {
    pub fn start() -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("binding a loopback UDP socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("setting a read timeout");
        let addr = socket.local_addr().expect("local address");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        std::thread::spawn(move || {
            let mut buf = [0u8; 65_536];
            // Ends when the capture is dropped and nobody holds the lines any more.
            while Arc::strong_count(&sink) > 1 {
                if let Ok(n) = socket.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]);
                    let mut all = sink.lock().unwrap_or_else(|e| e.into_inner());
                    all.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_owned));
                }
            }
        });
        Self { addr, lines }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
