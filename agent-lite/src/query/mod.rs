//! Metric queries in Datadog's syntax (`avg:system.cpu.user{host:lab} by {host}`,
//! `p95:trace.http.request{service:web}`, `sum:a{*}.as_count() / sum:b{*}.as_count()`),
//! evaluated over the store and answered in the shape of Datadog's v1 query API.

pub mod ast;
pub mod eval;
pub mod parser;
pub mod response;
#[cfg(test)]
mod tests;

pub use response::v1_query;
#[cfg(test)]
use {eval::evaluate, parser::parse, parser::parse_list};
