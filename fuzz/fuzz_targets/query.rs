//! Metric queries as `GET /api/v1/query` takes them (`avg:system.cpu.user{host:lab} by
//! {host}`, arithmetic between queries, `.as_count()`, `.rollup()`, comma-separated lists):
//! parsed and evaluated over an hour of the lab's metrics, for the range a dashboard asks
//! and for the extreme ranges a URL can carry.

#![no_main]

use agent_lite::query::v1_query;
use lab_fuzz::{lab_store, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The query string reaches the handler as UTF-8 text, whatever the client sent.
    let query = String::from_utf8_lossy(data);
    let store = lab_store();
    for (from, to) in [
        (NOW - 3600, NOW),
        (NOW - 300, NOW - 300),
        (NOW, NOW - 3600),
        (0, i64::MAX),
        (i64::MIN, i64::MAX),
    ] {
        match v1_query(store, &query, from, to) {
            Ok(answer) => {
                let _ = answer.to_string();
            }
            Err(e) => {
                let _ = e.to_string();
            }
        }
    }
});
