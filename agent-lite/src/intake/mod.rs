//! What agent-lite receives: traces and profiles over HTTP, metrics, events and service
//! checks over DogStatsD.

pub mod dogstatsd;
pub mod profiles;
pub mod traces;
