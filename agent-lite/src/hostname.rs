//! The host name agent-lite reports as (`DD_HOSTNAME`), and its `host:` tag, computed once.

use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Hostname(Arc<Names>);

#[derive(Debug)]
struct Names {
    name: String,
    tag: String,
}

impl Hostname {
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let tag = format!("host:{name}");
        Self(Arc::new(Names { name, tag }))
    }

    /// `DD_HOSTNAME` when set, else the machine's (`/etc/hostname`), else `localhost`.
    pub fn resolve(configured: Option<&str>) -> Self {
        let name = configured
            .map(str::to_owned)
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        Self::new(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0.name
    }

    /// `host:<name>`, the tag on every point agent-lite writes.
    pub fn tag(&self) -> &String {
        &self.0.tag
    }
}

impl std::fmt::Display for Hostname {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
