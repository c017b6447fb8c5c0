//! The DogStatsD datagram format, line by line:
//!
//! - metrics `name:value[:value...]|type[|@rate][|#tag,tag][|T<unix ts>][|c:<container id>]`
//!   with type c, g, h, d, ms or s, the optional fields in any order;
//! - events `_e{<title len>,<text len>}:title|text[|d:ts][|h:host][|k:key][|p:prio][|s:source][|t:type][|#tags]`;
//! - service checks `_sc|name|status[|d:ts][|h:host][|#tags][|m:message]`.
//!
//! Hand-written: no crate of Datadog's publishes a DogStatsD parser for Rust (the Agent's is
//! Go, the serverless agent's is not on crates.io), and the format is a few `|`-separated
//! fields that borrow from the datagram without allocating.

use crate::store::events::{AlertType, Priority};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    Count,
    Gauge,
    Histogram,
    Distribution,
    Timer,
    Set,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Metric<'a> {
    pub name: &'a str,
    /// Raw values: numbers for every type but sets, whose members are strings.
    pub values: Vec<&'a str>,
    pub kind: MetricType,
    pub sample_rate: f64,
    pub tags: Vec<&'a str>,
    pub timestamp: Option<i64>,
    pub container: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventLine<'a> {
    pub title: &'a str,
    pub text: String,
    pub timestamp: Option<i64>,
    pub host: Option<&'a str>,
    pub aggregation_key: Option<&'a str>,
    pub priority: Priority,
    pub source: Option<&'a str>,
    pub alert_type: AlertType,
    pub tags: Vec<&'a str>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceCheck<'a> {
    pub name: &'a str,
    /// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub status: u8,
    pub timestamp: Option<i64>,
    pub host: Option<&'a str>,
    pub tags: Vec<&'a str>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Line<'a> {
    Metric(Metric<'a>),
    Event(EventLine<'a>),
    ServiceCheck(ServiceCheck<'a>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("no value: the line has no ':'")]
    NoValue,
    #[error("no type: the line has no '|'")]
    NoType,
    #[error("empty metric name")]
    EmptyName,
    #[error("unknown metric type {0:?}")]
    UnknownType(String),
    #[error("value {0:?} is not a number")]
    BadValue(String),
    #[error("sample rate {0:?} is not a number in (0, 1]")]
    BadSampleRate(String),
    #[error("timestamp {0:?} is not a unix time")]
    BadTimestamp(String),
    #[error("malformed event: {0}")]
    BadEvent(&'static str),
    #[error("malformed service check: {0}")]
    BadServiceCheck(&'static str),
}

impl ParseError {
    /// The reason counted in `datadog.agent_lite.dogstatsd.rejected`.
    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::NoValue => "no_value",
            ParseError::NoType => "no_type",
            ParseError::EmptyName => "empty_name",
            ParseError::UnknownType(_) => "unknown_type",
            ParseError::BadValue(_) => "bad_value",
            ParseError::BadSampleRate(_) => "bad_sample_rate",
            ParseError::BadTimestamp(_) => "bad_timestamp",
            ParseError::BadEvent(_) => "bad_event",
            ParseError::BadServiceCheck(_) => "bad_service_check",
        }
    }
}

/// Parses one line (no trailing newline).
pub fn parse_line(line: &str) -> Result<Line<'_>, ParseError> {
    if line.starts_with("_e{") {
        return parse_event(line).map(Line::Event);
    }
    if let Some(rest) = line.strip_prefix("_sc|") {
        return parse_service_check(rest).map(Line::ServiceCheck);
    }
    parse_metric(line).map(Line::Metric)
}

fn split_tags(raw: &str) -> Vec<&str> {
    raw.split(',').filter(|t| !t.is_empty()).collect()
}

fn parse_ts(raw: &str) -> Result<i64, ParseError> {
    raw.parse::<i64>()
        .ok()
        .filter(|t| *t >= 0)
        .ok_or_else(|| ParseError::BadTimestamp(raw.to_owned()))
}

fn parse_metric(line: &str) -> Result<Metric<'_>, ParseError> {
    let (name_values, rest) = line.split_once('|').ok_or(ParseError::NoType)?;
    let (name, values) = name_values.split_once(':').ok_or(ParseError::NoValue)?;
    if name.is_empty() {
        return Err(ParseError::EmptyName);
    }
    let mut fields = rest.split('|');
    let kind = match fields.next().unwrap_or("") {
        "c" => MetricType::Count,
        "g" => MetricType::Gauge,
        "h" => MetricType::Histogram,
        "d" => MetricType::Distribution,
        "ms" => MetricType::Timer,
        "s" => MetricType::Set,
        other => return Err(ParseError::UnknownType(other.to_owned())),
    };
    let values: Vec<&str> = values.split(':').collect();
    if kind != MetricType::Set {
        for v in &values {
            if v.parse::<f64>().map(|f| !f.is_finite()).unwrap_or(true) {
                return Err(ParseError::BadValue((*v).to_owned()));
            }
        }
    } else if values.iter().any(|v| v.is_empty()) {
        return Err(ParseError::BadValue(String::new()));
    }
    let mut metric = Metric {
        name,
        values,
        kind,
        sample_rate: 1.0,
        tags: Vec::new(),
        timestamp: None,
        container: None,
    };
    for field in fields {
        if let Some(rate) = field.strip_prefix('@') {
            metric.sample_rate = rate
                .parse::<f64>()
                .ok()
                .filter(|r| *r > 0.0 && *r <= 1.0)
                .ok_or_else(|| ParseError::BadSampleRate(rate.to_owned()))?;
        } else if let Some(tags) = field.strip_prefix('#') {
            metric.tags = split_tags(tags);
        } else if let Some(ts) = field.strip_prefix('T') {
            metric.timestamp = Some(parse_ts(ts)?);
        } else if let Some(c) = field.strip_prefix("c:") {
            metric.container = Some(c);
        }
        // Other fields (newer protocol extensions) are ignored, as the Agent does.
    }
    Ok(metric)
}

fn parse_event(line: &str) -> Result<EventLine<'_>, ParseError> {
    let header_end = line.find("}:").ok_or(ParseError::BadEvent("no '}:'"))?;
    let (tlen, xlen) = line[3..header_end]
        .split_once(',')
        .ok_or(ParseError::BadEvent("lengths are not {title,text}"))?;
    let tlen: usize = tlen
        .parse()
        .map_err(|_| ParseError::BadEvent("title length is not a number"))?;
    let xlen: usize = xlen
        .parse()
        .map_err(|_| ParseError::BadEvent("text length is not a number"))?;
    let body = &line[header_end + 2..];
    let title = body
        .get(..tlen)
        .ok_or(ParseError::BadEvent("title shorter than its length"))?;
    let after_title = &body[tlen..];
    let after_sep = after_title
        .strip_prefix('|')
        .ok_or(ParseError::BadEvent("no '|' after the title"))?;
    let text = after_sep
        .get(..xlen)
        .ok_or(ParseError::BadEvent("text shorter than its length"))?;
    if title.is_empty() {
        return Err(ParseError::BadEvent("empty title"));
    }
    let mut event = EventLine {
        title,
        // Clients escape newlines in the text as "\\n".
        text: text.replace("\\n", "\n"),
        timestamp: None,
        host: None,
        aggregation_key: None,
        priority: Priority::Normal,
        source: None,
        alert_type: AlertType::Info,
        tags: Vec::new(),
    };
    let rest = &after_sep[xlen..];
    for field in rest.split('|').filter(|f| !f.is_empty()) {
        if let Some(v) = field.strip_prefix("d:") {
            event.timestamp = Some(parse_ts(v)?);
        } else if let Some(v) = field.strip_prefix("h:") {
            event.host = Some(v);
        } else if let Some(v) = field.strip_prefix("k:") {
            event.aggregation_key = Some(v);
        } else if let Some(v) = field.strip_prefix("p:") {
            event.priority = Priority::from_dogstatsd(v);
        } else if let Some(v) = field.strip_prefix("s:") {
            event.source = Some(v);
        } else if let Some(v) = field.strip_prefix("t:") {
            event.alert_type = AlertType::from_dogstatsd(v);
        } else if let Some(v) = field.strip_prefix('#') {
            event.tags = split_tags(v);
        }
    }
    Ok(event)
}

fn parse_service_check(rest: &str) -> Result<ServiceCheck<'_>, ParseError> {
    let mut fields = rest.split('|');
    let name = fields
        .next()
        .filter(|n| !n.is_empty())
        .ok_or(ParseError::BadServiceCheck("no name"))?;
    let status = match fields.next() {
        Some("0") => 0,
        Some("1") => 1,
        Some("2") => 2,
        Some("3") => 3,
        _ => return Err(ParseError::BadServiceCheck("status is not 0, 1, 2 or 3")),
    };
    let mut check = ServiceCheck {
        name,
        status,
        timestamp: None,
        host: None,
        tags: Vec::new(),
        message: None,
    };
    for field in fields {
        if let Some(v) = field.strip_prefix("d:") {
            check.timestamp = Some(parse_ts(v)?);
        } else if let Some(v) = field.strip_prefix("h:") {
            check.host = Some(v);
        } else if let Some(v) = field.strip_prefix('#') {
            check.tags = split_tags(v);
        } else if let Some(v) = field.strip_prefix("m:") {
            check.message = Some(v.replace("\\n", "\n"));
        }
    }
    Ok(check)
}
