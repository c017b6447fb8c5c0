//! The SLO API's answers in Datadog's shapes: an SLO as `ServiceLevelObjective`, and
//! `GET /api/v1/slo/{id}/history` as `SLOHistoryResponse` (data.overall with `sli_value` and
//! `error_budget_remaining` per timeframe, data.series with the numerator's and denominator's
//! counts for a metric SLO, data.monitors for a monitor SLO). What Datadog has no field for -
//! the good and total counts, the burn-down of each timeframe's budget - is under
//! `data.agent_lite`; Datadog's client keeps unknown fields, so nothing breaks on it.

use serde_json::{json, Map, Value};

use super::definition::{timeframe_secs, Indicator};
use super::registry::SloEntry;
use super::sli::Computation;
use crate::monitors::registry::Source;

/// Floats where Datadog's schema says float (its Python client checks types).
fn f(v: f64) -> Value {
    json!(v)
}

pub fn kind_name(e: &SloEntry) -> &'static str {
    match e.checked.indicator {
        Indicator::Metric { .. } => "metric",
        Indicator::Monitor { .. } => "monitor",
        Indicator::TimeSlice { .. } => "time_slice",
    }
}

/// An SLO as Datadog's `GET /api/v1/slo` lists it.
pub fn api_view(e: &SloEntry) -> Value {
    let slo = &e.checked.slo;
    let mut v = serde_json::to_value(slo).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("description".into(), json!(slo.description));
        map.insert("created_at".into(), json!(e.created));
        map.insert("modified_at".into(), json!(e.modified));
        map.insert(
            "creator".into(),
            json!({"email": "agent-lite@localhost", "handle": "agent-lite", "name": "agent-lite"}),
        );
        map.insert("monitor_tags".into(), json!([]));
        // Datadog echoes the primary (first) threshold at the top level.
        if let Some(t) = slo.thresholds.first() {
            map.insert("timeframe".into(), json!(t.timeframe));
            map.insert("target_threshold".into(), f(t.target));
            if let Some(w) = t.warning {
                map.insert("warning_threshold".into(), f(w));
            }
        }
        map.insert(
            "agent_lite".into(),
            json!({"source": if e.source == Source::File { "file" } else { "api" }}),
        );
    }
    v
}

/// Seconds between two points of a history over `span` seconds: at most 300 points, in
/// whole minutes past 10 minutes so that the times read well.
pub fn history_interval(span: i64) -> i64 {
    let raw = (span / 300).max(10);
    if raw <= 60 {
        (raw + 9) / 10 * 10
    } else {
        (raw + 59) / 60 * 60
    }
}

/// The `data` of `SLOHistoryResponse`.
pub fn history_view(
    e: &SloEntry,
    c: &Computation,
    from: i64,
    to: i64,
    interval: i64,
    monitors: &[(u64, String, Computation)],
) -> Value {
    let slo = &e.checked.slo;
    let mut thresholds = Map::new();
    let mut remaining = Map::new();
    let mut precision = Map::new();
    let mut burn_down = Map::new();
    for t in &slo.thresholds {
        let mut tv = serde_json::to_value(t).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut tv {
            m.insert("target".into(), f(t.target));
            m.entry("target_display")
                .or_insert_with(|| json!(format!("{:.3}", t.target)));
            if let Some(w) = t.warning {
                m.insert("warning".into(), f(w));
                m.entry("warning_display")
                    .or_insert_with(|| json!(format!("{w:.3}")));
            }
        }
        thresholds.insert(t.timeframe.clone(), tv);
        remaining.insert(t.timeframe.clone(), f(c.budget_remaining(t.target)));
        precision.insert(t.timeframe.clone(), f(2.0));
        let points: Vec<Value> = c
            .burn_down(t.target)
            .into_iter()
            .map(|(ts, r)| json!([ts as f64, r]))
            .collect();
        burn_down.insert(t.timeframe.clone(), Value::Array(points));
    }
    let errors: Vec<Value> = c
        .errors
        .iter()
        .map(|m| json!({"error_message": m, "error_type": "query_error"}))
        .collect();
    let history: Vec<Value> = match e.checked.indicator {
        Indicator::Monitor { .. } => c
            .transitions
            .iter()
            .map(|&(ts, down)| json!([ts as f64, f64::from(down)]))
            .collect(),
        // The SLI of each interval, for graphing.
        _ => c
            .intervals
            .iter()
            .filter(|(_, _, t)| *t > 0.0)
            .map(|&(ts, g, t)| json!([ts as f64, 100.0 * g / t]))
            .collect(),
    };
    let mut overall = json!({
        "name": slo.name,
        "sli_value": c.sli(),
        "span_precision": 2.0,
        "precision": precision,
        "preview": false,
        "history": history,
        "error_budget_remaining": remaining,
    });
    if !errors.is_empty() {
        overall["errors"] = Value::Array(errors);
    }
    let mut data = json!({
        "from_ts": from,
        "to_ts": to,
        "type": kind_name(e),
        "type_id": e.checked.type_id(),
        "thresholds": thresholds,
        "overall": overall,
        "agent_lite": {
            "good": c.good,
            "total": c.total,
            "bad": c.bad(),
            "interval": interval,
            "burn_down": burn_down,
            "unit": match e.checked.indicator {
                Indicator::Metric { .. } => "events",
                Indicator::Monitor { .. } => "seconds",
                Indicator::TimeSlice { .. } => "slices",
            },
        },
    });
    match &e.checked.indicator {
        Indicator::Metric { .. } => {
            let q = slo.query.as_ref();
            let num = q.map_or("", |q| q.numerator.as_str());
            let den = q.map_or("", |q| q.denominator.as_str());
            let times: Vec<Value> = c.intervals.iter().map(|i| f(i.0 as f64 * 1000.0)).collect();
            let side = |values: Vec<f64>, sum: f64, expr: &str, index: i64| {
                json!({
                    "count": values.len(),
                    "sum": f(sum),
                    "values": values,
                    "metadata": {"expression": expr, "query_index": index, "aggr": "sum"},
                })
            };
            data["series"] = json!({
                "numerator": side(c.intervals.iter().map(|i| i.1).collect(), c.good, num, 0),
                "denominator": side(c.intervals.iter().map(|i| i.2).collect(), c.total, den, 1),
                "interval": interval,
                "query": format!("{num},{den}"),
                "res_type": "time_series",
                "resp_version": 2,
                "times": times,
            });
        }
        Indicator::Monitor { .. } => {
            let list: Vec<Value> = monitors
                .iter()
                .map(|(id, name, one)| {
                    json!({
                        "monitor_type": "query alert",
                        "name": name,
                        "monitor_modified": e.modified,
                        "preview": false,
                        "precision": 2.0,
                        "span_precision": 2.0,
                        "sli_value": one.sli(),
                        "uptime": one.sli().unwrap_or(100.0),
                        "history": one.transitions.iter().map(|&(ts, d)| json!([ts as f64, f64::from(d)])).collect::<Vec<_>>(),
                        "group": id.to_string(),
                    })
                })
                .collect();
            data["monitors"] = Value::Array(list);
        }
        Indicator::TimeSlice { .. } => {}
    }
    data
}

/// Whether a history range is one Datadog would answer: from before to, at most 90 days.
pub fn check_range(from: i64, to: i64) -> Result<(), String> {
    if from >= to {
        return Err(format!("from_ts ({from}) must be before to_ts ({to})"));
    }
    let max = timeframe_secs("90d").unwrap_or(0);
    if to - from > max {
        return Err(format!("the range {from}..{to} is longer than 90 days"));
    }
    Ok(())
}
