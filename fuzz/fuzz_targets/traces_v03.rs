//! `/v0.3/traces` payloads, msgpack and JSON (the Content-Type decides, as in the Agent):
//! decoded, counted, trace metrics computed, the newest traces kept.

#![no_main]

use agent_lite::intake::traces::decode::Version;
use lab_fuzz::receive_traces;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    for content_type in ["application/msgpack", "application/json"] {
        receive_traces(Version::V03, content_type, body);
    }
});
