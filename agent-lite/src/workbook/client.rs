//! The one way the checks see the lab: agent-lite's HTTP API, as a student's browser or
//! `curl` sees it. Nothing here reads a file or another process; a check that needs to know
//! something the API does not say cannot check it.

use std::time::Duration;

use serde_json::Value;

use crate::clock::now_secs;

/// Why the API could not answer a check. Every variant ends the check with exit code 2: the
/// student's work was not judged.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach agent-lite at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("agent-lite answered {status} to GET {path}: {body}")]
    Status {
        path: String,
        status: u16,
        body: String,
    },
    #[error("agent-lite's answer to GET {path} is not the JSON expected: {reason}")]
    Body { path: String, reason: String },
    #[error("{url:?} is not a URL ({reason}); give agent-lite's, as http://127.0.0.1:5002")]
    BadUrl { url: String, reason: String },
}

/// A metric query's answer: its series, or agent-lite's reason for refusing it.
pub enum QueryAnswer {
    Series(Vec<Series>),
    Refused(String),
}

pub struct Series {
    pub scope: String,
    /// `(milliseconds since the epoch, value)`.
    pub points: Vec<(f64, f64)>,
}

impl QueryAnswer {
    pub fn has_points(&self) -> bool {
        matches!(self, QueryAnswer::Series(s) if s.iter().any(|s| !s.points.is_empty()))
    }

    /// The highest value of every series.
    pub fn max(&self) -> Option<f64> {
        match self {
            QueryAnswer::Series(s) => s
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .fold(None, |m, v| Some(m.map_or(v, |m: f64| m.max(v)))),
            QueryAnswer::Refused(_) => None,
        }
    }
}

pub struct LabApi {
    base: String,
    http: reqwest::Client,
}

impl LabApi {
    pub fn new(url: &str) -> Result<Self, ApiError> {
        // Said as such: sent as is, a URL without a scheme would read as a lab that is down.
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            Ok(u) => {
                return Err(ApiError::BadUrl {
                    url: url.to_owned(),
                    reason: format!("scheme {}, not http", u.scheme()),
                })
            }
            Err(e) => {
                return Err(ApiError::BadUrl {
                    url: url.to_owned(),
                    reason: e.to_string(),
                })
            }
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ApiError::Unreachable {
                url: url.to_owned(),
                reason: format!("no HTTP client: {e}"),
            })?;
        Ok(Self {
            base: url.trim_end_matches('/').to_owned(),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends GET `path` with `query`; no answer at all is the lab that could not be asked.
    async fn send(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<reqwest::Response, ApiError> {
        self.http
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .map_err(|e| ApiError::Unreachable {
                url: self.base.clone(),
                reason: reqwest_reason(&e),
            })
    }

    /// GET `path` with `query`, as JSON; `Ok(None)` for a 404 (what was asked for is not
    /// there), an error for anything else that is not a success.
    pub async fn get_opt(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<Value>, ApiError> {
        let answer = self.send(path, query).await?;
        let status = answer.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let text = answer.text().await.map_err(|e| ApiError::Body {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if !status.is_success() {
            return Err(ApiError::Status {
                path: path.to_owned(),
                status: status.as_u16(),
                body: text.chars().take(300).collect(),
            });
        }
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| ApiError::Body {
                path: path.to_owned(),
                reason: e.to_string(),
            })
    }

    /// GET `path`, which must exist.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ApiError> {
        self.get_opt(path, query)
            .await?
            .ok_or_else(|| ApiError::Status {
                path: path.to_owned(),
                status: 404,
                body: "not found".into(),
            })
    }

    /// `GET /api/v1/query` over the last `minutes`; a 400 is the query refused, with
    /// agent-lite's reason (a student's typo is a finding, not a failure of the check).
    pub async fn query(&self, query: &str, minutes: i64) -> Result<QueryAnswer, ApiError> {
        let to = now_secs();
        let from = to - minutes * 60;
        let path = "/api/v1/query";
        let answer = self
            .send(
                path,
                &[
                    ("from", from.to_string()),
                    ("to", to.to_string()),
                    ("query", query.to_owned()),
                ],
            )
            .await?;
        let status = answer.status();
        let body: Value = answer.json().await.map_err(|e| ApiError::Body {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if status == reqwest::StatusCode::BAD_REQUEST {
            let reason = body["errors"]
                .as_array()
                .and_then(|e| e.first())
                .and_then(Value::as_str)
                .unwrap_or("refused")
                .to_owned();
            return Ok(QueryAnswer::Refused(reason));
        }
        if !status.is_success() {
            return Err(ApiError::Status {
                path: path.to_owned(),
                status: status.as_u16(),
                body: body.to_string(),
            });
        }
        let series = body["series"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| Series {
                scope: s["scope"].as_str().unwrap_or("*").to_owned(),
                points: s["pointlist"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?)))
                    .collect(),
            })
            .collect();
        Ok(QueryAnswer::Series(series))
    }

    pub async fn status(&self) -> Result<Value, ApiError> {
        self.get("/status", &[]).await
    }

    pub async fn monitors(&self) -> Result<Vec<Value>, ApiError> {
        Ok(array(self.get("/api/v1/monitor", &[]).await?))
    }

    /// A monitor's transitions, oldest first.
    pub async fn monitor_history(&self, id: u64) -> Result<Vec<Value>, ApiError> {
        let h = self
            .get(&format!("/api/v0/monitors/{id}/history"), &[])
            .await?;
        Ok(array(h["transitions"].clone()))
    }

    /// Every dashboard, whole (the list only has summaries).
    pub async fn dashboards(&self) -> Result<Vec<Value>, ApiError> {
        let list = self.get("/api/v1/dashboard", &[]).await?;
        let mut whole = Vec::new();
        for summary in array(list["dashboards"].clone()) {
            let Some(id) = summary["id"].as_str() else {
                continue;
            };
            if let Some(d) = self
                .get_opt(&format!("/api/v1/dashboard/{id}"), &[])
                .await?
            {
                whole.push(d);
            }
        }
        Ok(whole)
    }

    pub async fn slos(&self) -> Result<Vec<Value>, ApiError> {
        Ok(array(self.get("/api/v1/slo", &[]).await?["data"].clone()))
    }

    /// An SLO's history over the last `minutes`: Datadog's `data` object.
    pub async fn slo_history(&self, id: &str, minutes: i64) -> Result<Value, ApiError> {
        let to = now_secs();
        let from = to - minutes * 60;
        let h = self
            .get(
                &format!("/api/v1/slo/{id}/history"),
                &[("from_ts", from.to_string()), ("to_ts", to.to_string())],
            )
            .await?;
        Ok(h["data"].clone())
    }

    /// Trace search, newest first: `[(name, value)]` as `/api/v0/traces` takes them.
    pub async fn traces(&self, search: &[(&str, String)]) -> Result<Vec<Value>, ApiError> {
        Ok(array(
            self.get("/api/v0/traces", search).await?["traces"].clone(),
        ))
    }

    /// One trace's spans; `None` when agent-lite does not keep it (or the id is not one).
    pub async fn trace(&self, trace_id: &str) -> Result<Option<Vec<Value>>, ApiError> {
        if trace_id.is_empty() || !trace_id.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
        Ok(self
            .get_opt(&format!("/api/v0/traces/{trace_id}"), &[])
            .await?
            .map(|t| array(t["spans"].clone())))
    }

    pub async fn logs(&self, search: &[(&str, String)]) -> Result<Vec<Value>, ApiError> {
        Ok(array(
            self.get("/api/v0/logs", search).await?["logs"].clone(),
        ))
    }

    /// The event stream of the last `minutes`, newest first.
    pub async fn events(&self, minutes: i64) -> Result<Vec<Value>, ApiError> {
        let end = now_secs();
        let start = end - minutes * 60;
        let e = self
            .get(
                "/api/v1/events",
                &[("start", start.to_string()), ("end", end.to_string())],
            )
            .await?;
        Ok(array(e["events"].clone()))
    }

    pub async fn service_map(&self) -> Result<Value, ApiError> {
        self.get("/api/v0/service_map", &[]).await
    }

    pub async fn profiles(&self, service: &str) -> Result<Vec<Value>, ApiError> {
        Ok(array(
            self.get("/api/v0/profiles", &[("service", service.to_owned())])
                .await?["profiles"]
                .clone(),
        ))
    }

    /// The functions of `service`'s CPU profiles of the last `minutes` by self time:
    /// `(function, self value, the whole profiles' value)`, hottest first.
    pub async fn hot_functions(
        &self,
        service: &str,
        minutes: i64,
    ) -> Result<(Vec<(String, f64)>, f64), ApiError> {
        let to = now_secs();
        let search = [
            ("service", service.to_owned()),
            ("type", "cpu".to_owned()),
            ("from", (to - minutes * 60).to_string()),
            ("to", to.to_string()),
        ];
        // The top table has its own route in newer agent-lites; older ones put it beside the
        // flame tree of the aggregate.
        let answer = match self.get_opt("/api/v0/profiles/top", &search).await? {
            Some(top) => top,
            None => self.get("/api/v0/profiles/aggregate", &search).await?,
        };
        let whole = answer["total"]
            .as_f64()
            .or_else(|| answer["value"].as_f64())
            .unwrap_or(0.0);
        let mut functions: Vec<(String, f64)> = array(answer["top"].clone())
            .iter()
            .filter_map(|f| Some((f["name"].as_str()?.to_owned(), f["self"].as_f64()?)))
            .collect();
        functions.sort_by(|a, b| b.1.total_cmp(&a.1));
        Ok((functions, whole))
    }
}

fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        _ => Vec::new(),
    }
}

/// What a refused connection or a timeout comes down to, without reqwest's nesting.
fn reqwest_reason(e: &reqwest::Error) -> String {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    reason
}
