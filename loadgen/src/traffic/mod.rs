//! The traffic, with goose as the engine: goose launches the users (at the hatch rate),
//! runs their loop, makes and counts the requests and writes its HTML report. What goose
//! does not do, loadgen adds inside goose's one transaction:
//!
//! - **The open model** (`schedule`). goose is a closed model (each user sends when its
//!   previous answer came) and `--throttle-requests` only caps the rate, for the whole run.
//!   Here every user asks a shared schedule for the next request due (each phase's rate, the
//!   CPU spike's `/burn` calls), waits for its time and sends it: the rate holds when the
//!   service slows, as real users keep arriving. In a closed-model phase the first N users
//!   send back to back and the others wait.
//! - **Latency without coordinated omission** (`send`). Each request's latency is measured
//!   from the time it was *due*, not from when a user got round to it (wrk2's method), into
//!   HDR histograms (`stats`).
//! - **The chaos mix** (`mix`). The error and latency bursts change which endpoint each
//!   request hits.
//! - **One HTTP client for all users** (`goose`), with idle connections dropped after 2 s,
//!   before actix's 5 s keep-alive closes them: goose 0.19.0 (the newest on crates.io)
//!   counts a request sent on a connection the server just closed as a failure, which would
//!   show as errors that the service never made.

mod goose;
mod mix;
mod schedule;
mod send;

pub use goose::{goose_config, run_goose};
pub use mix::{Chooser, Kind};
pub use schedule::{Job, Next, Schedule};
pub use send::Engine;
