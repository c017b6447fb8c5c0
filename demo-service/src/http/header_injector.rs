//! Writes the propagator's headers into reqwest's header map: demo-service's calls to
//! inventory (`client_span`), and the tracer-alone bench (`benches/tracer_floor.rs`, which
//! includes this file so that it injects exactly as the service does).

use opentelemetry::propagation::Injector;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// A header the propagator makes that is not a valid HTTP header is left out rather than sent
/// broken.
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
