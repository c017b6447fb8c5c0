//! `/v0.5/traces` payloads (msgpack only: a string table, then spans as 12-element arrays
//! indexing it): decoded, counted, trace metrics computed, the newest traces kept.

#![no_main]

use agent_lite::intake::traces::decode::Version;
use lab_fuzz::receive_traces;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    receive_traces(Version::V05, "application/msgpack", body);
});
