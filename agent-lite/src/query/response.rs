//! The answer of `GET /api/v1/query` in the shape of Datadog's v1 API, so that scripts and
//! dashboards written against Datadog read agent-lite unchanged.

use serde_json::{json, Value};

use super::eval::{evaluate, EvalError, Series};
use super::parser::{parse_list, ParseError};
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Eval(#[from] EvalError),
}

/// Parses and evaluates `query` (one or more comma-separated expressions) over `[from, to]`
/// in seconds, and builds Datadog's v1 response.
pub fn v1_query(store: &Store, query: &str, from: i64, to: i64) -> Result<Value, QueryError> {
    let exprs = parse_list(query)?;
    let mut series = Vec::new();
    let mut group_by: Vec<String> = Vec::new();
    for (index, expr) in exprs.iter().enumerate() {
        for s in evaluate(expr, store, from, to)? {
            for t in &s.tag_set {
                let key = t.split_once(':').map_or(t.as_str(), |(k, _)| k);
                if !group_by.iter().any(|g| g == key) {
                    group_by.push(key.to_owned());
                }
            }
            series.push(series_json(&s, index));
        }
    }
    Ok(json!({
        "status": "ok",
        "res_type": "time_series",
        "resp_version": 1,
        "query": query,
        // Saturating: `from` and `to` come from the URL, any i64 (found by fuzzing).
        "from_date": from.saturating_mul(1000),
        "to_date": to.saturating_mul(1000),
        "series": series,
        "group_by": group_by,
        "message": "",
        "values": [],
        "times": [],
    }))
}

fn series_json(s: &Series, query_index: usize) -> Value {
    let pointlist: Vec<[f64; 2]> = s
        .points
        .iter()
        .map(|(t, v)| [(*t * 1000) as f64, *v])
        .collect();
    let start = s.points.first().map(|(t, _)| t * 1000);
    // Datadog's `end` is the last millisecond covered by the last point.
    let end = s.points.last().map(|(t, _)| (t + s.interval) * 1000 - 1);
    json!({
        "metric": s.metric,
        "display_name": s.metric,
        "expression": s.expression,
        "scope": s.scope,
        "tag_set": s.tag_set,
        "aggr": s.aggr,
        "interval": s.interval,
        "length": pointlist.len(),
        "start": start,
        "end": end,
        "pointlist": pointlist,
        "query_index": query_index,
        "unit": null,
        "attributes": {},
    })
}
