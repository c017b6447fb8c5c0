//! A raw log line to a record, as Datadog's pipelines would remap it: JSON lines give their
//! `message`/`msg`, `level`/`status`/`severity`, `timestamp`/`time`, and the `dd.*` attributes
//! that join a line to its trace (flat `dd.trace_id` or nested `{"dd": {"trace_id"}}`); other
//! lines are kept whole, with a status guessed from their first words.

use serde_json::{Map, Value};

use crate::store::logs::LogRecord;

/// Datadog's status names from the usual level spellings.
fn status_of(level: &str) -> String {
    match level.to_ascii_lowercase().as_str() {
        "error" | "err" | "fatal" | "critical" | "crit" | "panic" | "emergency" | "alert" => {
            "error".into()
        }
        "warn" | "warning" => "warn".into(),
        "debug" | "trace" => "debug".into(),
        _ => "info".into(),
    }
}

fn take_str(map: &mut Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match map.remove(*k) {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            map.insert((*k).to_owned(), other);
            None
        }
        None => None,
    })
}

/// `dd.<key>`, flat or nested under `dd`.
fn take_dd(map: &mut Map<String, Value>, key: &str) -> Option<String> {
    if let Some(v) = take_str(map, &[&format!("dd.{key}")]) {
        return Some(v);
    }
    match map.get_mut("dd") {
        Some(Value::Object(dd)) => take_str(dd, &[key]),
        _ => None,
    }
}

fn timestamp_of(v: Option<Value>, now: f64) -> f64 {
    match v {
        Some(Value::Number(n)) => {
            let t = n.as_f64().unwrap_or(now);
            // Milliseconds when it is too big to be seconds.
            if t > 1e11 {
                t / 1000.0
            } else {
                t
            }
        }
        Some(Value::String(s)) => chrono::DateTime::parse_from_rfc3339(&s)
            .map(|d| d.timestamp_micros() as f64 / 1e6)
            .unwrap_or(now),
        _ => now,
    }
}

pub fn parse(line: &str, source: &str, default_service: Option<&str>, now: f64) -> LogRecord {
    parse_as(line, source, default_service, "info", now)
}

/// As `parse`, with the status a line gets when it names none: a container's stderr lines
/// are errors unless they say otherwise, as the Agent's Docker tailer has them.
pub fn parse_as(
    line: &str,
    source: &str,
    default_service: Option<&str>,
    default_status: &str,
    now: f64,
) -> LogRecord {
    let line = line.trim_end_matches(['\r', '\n']);
    if let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(line) {
        let message = take_str(&mut map, &["message", "msg"]).unwrap_or_default();
        let status = take_str(&mut map, &["status", "level", "severity"])
            .map(|l| status_of(&l))
            .unwrap_or_else(|| default_status.into());
        let ts = ["timestamp", "time", "ts", "@timestamp"]
            .iter()
            .find_map(|k| map.remove(*k));
        let trace_id = take_dd(&mut map, "trace_id");
        let span_id = take_dd(&mut map, "span_id");
        let service = take_dd(&mut map, "service")
            .or_else(|| take_str(&mut map, &["service"]))
            .or_else(|| default_service.map(str::to_owned));
        let env = take_dd(&mut map, "env");
        let version = take_dd(&mut map, "version");
        if matches!(map.get("dd"), Some(Value::Object(o)) if o.is_empty()) {
            map.remove("dd");
        }
        return LogRecord {
            timestamp: timestamp_of(ts, now),
            status,
            service,
            env,
            version,
            message,
            trace_id,
            span_id,
            host: take_str(&mut map, &["host", "hostname"]),
            source: source.to_owned(),
            container_name: None,
            short_image: None,
            attributes: map,
        };
    }
    let first = line
        .split_whitespace()
        .take(3)
        .find(|w| {
            let w = w.trim_matches(|c: char| !c.is_ascii_alphabetic());
            matches!(
                w.to_ascii_lowercase().as_str(),
                "error" | "err" | "fatal" | "warn" | "warning" | "debug" | "info"
            )
        })
        .map(|w| status_of(w.trim_matches(|c: char| !c.is_ascii_alphabetic())));
    LogRecord {
        timestamp: now,
        status: first.unwrap_or_else(|| default_status.into()),
        service: default_service.map(str::to_owned),
        env: None,
        version: None,
        message: line.to_owned(),
        trace_id: None,
        span_id: None,
        host: None,
        source: source.to_owned(),
        container_name: None,
        short_image: None,
        attributes: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_services_lines_join_their_trace() {
        let r = parse(
            r#"{"timestamp":"2026-11-25T12:00:00.5Z","level":"ERROR","message":"stock reservation failed","logger":"demo_service::checkout","dd.trace_id":"1234","dd.span_id":"99","dd.service":"demo-service","dd.env":"dev","dd.version":"1.0","http.status_code":500}"#,
            "/var/log/demo.log",
            None,
            0.0,
        );
        assert_eq!(r.status, "error");
        assert_eq!(r.message, "stock reservation failed");
        assert_eq!(r.trace_id.as_deref(), Some("1234"));
        assert_eq!(r.service.as_deref(), Some("demo-service"));
        assert_eq!(r.env.as_deref(), Some("dev"));
        assert_eq!(r.timestamp, 1_795_608_000.5);
        assert_eq!(r.attributes["logger"], "demo_service::checkout");
        assert_eq!(r.attributes["http.status_code"], 500);
    }

    #[test]
    fn pythons_nested_dd_and_plain_lines() {
        let r = parse(
            r#"{"msg":"hi","severity":"warning","dd":{"trace_id":"7","service":"flask"}}"#,
            "c",
            Some("fallback"),
            5.0,
        );
        assert_eq!(
            (
                r.status.as_str(),
                r.trace_id.as_deref(),
                r.service.as_deref()
            ),
            ("warn", Some("7"), Some("flask"))
        );
        assert!(r.attributes.get("dd").is_none());
        let plain = parse("2026-11-25 ERROR boom", "c", Some("web"), 5.0);
        assert_eq!(plain.status, "error");
        assert_eq!(plain.service.as_deref(), Some("web"));
        assert_eq!(plain.message, "2026-11-25 ERROR boom");
        assert_eq!(parse("[1, 2]", "c", None, 1.0).message, "[1, 2]");
    }

    #[test]
    fn a_default_status_applies_only_to_lines_that_name_none() {
        assert_eq!(parse_as("boom", "c", None, "error", 1.0).status, "error");
        assert_eq!(
            parse_as("INFO: ready", "c", None, "error", 1.0).status,
            "info"
        );
        assert_eq!(
            parse_as(r#"{"message":"x"}"#, "c", None, "error", 1.0).status,
            "error"
        );
        assert_eq!(
            parse_as(
                r#"{"message":"x","level":"debug"}"#,
                "c",
                None,
                "error",
                1.0
            )
            .status,
            "debug"
        );
    }
}
