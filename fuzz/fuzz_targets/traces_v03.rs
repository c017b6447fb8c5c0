//! `/v0.3/traces` payloads, msgpack and JSON (the Content-Type decides, as in the Agent):
//! decoded, counted, trace metrics computed, the newest traces kept.

#![no_main]

use agent_lite::intake::traces::decode::Version;
use agent_lite::intake::traces::receive;
use lab_fuzz::fresh_agent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    for content_type in ["application/msgpack", "application/json"] {
        let agent = fresh_agent();
        // The body as axum hands it over: `Bytes`, which the msgpack spans borrow from.
        if let Err(e) = receive(
            &agent,
            Version::V03,
            Some(content_type),
            false,
            body.to_vec().into(),
        ) {
            // The 400's body.
            let _ = e.to_string();
        }
    }
});
