//! The wall clock, read in one place: seconds since the epoch, and Datadog's timestamp form.
//! A leaf module: everything may use it, it uses nothing of the agent.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the epoch (0 on a clock set before 1970).
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Seconds since the epoch in RFC 3339, Datadog's timestamp form (empty when out of range).
pub fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.to_rfc3339())
        .unwrap_or_default()
}
