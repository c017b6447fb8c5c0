//! agent-lite, the lab's stand-in for the Datadog Agent, as a library: the binary (`main.rs`)
//! is its command line, and the fuzz targets (`fuzz/` at the repository's root) drive the same
//! functions the server calls on the bytes it receives:
//!
//! - DogStatsD datagrams: [`intake::dogstatsd::handle_packet`];
//! - trace payloads v0.3, v0.4, v0.5 (msgpack, and JSON where the Agent takes it):
//!   [`intake::traces::receive`];
//! - client stats (`/v0.6/stats`): [`intake::traces::receive_stats`];
//! - metric queries (`/api/v1/query`): [`query::v1_query`];
//! - monitor definitions (files and the monitor API): [`monitors::loader::parse_definitions`],
//!   then [`monitors::evaluate::evaluate`].

// The public API serves this repository's binary and fuzz targets, not outside users: the
// stores' `len()` (sizes shown by status) need no `is_empty()` beside them.
#![allow(clippy::len_without_is_empty)]

pub mod apm;
pub mod clock;
pub mod collectors;
pub mod config;
pub mod config_file;
pub mod counters;
pub mod dashboards;
pub mod hostname;
pub mod http_server;
pub mod intake;
pub mod json_folder;
pub mod listen;
pub mod locked;
pub mod monitors;
pub mod query;
pub mod shutdown;
pub mod slos;
pub mod status;
pub mod store;
pub mod web;
pub mod workbook;
