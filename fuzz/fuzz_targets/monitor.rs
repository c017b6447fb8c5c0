//! Monitor definitions in Datadog's monitor JSON (a file of the monitors folder, or the body
//! of `POST /api/v1/monitor`): parsed and checked, then evaluated over an hour of the lab's
//! metrics at a few instants, with their notifications rendered and their API view built.
//! The input is also given to the monitor query parser alone (`avg(last_5m):... > 80`), so
//! that the query grammar is fuzzed without having to be valid JSON first.

#![no_main]

use agent_lite::monitors::history::History;
use agent_lite::monitors::loader::{parse_definitions, Loaded};
use agent_lite::monitors::monitor_query;
use agent_lite::monitors::registry::{api_view, Registry};
use lab_fuzz::{lab_store, NOW};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Files are read, and API bodies taken, as UTF-8 text.
    let text = String::from_utf8_lossy(data);
    if let Err(e) = monitor_query::parse(&text) {
        let _ = e.to_string();
    }
    let monitors = match parse_definitions(&text, "fuzz") {
        Ok(m) => m,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let mut registry = Registry::new(History::in_memory(), None, "lab".into());
    let loaded = Loaded {
        monitors,
        refused: Vec::new(),
    };
    registry.replace_file_monitors(loaded, NOW - 1800);
    for now in [NOW - 1800, NOW - 600, NOW, NOW + 3600] {
        for notice in registry.evaluate_all(lab_store(), now) {
            let _ = (notice.title, notice.body);
        }
    }
    for entry in registry.entries() {
        let _ = api_view(entry).to_string();
    }
});
