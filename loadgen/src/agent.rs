//! agent-lite's API, in Datadog's shapes: `GET /api/v1/monitor` (each monitor with
//! `overall_state` and `state.groups`), `GET /api/v0/monitors/{id}/history` (every transition
//! with its time), `GET /api/v1/slo` (the SLOs and their thresholds) and
//! `GET /api/v1/slo/{id}/history` (the SLI and the error budget left over a range). States
//! are read as [`MonitorState`], the type agent-lite writes them with.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::scenario::MonitorState;

#[derive(Debug, Clone, Deserialize)]
pub struct MonitorView {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub overall_state: Option<MonitorState>,
    #[serde(default)]
    pub state: StateView,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct StateView {
    #[serde(default)]
    pub groups: BTreeMap<String, GroupView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct GroupView {
    pub status: MonitorState,
}

impl MonitorView {
    /// Each group's state now.
    pub fn group_states(&self) -> BTreeMap<String, MonitorState> {
        self.state
            .groups
            .iter()
            .map(|(g, v)| (g.clone(), v.status))
            .collect()
    }

    pub fn overall(&self) -> MonitorState {
        self.overall_state.unwrap_or(MonitorState::Ok)
    }
}

/// One transition, as the history API gives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TransitionView {
    pub group: String,
    pub from: MonitorState,
    pub to: MonitorState,
    /// Seconds since the epoch.
    pub ts: i64,
    #[serde(default)]
    pub value: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct HistoryView {
    #[serde(default)]
    transitions: Vec<TransitionView>,
}

/// An SLO as `GET /api/v1/slo` lists it: what loadgen needs to find it and count its budget.
#[derive(Debug, Clone, Deserialize)]
pub struct SloView {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub thresholds: Vec<SloThreshold>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SloThreshold {
    pub timeframe: String,
    pub target: f64,
}

#[derive(Debug, Deserialize)]
struct SloList {
    #[serde(default)]
    data: Vec<SloView>,
}

/// `data` of `GET /api/v1/slo/{id}/history` (Datadog's `SLOHistoryResponse`).
#[derive(Debug, Clone, Deserialize)]
pub struct SloHistory {
    pub overall: SloOverall,
    /// agent-lite's own figures beside Datadog's (absent from a real Datadog).
    #[serde(default)]
    pub agent_lite: Option<SloCounts>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SloOverall {
    /// Percent good over the range; none without any event.
    #[serde(default)]
    pub sli_value: Option<f64>,
    /// Percent of each timeframe's budget left over the range.
    #[serde(default)]
    pub error_budget_remaining: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SloCounts {
    pub good: f64,
    pub total: f64,
    /// What is counted: events (metric SLOs), slices (time slices) or seconds (monitors).
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SloHistoryAnswer {
    data: SloHistory,
}

pub struct AgentApi {
    base: String,
    http: reqwest::Client,
}

impl AgentApi {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .context("cannot build the HTTP client for agent-lite")?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            http,
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = format!("{}{path}", self.base);
        let res = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?;
        let status = res.status();
        let body = res
            .bytes()
            .await
            .with_context(|| format!("GET {url}: reading the body"))?;
        if !status.is_success() {
            anyhow::bail!(
                "GET {url}: {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
        serde_json::from_slice(&body).with_context(|| format!("GET {url}: unexpected JSON"))
    }

    pub async fn monitors(&self) -> anyhow::Result<Vec<MonitorView>> {
        self.get("/api/v1/monitor").await
    }

    pub async fn history(&self, id: u64) -> anyhow::Result<Vec<TransitionView>> {
        let h: HistoryView = self.get(&format!("/api/v0/monitors/{id}/history")).await?;
        Ok(h.transitions)
    }

    pub async fn slos(&self) -> anyhow::Result<Vec<SloView>> {
        let list: SloList = self.get("/api/v1/slo").await?;
        Ok(list.data)
    }

    /// The SLO over `[from, to)` (seconds since the epoch).
    pub async fn slo_history(&self, id: &str, from: i64, to: i64) -> anyhow::Result<SloHistory> {
        let answer: SloHistoryAnswer = self
            .get(&format!(
                "/api/v1/slo/{}/history?from_ts={from}&to_ts={to}",
                encode_path(id)
            ))
            .await?;
        Ok(answer.data)
    }
}

/// An SLO id as one path segment: Datadog's ids are hex, the lab's are words with `-`; anything
/// else is percent-encoded.
fn encode_path(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_read_as_the_api_writes_them() {
        let m: MonitorView = serde_json::from_str(
            r#"{"id": 3, "name": "m", "overall_state": "No Data",
                "state": {"groups": {"host:a": {"status": "Warn"}}}}"#,
        )
        .expect("a monitor");
        assert_eq!(m.overall(), MonitorState::NoData);
        assert_eq!(m.group_states()["host:a"], MonitorState::Warn);
        let t: TransitionView =
            serde_json::from_str(r#"{"group": "*", "from": "OK", "to": "Alert", "ts": 5}"#)
                .expect("a transition");
        assert_eq!((t.from, t.to), (MonitorState::Ok, MonitorState::Alert));
        let bad = serde_json::from_str::<TransitionView>(
            r#"{"group": "*", "from": "OK", "to": "Fired", "ts": 5}"#,
        );
        assert!(
            bad.is_err(),
            "an unknown state is an error, not a silent OK"
        );
    }

    #[test]
    fn slo_ids_are_one_path_segment() {
        assert_eq!(
            encode_path("demo-service-availability"),
            "demo-service-availability"
        );
        assert_eq!(encode_path("a/b c"), "a%2Fb%20c");
    }
}
