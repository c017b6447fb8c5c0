//! agent-lite's own counters: payloads accepted and rejected by reason, spans, points, drops.
//! Shown by `agent-lite status` and written to the store as `datadog.agent_lite.*`.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Counters(Mutex<BTreeMap<String, u64>>);

impl Counters {
    pub fn add(&self, name: &str, n: u64) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(name) {
            Some(v) => *v += n,
            None => {
                map.insert(name.to_owned(), n);
            }
        }
    }

    pub fn incr(&self, name: &str) {
        self.add(name, 1);
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
