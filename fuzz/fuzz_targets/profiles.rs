//! `/profiling/v1/input` uploads (multipart/form-data: event.json and pprof attachments,
//! zstd or gzip compressed, as libdatadog's exporter sends them): split, read, decoded and
//! kept, or refused with a 400's reason; then merged into flame trees, as the API does.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| lab_fuzz::receive_profile(body));
