//! Reading a student's monitor (Datadog's monitor JSON, as `/api/v1/monitor` returns it, with
//! agent-lite's `state` and `agent_lite` parts) and its transition history.

use serde_json::Value;

use super::client::{ApiError, LabApi};
use super::lang::{tr, Lang};
use super::report::Report;

/// The monitor whose name starts with `name` (case and surrounding spaces aside), said in
/// `report`; when there is none, the names of the monitors that mention "bootcamp".
pub async fn find_or_say(
    api: &LabApi,
    name: &str,
    lang: Lang,
    report: &mut Report,
) -> Result<Option<Value>, ApiError> {
    let wanted = name.trim().to_lowercase();
    let monitors = api.monitors().await?;
    let found = monitors.iter().find(|m| {
        m["name"]
            .as_str()
            .is_some_and(|n| n.trim().to_lowercase().starts_with(&wanted))
    });
    match found {
        Some(m) => {
            let (shown, id) = (m["name"].as_str().unwrap_or(""), &m["id"]);
            report.ok(tr!(
                lang,
                "monitor \"{shown}\" found (id {id})",
                "moniteur \"{shown}\" trouvé (id {id})"
            ));
            Ok(Some(m.clone()))
        }
        None => {
            let close: Vec<&str> = monitors
                .iter()
                .filter_map(|m| m["name"].as_str())
                .filter(|n| n.to_lowercase().contains("bootcamp"))
                .collect();
            let there = if close.is_empty() {
                String::new()
            } else {
                tr!(
                    lang,
                    " (the lab's Bootcamp monitors: {})",
                    " (les moniteurs Bootcamp du lab : {})",
                    close
                        .iter()
                        .map(|n| format!("\"{n}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            report.missing(tr!(
                lang,
                "no monitor whose name starts with \"{name}\"{there}",
                "aucun moniteur dont le nom commence par \"{name}\"{there}"
            ));
            Ok(None)
        }
    }
}

/// The `(time, group)` of each transition of `history` into `state` ("Alert", "OK", ...).
pub fn entered(history: &[Value], state: &str) -> Vec<(i64, String)> {
    history
        .iter()
        .filter(|t| t["to"] == state)
        .filter_map(|t| {
            Some((
                t["ts"].as_i64()?,
                t["group"].as_str().unwrap_or("*").to_owned(),
            ))
        })
        .collect()
}

/// The time aggregation and window of a metric monitor's query: `avg(last_5m):...` gives
/// `("avg", "last_5m")`.
pub fn aggregation_and_window(query: &str) -> Option<(String, String)> {
    let (head, _) = query.split_once(':')?;
    let (aggregation, rest) = head.split_once('(')?;
    let window = rest.split(')').next()?;
    Some((
        aggregation.trim().to_lowercase(),
        window.trim().to_lowercase(),
    ))
}

/// The number a metric monitor's query compares with (`... > 80` gives 80).
pub fn compared_with(query: &str) -> Option<f64> {
    let at = query.rfind(['>', '<'])?;
    query[at + 1..].trim_start_matches('=').trim().parse().ok()
}

/// A time as a student reads it beside the page: `14:02:31 UTC`.
pub fn clock(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || secs.to_string(),
        |t| t.format("%H:%M:%S UTC").to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_monitor_query_gives_its_aggregation_window_and_threshold() {
        let q = "avg(last_5m):avg:system.cpu.user{host:lab} by {host} > 80";
        assert_eq!(
            aggregation_and_window(q),
            Some(("avg".into(), "last_5m".into()))
        );
        assert_eq!(compared_with(q), Some(80.0));
        assert_eq!(compared_with("sum(last_1m):a{*} / b{*} >= 0.1"), Some(0.1));
    }
}
