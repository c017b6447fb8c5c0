//! Durations as people write them in scenario files: `90s`, `5m`, `1m30s`, `500ms`, `2h`, or
//! a bare number of seconds. Validated while deserializing, so a bad one is reported by the
//! TOML parser with its line and field.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration read from a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub fn secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
}

/// Parses `1m30s`, `90s`, `500ms`, `2h`; units h, m, s, ms; at least one part.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("an empty duration; write e.g. \"30s\", \"5m\" or \"1m30s\"".into());
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "{text:?} is not a duration; write e.g. \"30s\", \"5m\" or \"1m30s\""
            ));
        }
        let number: f64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?} is not a duration: bad number"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            "" => {
                return Err(format!(
                    "{text:?} has a number without a unit (h, m, s or ms)"
                ))
            }
            other => {
                return Err(format!(
                    "{text:?}: unknown unit {other:?} (use h, m, s or ms)"
                ))
            }
        };
        // A file can hold any number: out of range is an error, never a panic.
        total = Duration::try_from_secs_f64(number * scale)
            .ok()
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
    }
    Ok(total)
}

/// `1m30s`, `45s`, `250ms`: the shortest exact form, for `loadgen show` and reports.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d) {
            Ok(Raw::Secs(s)) => Ok(Dur(Duration::from_secs(s))),
            Ok(Raw::Text(t)) => parse(&t).map(Dur).map_err(serde::de::Error::custom),
            Err(_) => Err(serde::de::Error::custom(
                "expected a duration such as \"30s\", \"5m\", \"1m30s\" or a number of seconds",
            )),
        }
    }
}

/// A phase's length: a duration, or `"forever"` (the last phase only: until Ctrl-C or
/// `--duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseLength {
    For(Duration),
    Forever,
}

impl<'de> Deserialize<'de> for PhaseLength {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d) {
            Ok(Raw::Secs(0)) => Err(serde::de::Error::custom("a phase lasts more than 0s")),
            Ok(Raw::Secs(s)) => Ok(PhaseLength::For(Duration::from_secs(s))),
            Ok(Raw::Text(t)) if t.trim() == "forever" => Ok(PhaseLength::Forever),
            Ok(Raw::Text(t)) => match parse(&t) {
                Ok(d) if d.is_zero() => Err(serde::de::Error::custom("a phase lasts more than 0s")),
                Ok(d) => Ok(PhaseLength::For(d)),
                Err(e) => Err(serde::de::Error::custom(format!("{e}, or \"forever\""))),
            },
            Err(_) => Err(serde::de::Error::custom(
                "expected a duration such as \"30s\" or \"5m\", or \"forever\"",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_usual_forms() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse("45"), Ok(Duration::from_secs(45)));
        assert!(parse("fast").is_err());
        assert!(parse("10").is_ok());
        assert!(parse("10x").unwrap_err().contains("unknown unit"));
        assert!(parse("1m30").unwrap_err().contains("without a unit"));
    }

    #[test]
    fn refuses_what_no_duration_holds() {
        // Found by fuzz/run (scenario): these panicked in Duration's arithmetic.
        for s in [
            "99999999999999999999h",
            "1e400s",
            "18446744073709551615s1s",
            "..s",
        ] {
            assert!(parse(s).is_err(), "{s}");
        }
        assert!(parse("99999999999999999999h")
            .unwrap_err()
            .contains("too long"));
    }

    #[test]
    fn formats_back_to_the_short_form() {
        for s in ["90s", "5m", "1m30s", "250ms", "2h", "1h2m3s"] {
            let d = parse(s).unwrap();
            assert_eq!(parse(&format(d)).unwrap(), d, "{s}");
        }
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
    }
}
