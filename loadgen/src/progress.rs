//! The live line, once a second on stderr: where the run is and what the service answers.

use crate::stats::Live;

/// `[  42s] cpu spike       33s left |   19 req/s | errors 0 (12 of 400 in all) | p95 212.0 ms | burns 9/s`
pub fn line(elapsed: u64, phase: &str, left: Option<f64>, live: &Live) -> String {
    let left = match left {
        Some(l) => format!("{:>4.0}s left", l.max(0.0)),
        None => " no end".into(),
    };
    let p95 = live
        .p95_ms
        .map_or_else(|| "-".to_owned(), |p| format!("{p:.1} ms"));
    let mut out = format!(
        "[{elapsed:>5}s] {phase:<16} {left} | {:>6} req/s | errors {:>4} ({} of {} in all) | p95 {p95}",
        live.requests, live.errors, live.total_errors, live.total_requests
    );
    if live.burns > 0 {
        out.push_str(&format!(" | burns {}/s", live.burns));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_phase_time_left_rate_errors_and_p95() {
        let live = Live {
            requests: 19,
            errors: 2,
            burns: 9,
            total_requests: 400,
            total_errors: 12,
            p95_ms: Some(212.04),
        };
        let l = line(42, "cpu spike", Some(33.2), &live);
        assert!(l.starts_with("[   42s] cpu spike"), "{l}");
        assert!(l.contains("33s left"), "{l}");
        assert!(l.contains("19 req/s"), "{l}");
        assert!(l.contains("errors    2 (12 of 400 in all)"), "{l}");
        assert!(l.contains("p95 212.0 ms"), "{l}");
        assert!(l.ends_with("burns 9/s"), "{l}");
        assert!(line(1, "calm", None, &Live::default()).contains("no end | "));
    }
}
