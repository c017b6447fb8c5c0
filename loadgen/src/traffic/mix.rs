//! Which endpoint each request hits: a phase's calm mix, and its bursts' shares first.

use rand::Rng;

use crate::scenario::{Mix, Phase};

/// Which endpoint a request hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Root,
    Slow(Option<u64>),
    Error,
    Burn(u64),
}

impl Kind {
    pub fn path(self) -> String {
        match self {
            Kind::Root => "/".into(),
            Kind::Slow(None) => "/slow".into(),
            Kind::Slow(Some(ms)) => format!("/slow?ms={ms}"),
            Kind::Error => "/error".into(),
            Kind::Burn(ms) => format!("/burn?ms={ms}"),
        }
    }

    /// goose's request name and loadgen's endpoint key.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Root => "GET /",
            Kind::Slow(_) => "GET /slow",
            Kind::Error => "GET /error",
            Kind::Burn(_) => "GET /burn",
        }
    }
}

/// A phase's choice of endpoint: the bursts' shares first, the calm mix for the rest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chooser {
    pub error_share: f64,
    pub burst_slow_share: f64,
    pub burst_slow_ms: Option<u64>,
    pub mix: Mix,
    pub slow_ms: Option<u64>,
}

impl Chooser {
    pub fn for_phase(p: &Phase) -> Self {
        Self {
            error_share: p.error_burst.map_or(0.0, |b| b.share.0),
            burst_slow_share: p.latency_burst.map_or(0.0, |b| b.share.0),
            burst_slow_ms: p.latency_burst.and_then(|b| b.ms.map(|m| m.0)),
            mix: p.traffic.mix,
            slow_ms: p.traffic.slow_ms,
        }
    }

    /// Every endpoint this phase can send to, for the URLs parsed once.
    pub fn kinds(&self, burn_ms: Option<u64>) -> Vec<Kind> {
        let mut kinds = vec![
            Kind::Root,
            Kind::Error,
            Kind::Slow(self.slow_ms),
            Kind::Slow(self.burst_slow_ms.or(self.slow_ms)),
        ];
        kinds.extend(burn_ms.map(Kind::Burn));
        kinds
    }

    /// A draw for this request; no random number when only one endpoint can come out.
    pub fn pick_now(&self) -> Kind {
        if self.error_share == 0.0 && self.burst_slow_share == 0.0 {
            match (self.mix.root, self.mix.slow, self.mix.error) {
                (_, 0, 0) => return Kind::Root,
                (0, _, 0) => return Kind::Slow(self.slow_ms),
                (0, 0, _) => return Kind::Error,
                _ => {}
            }
        }
        self.pick(rand::rng().random::<f64>())
    }

    /// `r` uniform in [0, 1).
    pub fn pick(&self, r: f64) -> Kind {
        if r < self.error_share {
            return Kind::Error;
        }
        if r < self.error_share + self.burst_slow_share {
            return Kind::Slow(self.burst_slow_ms.or(self.slow_ms));
        }
        let rest = 1.0 - self.error_share - self.burst_slow_share;
        let x = if rest > 0.0 {
            (r - self.error_share - self.burst_slow_share) / rest
        } else {
            0.0
        };
        let total = f64::from(self.mix.total().max(1));
        let root = f64::from(self.mix.root) / total;
        let slow = f64::from(self.mix.slow) / total;
        if x < root {
            Kind::Root
        } else if x < root + slow {
            Kind::Slow(self.slow_ms)
        } else {
            Kind::Error
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chooser_gives_bursts_their_share() {
        let c = Chooser {
            error_share: 0.3,
            burst_slow_share: 0.2,
            burst_slow_ms: Some(1500),
            mix: Mix {
                root: 1,
                slow: 0,
                error: 0,
            },
            slow_ms: None,
        };
        assert_eq!(c.pick(0.1), Kind::Error);
        assert_eq!(c.pick(0.4), Kind::Slow(Some(1500)));
        assert_eq!(c.pick(0.9), Kind::Root);
        let calm = Chooser {
            error_share: 0.0,
            burst_slow_share: 0.0,
            burst_slow_ms: None,
            mix: Mix {
                root: 90,
                slow: 5,
                error: 5,
            },
            slow_ms: Some(700),
        };
        assert_eq!(calm.pick(0.5), Kind::Root);
        assert_eq!(calm.pick(0.92), Kind::Slow(Some(700)));
        assert_eq!(calm.pick(0.99), Kind::Error);
    }
}
