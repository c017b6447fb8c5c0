//! `/v0.5/traces` payloads (msgpack only: a string table, then spans as 12-element arrays
//! indexing it): decoded, counted, trace metrics computed, the newest traces kept.

#![no_main]

use agent_lite::intake::traces::decode::Version;
use agent_lite::intake::traces::receive;
use lab_fuzz::fresh_agent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    let agent = fresh_agent();
    // The body as axum hands it over: `Bytes`, which the msgpack spans borrow from.
    if let Err(e) = receive(
        &agent,
        Version::V05,
        Some("application/msgpack"),
        false,
        body.to_vec().into(),
    ) {
        // The 400's body.
        let _ = e.to_string();
    }
});
