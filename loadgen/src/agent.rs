//! agent-lite's monitor API, in Datadog's shape: `GET /api/v1/monitor` (each monitor with
//! `overall_state` and `state.groups`) and `GET /api/v0/monitors/{id}/history` (every
//! transition with its time).

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
    pub overall_state: Option<String>,
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
    pub status: String,
}

impl MonitorView {
    /// Each group's state now.
    pub fn group_states(&self) -> BTreeMap<String, MonitorState> {
        self.state
            .groups
            .iter()
            .filter_map(|(g, v)| Some((g.clone(), MonitorState::from_name(&v.status)?)))
            .collect()
    }

    pub fn overall(&self) -> MonitorState {
        self.overall_state
            .as_deref()
            .and_then(MonitorState::from_name)
            .unwrap_or(MonitorState::Ok)
    }
}

/// One transition, as the history API gives it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TransitionView {
    pub group: String,
    pub from: String,
    pub to: String,
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
}
