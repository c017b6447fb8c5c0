//! loadgen scenario files (TOML), as `loadgen validate` and `loadgen run` read them: parsed
//! and checked, then planned (with and without `--duration`) and described; a refusal is
//! formatted with its line, column and excerpt.

#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use loadgen::plan::Plan;
use loadgen::scenario::parse::parse;

fuzz_target!(|data: &[u8]| {
    // loadgen reads the file with read_to_string: anything but UTF-8 is refused before.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse("fuzz.toml", text) {
        Ok(s) => {
            let _ = loadgen::describe(&s);
            let _ = Plan::new(&s, Some(Duration::from_secs(90)));
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
