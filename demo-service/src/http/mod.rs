//! The HTTP side: routes, the server span around each request, the errors handlers answer,
//! the traced client demo-service calls inventory with, and the server both services run.

pub mod client_span;
pub mod errors;
mod header_injector;
pub mod inventory_client;
pub mod routes;
pub mod server;
pub mod server_span;
pub mod stack;
