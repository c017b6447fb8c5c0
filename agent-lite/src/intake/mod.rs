//! What agent-lite receives: traces over HTTP, metrics, events and service checks over
//! DogStatsD.

pub mod dogstatsd;
pub mod traces;
