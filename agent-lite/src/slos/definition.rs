//! An SLO in Datadog's API shape (`ServiceLevelObjective` of Datadog's v1 OpenAPI
//! specification), as `POST /api/v1/slo` takes it and Datadog exports it: a `metric` SLO
//! (good events over total events), a `monitor` SLO (uptime of monitors) or a `time_slice`
//! SLO (the share of one- or five-minute slices where a query meets a threshold).
//!
//! The body is checked field by field from its JSON before it is read as an [`Slo`], so a
//! refusal names the field (`thresholds[0].target`) and the reason, as Datadog's 400s do.
//! Fields agent-lite does not act on are kept as they came.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::monitors::monitor_query::Comparator;
use crate::query::ast::Expr;
use crate::query::parser;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Slo {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub thresholds: Vec<Threshold>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<RatioQuery>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub monitor_ids: Vec<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sli_specification: Option<Value>,
    /// Everything else (timeframe, target_threshold, warning_threshold, ...), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Threshold {
    pub timeframe: String,
    pub target: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<f64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RatioQuery {
    pub numerator: String,
    pub denominator: String,
}

/// What an SLO measures, parsed.
#[derive(Debug, Clone)]
pub enum Indicator {
    /// Good events (numerator) over total events (denominator), counted per 10 s bucket.
    Metric { numerator: Expr, denominator: Expr },
    /// Uptime of monitors: down while any of them (or of `groups`) is in Alert.
    Monitor { ids: Vec<u64>, groups: Vec<String> },
    /// A slice is good when `expr comparator threshold` holds over it.
    TimeSlice {
        expr: Expr,
        comparator: Comparator,
        threshold: f64,
        slice_secs: i64,
    },
}

/// An SLO ready to compute.
#[derive(Debug, Clone)]
pub struct CheckedSlo {
    pub slo: Slo,
    pub indicator: Indicator,
}

/// A refusal: the field, in Datadog's JSON path, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct Invalid {
    pub field: String,
    pub reason: String,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Invalid {
    Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Datadog's timeframes with a fixed length (`custom` needs dates agent-lite has no use for).
pub fn timeframe_secs(tf: &str) -> Option<i64> {
    match tf {
        "7d" => Some(7 * 86_400),
        "30d" => Some(30 * 86_400),
        "90d" => Some(90 * 86_400),
        _ => None,
    }
}

fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn string_at<'a>(obj: &'a Map<String, Value>, name: &str, path: &str) -> Result<&'a str, Invalid> {
    match field(obj, name) {
        None => Err(invalid(path, "is required")),
        Some(Value::String(s)) if s.trim().is_empty() => Err(invalid(path, "is empty")),
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(invalid(
            path,
            format!("must be a string, not {}", kind_of(other)),
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn metric_expr(text: &str, path: &str) -> Result<Expr, Invalid> {
    parser::parse(text).map_err(|e| invalid(path, format!("not a metric query: {e}")))
}

/// Checks a definition as Datadog's API would and parses what evaluation needs.
pub fn check(value: Value) -> Result<CheckedSlo, Invalid> {
    let Value::Object(obj) = &value else {
        return Err(invalid(
            "(body)",
            format!("an SLO is a JSON object, not {}", kind_of(&value)),
        ));
    };
    string_at(obj, "name", "name")?;
    let kind = string_at(obj, "type", "type")?.to_owned();
    if !matches!(kind.as_str(), "metric" | "monitor" | "time_slice") {
        return Err(invalid(
            "type",
            format!("{kind:?} is not an SLO type: metric, monitor or time_slice"),
        ));
    }
    check_thresholds(field(obj, "thresholds"))?;
    if let Some(tags) = field(obj, "tags") {
        let ok = tags
            .as_array()
            .is_some_and(|l| l.iter().all(Value::is_string));
        if !ok {
            return Err(invalid("tags", "must be an array of strings"));
        }
    }
    if let Some(d) = field(obj, "description") {
        if !d.is_string() {
            return Err(invalid("description", "must be a string"));
        }
    }
    let indicator = match kind.as_str() {
        "metric" => metric_indicator(obj)?,
        "monitor" => monitor_indicator(obj)?,
        _ => time_slice_indicator(obj)?,
    };
    let slo: Slo = serde_json::from_value(value.clone())
        .map_err(|e| invalid("(body)", format!("not a Datadog SLO: {e}")))?;
    Ok(CheckedSlo { slo, indicator })
}

fn check_thresholds(v: Option<&Value>) -> Result<(), Invalid> {
    let list = match v {
        None => return Err(invalid("thresholds", "is required")),
        Some(Value::Array(l)) if l.is_empty() => {
            return Err(invalid("thresholds", "needs at least one threshold"))
        }
        Some(Value::Array(l)) => l,
        Some(other) => {
            return Err(invalid(
                "thresholds",
                format!("must be an array, not {}", kind_of(other)),
            ))
        }
    };
    let mut seen = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let path = format!("thresholds[{i}]");
        let Value::Object(t) = t else {
            return Err(invalid(path, "must be an object"));
        };
        let tf = string_at(t, "timeframe", &format!("{path}.timeframe"))?;
        if timeframe_secs(tf).is_none() {
            return Err(invalid(
                format!("{path}.timeframe"),
                format!("{tf:?} is not a timeframe agent-lite computes: 7d, 30d or 90d"),
            ));
        }
        if seen.contains(&tf) {
            return Err(invalid(
                format!("{path}.timeframe"),
                format!("{tf} appears twice"),
            ));
        }
        seen.push(tf);
        let target = match field(t, "target").map(Value::as_f64) {
            None => return Err(invalid(format!("{path}.target"), "is required")),
            Some(None) => return Err(invalid(format!("{path}.target"), "must be a number")),
            Some(Some(v)) => v,
        };
        // Datadog's bounds: a target of 100 leaves no error budget to burn.
        if !(target > 0.0 && target < 100.0) {
            return Err(invalid(
                format!("{path}.target"),
                format!("{target} must be above 0 and below 100 (a percentage)"),
            ));
        }
        match field(t, "warning").map(Value::as_f64) {
            None => {}
            Some(None) => return Err(invalid(format!("{path}.warning"), "must be a number")),
            Some(Some(w)) if !(w > target && w < 100.0) => {
                return Err(invalid(
                    format!("{path}.warning"),
                    format!("{w} must be above the target ({target}) and below 100"),
                ))
            }
            Some(Some(_)) => {}
        }
    }
    Ok(())
}

fn metric_indicator(obj: &Map<String, Value>) -> Result<Indicator, Invalid> {
    let Some(Value::Object(q)) = field(obj, "query") else {
        return Err(invalid(
            "query",
            "a metric SLO needs query.numerator and query.denominator",
        ));
    };
    let num = string_at(q, "numerator", "query.numerator")?;
    let den = string_at(q, "denominator", "query.denominator")?;
    Ok(Indicator::Metric {
        numerator: metric_expr(num, "query.numerator")?,
        denominator: metric_expr(den, "query.denominator")?,
    })
}

fn monitor_indicator(obj: &Map<String, Value>) -> Result<Indicator, Invalid> {
    let ids = match field(obj, "monitor_ids") {
        Some(Value::Array(l)) if !l.is_empty() => l,
        Some(Value::Array(_)) | None => {
            return Err(invalid(
                "monitor_ids",
                "a monitor SLO needs at least one monitor id",
            ))
        }
        Some(other) => {
            return Err(invalid(
                "monitor_ids",
                format!("must be an array, not {}", kind_of(other)),
            ))
        }
    };
    let mut out = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        match id.as_u64() {
            Some(id) => out.push(id),
            None => {
                return Err(invalid(
                    format!("monitor_ids[{i}]"),
                    "must be a monitor id (a positive integer)",
                ))
            }
        }
    }
    let mut groups = Vec::new();
    if let Some(g) = field(obj, "groups") {
        let Some(list) = g.as_array().filter(|l| l.iter().all(Value::is_string)) else {
            return Err(invalid("groups", "must be an array of strings"));
        };
        if !list.is_empty() && out.len() != 1 {
            // Datadog's rule: groups narrow one monitor.
            return Err(invalid(
                "groups",
                "groups need exactly one monitor in monitor_ids",
            ));
        }
        groups = list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
    }
    Ok(Indicator::Monitor { ids: out, groups })
}

fn time_slice_indicator(obj: &Map<String, Value>) -> Result<Indicator, Invalid> {
    const BASE: &str = "sli_specification.time_slice";
    let ts = field(obj, "sli_specification")
        .and_then(|s| s.get("time_slice"))
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(BASE, "a time_slice SLO needs sli_specification.time_slice"))?;
    let comparator = match string_at(ts, "comparator", &format!("{BASE}.comparator"))? {
        ">" => Comparator::Above,
        ">=" => Comparator::AboveOrEqual,
        "<" => Comparator::Below,
        "<=" => Comparator::BelowOrEqual,
        other => {
            return Err(invalid(
                format!("{BASE}.comparator"),
                format!("{other:?} is not one of >, >=, <, <="),
            ))
        }
    };
    let threshold = field(ts, "threshold")
        .and_then(Value::as_f64)
        .ok_or_else(|| {
            invalid(
                format!("{BASE}.threshold"),
                "is required and must be a number",
            )
        })?;
    // Datadog takes 60 or 300 seconds, and 300 when the field is missing.
    let slice_secs = match field(ts, "query_interval_seconds") {
        None => 300,
        Some(v) => match v.as_i64() {
            Some(s @ (60 | 300)) => s,
            _ => {
                return Err(invalid(
                    format!("{BASE}.query_interval_seconds"),
                    format!("{v} is not 60 or 300"),
                ))
            }
        },
    };
    let q = field(ts, "query")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            invalid(
                format!("{BASE}.query"),
                "is required (formulas and queries)",
            )
        })?;
    let queries = field(q, "queries")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty())
        .ok_or_else(|| invalid(format!("{BASE}.query.queries"), "needs at least one query"))?;
    let mut named = Vec::new();
    for (i, item) in queries.iter().enumerate() {
        let path = format!("{BASE}.query.queries[{i}]");
        let item = item
            .as_object()
            .ok_or_else(|| invalid(&path, "must be an object"))?;
        let source = string_at(item, "data_source", &format!("{path}.data_source"))?;
        if source != "metrics" {
            return Err(invalid(
                format!("{path}.data_source"),
                format!("{source:?}: a time-slice SLO queries \"metrics\""),
            ));
        }
        let name = string_at(item, "name", &format!("{path}.name"))?;
        let text = string_at(item, "query", &format!("{path}.query"))?;
        metric_expr(text, &format!("{path}.query"))?;
        named.push((name.to_owned(), text.to_owned()));
    }
    let formulas = field(q, "formulas").and_then(Value::as_array);
    let formula = match formulas.map(Vec::as_slice) {
        Some([one]) => one
            .get("formula")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("{BASE}.query.formulas[0].formula"), "is required"))?,
        _ => {
            return Err(invalid(
                format!("{BASE}.query.formulas"),
                "needs exactly one formula, as Datadog requires",
            ))
        }
    };
    let expr = formula_expr(formula, &named)
        .map_err(|reason| invalid(format!("{BASE}.query.formulas[0].formula"), reason))?;
    Ok(Indicator::TimeSlice {
        expr,
        comparator,
        threshold,
        slice_secs,
    })
}

/// A formula (`query1`, `query1 / query2 * 100`) as one metric expression: each query name
/// replaced by its query in parentheses, then read by the metric query parser, which already
/// has the arithmetic. Names are whole words, so `query1` does not match inside `query10`.
pub fn formula_expr(formula: &str, named: &[(String, String)]) -> Result<Expr, String> {
    let mut text = String::new();
    let mut word = String::new();
    let mut used = false;
    let mut flush = |word: &mut String, text: &mut String| -> Result<(), String> {
        if word.is_empty() {
            return Ok(());
        }
        if word.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            text.push_str(word);
        } else if let Some((_, q)) = named.iter().find(|(n, _)| n == word) {
            text.push('(');
            text.push_str(q);
            text.push(')');
            used = true;
        } else {
            return Err(format!("{word:?} names no query of queries[]"));
        }
        word.clear();
        Ok(())
    };
    for c in formula.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
            word.push(c);
        } else if matches!(c, '+' | '-' | '*' | '/' | '(' | ')' | ' ') {
            flush(&mut word, &mut text)?;
            text.push(c);
        } else {
            return Err(format!(
                "{c:?} is not allowed in a formula (names, numbers, + - * / and parentheses)"
            ));
        }
    }
    flush(&mut word, &mut text)?;
    if !used {
        return Err("the formula uses no query".into());
    }
    parser::parse(&text).map_err(|e| format!("{e}"))
}

/// A 32-hex-digit id like Datadog's, the same for the same input (FNV-1a, two seeds).
pub fn hex_id(input: &str) -> String {
    let fnv = |seed: u64| {
        let mut h = seed;
        for b in input.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x8422_2325_cbf2_9ce4)
    )
}

impl CheckedSlo {
    pub fn id(&self) -> &str {
        &self.slo.id
    }

    /// The threshold of `timeframe`, else the first one (the SLO's primary).
    pub fn threshold(&self, timeframe: Option<&str>) -> Option<&Threshold> {
        match timeframe {
            Some(tf) => self.slo.thresholds.iter().find(|t| t.timeframe == tf),
            None => self.slo.thresholds.first(),
        }
    }

    pub fn type_id(&self) -> u8 {
        match self.indicator {
            Indicator::Monitor { .. } => 0,
            Indicator::Metric { .. } => 1,
            Indicator::TimeSlice { .. } => 2,
        }
    }
}
