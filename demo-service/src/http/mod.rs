//! The HTTP side: routes, the server span around each request, the errors handlers answer.

pub mod errors;
pub mod routes;
pub mod server_span;
pub mod stack;
