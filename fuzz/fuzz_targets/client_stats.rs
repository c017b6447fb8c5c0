//! `/v0.6/stats` payloads (a tracer's own stats: msgpack `ClientStatsPayload` carrying
//! DDSketch protobufs): decoded and merged into the trace metrics, or refused whole.

#![no_main]

use agent_lite::intake::traces::{receive_stats, Output};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let intake = Output::default();
    if let Err(e) = receive_stats(&intake, body) {
        // The 400's body.
        let _ = e.to_string();
    }
});
