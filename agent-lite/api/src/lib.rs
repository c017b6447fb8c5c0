//! What agent-lite's API says and its clients read: one definition, so agent-lite and loadgen
//! cannot disagree on a state's name.

use serde::{Deserialize, Serialize};

/// The states of a Datadog monitor (or one of its groups), named as Datadog's API names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum MonitorState {
    #[serde(rename = "OK")]
    Ok,
    Warn,
    Alert,
    #[serde(rename = "No Data")]
    NoData,
}

impl MonitorState {
    pub fn name(self) -> &'static str {
        match self {
            MonitorState::Ok => "OK",
            MonitorState::Warn => "Warn",
            MonitorState::Alert => "Alert",
            MonitorState::NoData => "No Data",
        }
    }

    /// Datadog's names and the forms people write in a scenario: any case, `_` or a space
    /// or nothing between words, `warning` and `triggered` as Datadog's UI says them.
    pub fn from_name(s: &str) -> Option<Self> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['_', ' '], "")
            .as_str()
        {
            "ok" => Some(MonitorState::Ok),
            "warn" | "warning" => Some(MonitorState::Warn),
            "alert" | "triggered" => Some(MonitorState::Alert),
            "nodata" => Some(MonitorState::NoData),
            _ => None,
        }
    }

    /// Worst first, for a monitor's overall state from its groups'.
    pub fn severity(self) -> u8 {
        match self {
            MonitorState::Alert => 3,
            MonitorState::Warn => 2,
            MonitorState::NoData => 1,
            MonitorState::Ok => 0,
        }
    }
}

impl std::fmt::Display for MonitorState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [MonitorState; 4] = [
        MonitorState::Ok,
        MonitorState::Warn,
        MonitorState::Alert,
        MonitorState::NoData,
    ];

    #[test]
    fn names_round_trip_through_json_and_from_name() {
        for s in ALL {
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", s.name()));
            assert_eq!(serde_json::from_str::<MonitorState>(&json).unwrap(), s);
            assert_eq!(MonitorState::from_name(s.name()), Some(s));
        }
        assert_eq!(
            MonitorState::from_name("no_data"),
            Some(MonitorState::NoData)
        );
        assert_eq!(
            MonitorState::from_name("Triggered"),
            Some(MonitorState::Alert)
        );
        assert_eq!(MonitorState::from_name("paused"), None);
    }

    #[test]
    fn alert_is_the_worst() {
        let worst = ALL.into_iter().max_by_key(|s| s.severity());
        assert_eq!(worst, Some(MonitorState::Alert));
    }
}
