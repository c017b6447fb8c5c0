//! The summary's rows: each figure, its peer and the ratio, the target and whether it was met.
//! The targets are the issues' (2, 3, 4, 6, 7, 9), kept here, in one place.

use crate::data::{
    paired_more, AlertPhase, DbBacked, Profiler, Results, ServiceCpu, TracerFloor, DEMO, INVENTORY,
    POSTGRES, SERVICE,
};

pub const DEMO_VS_FLASK: f64 = 30.0;
pub const TRACING_OVERHEAD_MAX: f64 = 0.10;
/// Issue 20: the continuous profiler at 100 Hz, at most 2% more CPU a request.
pub const PROFILER_OVERHEAD_MAX: f64 = 0.02;
pub const SPANS_PER_CPU_S: f64 = 500_000.0;
pub const LINES_PER_CPU_S: f64 = 1_000_000.0;
/// "RSS at most 50 MB": read, as the lab's other memory figures, in MiB.
pub const AGENT_RSS_MIB: f64 = 50.0;
pub const LOADGEN_VS_LOCUST: f64 = 5.0;
pub const LOADGEN_VS_WRK: f64 = 0.6;
pub const COLLECTORS_CPU_PCT: f64 = 2.0;
pub const COLLECTORS_MIB: f64 = 30.0;
/// Image sizes are counted as Docker counts them, in bytes: 40 MB is 40,000,000.
pub const IMAGE_BYTES: f64 = 40_000_000.0;
pub const STACK_MIB: f64 = 200.0;
/// The OpenTelemetry Demo's documented requirement (its docs ask for 6 GB of RAM for Docker):
/// what a user would run instead of this lab; not run here.
pub const OTEL_DEMO_MIB: f64 = 6.0 * 1024.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// A figure with no target: shown for context.
    Info,
    NotMeasured,
}

impl Verdict {
    pub fn of(met: bool) -> Self {
        if met {
            Verdict::Met
        } else {
            Verdict::Missed
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::Missed => "**missed**",
            Verdict::Info => "",
            Verdict::NotMeasured => "not measured",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The component: demo-service, agent-lite, loadgen, collectors, stack, alerts.
    pub group: &'static str,
    pub figure: String,
    pub lab: String,
    pub peer: String,
    pub ratio: String,
    pub target: String,
    pub verdict: Verdict,
}

impl Row {
    fn new(group: &'static str, figure: impl Into<String>) -> Self {
        Self {
            group,
            figure: figure.into(),
            lab: String::new(),
            peer: String::new(),
            ratio: String::new(),
            target: String::new(),
            verdict: Verdict::Info,
        }
    }
    fn lab(mut self, v: impl Into<String>) -> Self {
        self.lab = v.into();
        self
    }
    fn peer(mut self, v: impl Into<String>) -> Self {
        self.peer = v.into();
        self
    }
    fn ratio(mut self, v: impl Into<String>) -> Self {
        self.ratio = v.into();
        self
    }
    fn target(mut self, v: impl Into<String>, verdict: Verdict) -> Self {
        self.target = v.into();
        self.verdict = verdict;
        self
    }
    fn not_measured(group: &'static str, what: &str) -> Self {
        let mut r = Row::new(group, what);
        r.verdict = Verdict::NotMeasured;
        r
    }
}

/// 32716.7 -> "32,717".
pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        out.insert(0, '-');
    }
    out
}

/// A ratio as people read it: 26.1x, 0.56x.
pub fn times(v: f64) -> String {
    if v >= 10.0 {
        format!("{v:.1}x")
    } else {
        format!("{v:.2}x")
    }
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A service's CPU a request: "all (request path + other threads)", in µs.
pub fn cpu_breakdown(c: &ServiceCpu) -> String {
    let (all, request_path, other) = c.per_request_us();
    format!("{all:.1} ({request_path:.1} + {other:.1})")
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2} ms"))
}

pub fn rows(r: &Results) -> Vec<Row> {
    let mut out = vec![];
    demo_rows(r, &mut out);
    agent_rows(r, &mut out);
    loadgen_rows(r, &mut out);
    collector_rows(r, &mut out);
    stack_rows(r, &mut out);
    alert_rows(r, &mut out);
    out
}

fn demo_rows(r: &Results, out: &mut Vec<Row>) {
    let Some(d) = &r.demo else {
        out.push(Row::not_measured(
            "demo-service",
            "demo-service vs the seed's Flask app",
        ));
        return;
    };
    let (t, u, f) = (&d.systems.traced, &d.systems.untraced, &d.systems.flask);
    let vs_flask = t.wrk.rps / f.wrk.rps;
    out.push(
        Row::new("demo-service", "`GET /` req/s, traced")
            .lab(thousands(t.wrk.rps))
            .peer(format!(
                "{} (Flask + ddtrace-run, gunicorn -w 2)",
                thousands(f.wrk.rps)
            ))
            .ratio(times(vs_flask))
            .target(
                format!("at least {DEMO_VS_FLASK}x the peer"),
                Verdict::of(vs_flask >= DEMO_VS_FLASK),
            ),
    );
    let overhead = 1.0 - t.wrk.rps / u.wrk.rps;
    out.push(
        Row::new(
            "demo-service",
            "tracing overhead (traced vs untraced req/s)",
        )
        .lab(format!(
            "{:.1}% ({} vs {})",
            overhead * 100.0,
            thousands(t.wrk.rps),
            thousands(u.wrk.rps)
        ))
        .peer("itself, DD_TRACE_ENABLED=false")
        .ratio(times(t.wrk.rps / u.wrk.rps))
        .target(
            format!("at most {:.0}%", TRACING_OVERHEAD_MAX * 100.0),
            Verdict::of(overhead <= TRACING_OVERHEAD_MAX),
        ),
    );
    if let (Some(tc), Some(uc)) = (&t.cpu, &u.cpu) {
        out.push(
            Row::new(
                "demo-service",
                "service CPU a request, µs (request path + tracer and log threads)",
            )
            .lab(format!("{}, traced", cpu_breakdown(tc)))
            .peer(format!("{}, DD_TRACE_ENABLED=false", cpu_breakdown(uc)))
            .ratio(times(tc.per_request_us().0 / uc.per_request_us().0)),
        );
        if tc.requests > 0 {
            out.push(
                Row::new(
                    "demo-service",
                    "trace receiver CPU a request, µs, traced run",
                )
                .lab(format!("{:.1}", tc.us_per_request(tc.receiver_s))),
            );
        }
    }
    out.push(
        Row::new("demo-service", "spans delivered, traced run")
            .lab(format!(
                "{} for {} requests{}",
                thousands(t.spans_delivered as f64),
                thousands(t.answered as f64),
                match t.traces_dropped_by_tracer {
                    Some(n) if n > 0 => format!(
                        " (the tracer dropped {} traces, its buffer full)",
                        thousands(n as f64)
                    ),
                    _ => String::new(),
                }
            ))
            .target("every span", Verdict::of(t.spans_delivered >= t.answered)),
    );
    if let Some(db) = &d.db_backed {
        db_rows(db, out);
    }
    if let Some(p) = &d.profiler {
        profiler_row(p, out);
    }
    out.push(
        Row::new("demo-service", "`GET /` p99 latency, traced")
            .lab(ms(t.wrk.latency_ms.p99))
            .peer(ms(f.wrk.latency_ms.p99))
            .ratio(match (t.wrk.latency_ms.p99, f.wrk.latency_ms.p99) {
                (Some(a), Some(b)) if b > 0.0 => times(a / b),
                _ => String::new(),
            }),
    );
}

/// The database-backed request (issue 19): tracing's cost at saturation and at a fixed rate,
/// and the RAM of the three processes.
fn db_rows(db: &DbBacked, out: &mut Vec<Row>) {
    let (t, u) = (&db.traced, &db.untraced);
    let overhead = 1.0 - t.wrk.rps / u.wrk.rps;
    out.push(
        Row::new(
            "demo-service",
            "`GET /slow?ms=0` (via inventory and PostgreSQL): tracing overhead at saturation (req/s)",
        )
        .lab(format!(
            "{:.1}% ({} vs {})",
            overhead * 100.0,
            thousands(t.wrk.rps),
            thousands(u.wrk.rps)
        ))
        .peer("itself, DD_TRACE_ENABLED=false in both services")
        .ratio(times(t.wrk.rps / u.wrk.rps))
        .target(
            format!("at most {:.0}%", TRACING_OVERHEAD_MAX * 100.0),
            Verdict::of(overhead <= TRACING_OVERHEAD_MAX),
        ),
    );
    if let Some(f) = &db.fixed_rate {
        let whole = [DEMO, INVENTORY, POSTGRES];
        let services = [DEMO, INVENTORY];
        let (Some(ts), Some(us)) = (f.systems.get("traced"), f.systems.get("untraced")) else {
            return;
        };
        if let (Some(tw), Some(uw), Some(tsv), Some(usv)) = (
            ts.us(&whole),
            us.us(&whole),
            ts.us(&services),
            us.us(&services),
        ) {
            let more = tw / uw - 1.0;
            let runs = spread(&paired_more(ts, us, &whole));
            out.push(
                Row::new(
                    "demo-service",
                    format!(
                        "`GET /slow?ms=0` CPU a request at {} req/s, µs (demo-service + inventory + PostgreSQL)",
                        thousands(f.rate)
                    ),
                )
                .lab(format!(
                    "{tw:.1} traced: {:+.1}%{runs} (the two services alone {tsv:.1} vs {usv:.1}: {:+.1}%)",
                    more * 100.0,
                    (tsv / usv - 1.0) * 100.0
                ))
                .peer(format!("{uw:.1}, DD_TRACE_ENABLED=false in both services"))
                .ratio(times(tw / uw))
                .target(
                    format!("tracing at most {:.0}% more", TRACING_OVERHEAD_MAX * 100.0),
                    Verdict::of(more <= TRACING_OVERHEAD_MAX),
                ),
            );
            if let Some(floor) = &db.tracer_floor {
                out.push(tracer_floor_row(floor, uw));
            }
        }
    }
    out.push(
        Row::new(
            "demo-service",
            "`GET /slow?ms=0` at saturation: RAM (PSS) of demo-service, inventory and PostgreSQL, MiB",
        )
        .lab(format!("{:.1}, traced", t.ram_pss_mib))
        .peer(format!("{:.1}, untraced", u.ram_pss_mib))
        .ratio(times(t.ram_pss_mib / u.ram_pss_mib)),
    );
}

/// Datadog's tracer alone on the request, beside the untraced request's CPU (`untraced_us`): how
/// much of the 10% the tracer leaves to everything around it.
fn tracer_floor_row(floor: &TracerFloor, untraced_us: f64) -> Row {
    let share = floor.attributes_us / untraced_us;
    Row::new(
        "demo-service",
        format!(
            "`GET /slow?ms=0` at {} req/s: Datadog's tracer alone (the four spans through the OpenTelemetry API, inject, extract, export; one process), µs a request",
            thousands(floor.rate)
        ),
    )
    .lab(format!(
        "{:.1} with the lab's attributes ({:.1} bare): {:.1}% of the untraced request",
        floor.attributes_us,
        floor.bare_us,
        share * 100.0
    ))
    .peer(format!("{untraced_us:.1}, the request untraced"))
    .ratio(times(share))
    .target(tracer_floor_note(floor.attributes_us, untraced_us), Verdict::Info)
}

/// What the tracer alone leaves of the tracing target's budget.
fn tracer_floor_note(tracer_us: f64, untraced_us: f64) -> String {
    let budget = untraced_us * TRACING_OVERHEAD_MAX;
    let target = format!("{:.0}% target", TRACING_OVERHEAD_MAX * 100.0);
    if tracer_us >= budget {
        format!("a lower bound, already past the {target} ({budget:.1} µs)")
    } else {
        format!(
            "a lower bound: the {target} ({budget:.1} µs) leaves {:.1} µs to the tracing layers and the services",
            budget - tracer_us
        )
    }
}

/// The spread of paired runs' differences, as " (runs +0.8% to +2.1%, median +1.4%)": the
/// machine is shared, so one total hides how far a run strays. Empty for fewer than 2 runs.
pub fn spread(more: &[f64]) -> String {
    if more.len() < 2 {
        return String::new();
    }
    let mut sorted = more.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    format!(
        " ({n} runs {:+.1}% to {:+.1}%, median {:+.1}%)",
        sorted[0] * 100.0,
        sorted[n - 1] * 100.0,
        median * 100.0
    )
}

/// The continuous profiler's cost (issue 20): the service's CPU a request, on vs off.
fn profiler_row(p: &Profiler, out: &mut Vec<Row>) {
    let (Some(on_sys), Some(off_sys)) = (p.systems.get("on"), p.systems.get("off")) else {
        return;
    };
    let (Some(on), Some(off)) = (on_sys.us(&[SERVICE]), off_sys.us(&[SERVICE])) else {
        return;
    };
    let more = on / off - 1.0;
    let runs = spread(&paired_more(on_sys, off_sys, &[SERVICE]));
    out.push(
        Row::new(
            "demo-service",
            format!(
                "CPU a request with the profiler on ({} Hz), `GET /` traced at {} req/s, µs",
                p.hz,
                thousands(p.rate)
            ),
        )
        .lab(format!("{on:.2}: {:+.2}%{runs}", more * 100.0))
        .peer(format!("{off:.2}, DD_PROFILING_ENABLED=false"))
        .ratio(times(on / off))
        .target(
            format!("at most {:.0}% more", PROFILER_OVERHEAD_MAX * 100.0),
            Verdict::of(more <= PROFILER_OVERHEAD_MAX),
        ),
    );
}

fn agent_rows(r: &Results, out: &mut Vec<Row>) {
    let Some(a) = &r.agent else {
        out.push(Row::not_measured("agent-lite", "agent-lite's intake"));
        return;
    };
    let (ours, peer) = (&a.traces.agent_lite, &a.traces.peer);
    out.push(
        Row::new(
            "agent-lite",
            "v0.4 spans decoded and aggregated per CPU-second",
        )
        .lab(thousands(ours.spans_per_cpu_s()))
        .peer(format!(
            "{} ({})",
            thousands(peer.spans_per_cpu_s()),
            a.peer_label
        ))
        .ratio(times(ours.spans_per_cpu_s() / peer.spans_per_cpu_s()))
        .target(
            format!("at least {}", thousands(SPANS_PER_CPU_S)),
            Verdict::of(ours.spans_per_cpu_s() >= SPANS_PER_CPU_S),
        ),
    );
    out.push(
        Row::new("agent-lite", "DogStatsD lines processed per CPU-second")
            .lab(thousands(a.dogstatsd.lines_per_cpu_s()))
            .peer("none (the test agent has no DogStatsD listener)")
            .target(
                format!("at least {}", thousands(LINES_PER_CPU_S)),
                Verdict::of(a.dogstatsd.lines_per_cpu_s() >= LINES_PER_CPU_S),
            ),
    );
    out.push(
        Row::new("agent-lite", "peak RSS after the same trace blast, MiB")
            .lab(format!("{:.1}", mib(ours.peak_rss_kib)))
            .peer(format!("{:.1}", mib(peer.peak_rss_kib)))
            .ratio(times(ours.peak_rss_kib as f64 / peer.peak_rss_kib as f64)),
    );
    let rss = mib(a.demo_load.peak_rss_kib);
    out.push(
        Row::new("agent-lite", "peak RSS under full demo load, MiB")
            .lab(format!(
                "{rss:.1} (at {} req/s)",
                thousands(a.demo_load.wrk.rps)
            ))
            .target(
                format!("at most {AGENT_RSS_MIB:.0} MB"),
                Verdict::of(rss <= AGENT_RSS_MIB),
            ),
    );
}

fn loadgen_rows(r: &Results, out: &mut Vec<Row>) {
    let Some(l) = &r.loadgen else {
        out.push(Row::not_measured("loadgen", "loadgen vs locust and wrk"));
        return;
    };
    let (lg, wrk, locust) = (
        &l.systems.loadgen.run,
        &l.systems.wrk.run,
        &l.systems.locust.run,
    );
    out.push(
        Row::new("loadgen", "req/s driven against demo-service")
            .lab(thousands(lg.rps))
            .peer(format!("{} (locust, 1 process)", thousands(locust.rps)))
            .ratio(times(lg.rps / locust.rps))
            .target(
                format!("at least {LOADGEN_VS_LOCUST}x locust"),
                Verdict::of(lg.rps >= LOADGEN_VS_LOCUST * locust.rps),
            ),
    );
    out.push(
        Row::new("loadgen", "req/s driven, against wrk")
            .lab(thousands(lg.rps))
            .peer(format!("{} (wrk -t2)", thousands(wrk.rps)))
            .ratio(times(lg.rps / wrk.rps))
            .target(
                format!("at least {:.0}% of wrk", LOADGEN_VS_WRK * 100.0),
                Verdict::of(lg.rps >= LOADGEN_VS_WRK * wrk.rps),
            ),
    );
    out.push(
        Row::new("loadgen", "requests per CPU-second of the generator")
            .lab(thousands(lg.per_cpu_s()))
            .peer(format!("{} (locust)", thousands(locust.per_cpu_s())))
            .ratio(times(lg.per_cpu_s() / locust.per_cpu_s())),
    );
}

fn collector_rows(r: &Results, out: &mut Vec<Row>) {
    let Some(c) = &r.collectors else {
        out.push(Row::not_measured("collectors", "agent-lite's collectors"));
        return;
    };
    let cpu = c.on.cpu_pct - c.off.cpu_pct;
    let mem = mib(c.on.rss_kib) - mib(c.off.rss_kib);
    out.push(
        Row::new(
            "collectors",
            format!("collectors' CPU, {} containers watched", c.containers),
        )
        .lab(format!("{cpu:.2}% of one core"))
        .target(
            format!("under {COLLECTORS_CPU_PCT:.0}%"),
            Verdict::of(cpu < COLLECTORS_CPU_PCT),
        ),
    );
    out.push(
        Row::new("collectors", "collectors' memory, MiB")
            .lab(format!("{mem:.1}"))
            .target(
                format!("under {COLLECTORS_MIB:.0} MB"),
                Verdict::of(mem < COLLECTORS_MIB),
            ),
    );
}

fn stack_rows(r: &Results, out: &mut Vec<Row>) {
    let Some(s) = &r.stack else {
        out.push(Row::not_measured(
            "stack",
            "image sizes and whole-stack RAM",
        ));
        return;
    };
    let largest = s.images.values().map(|i| i.bytes).max().unwrap_or(0) as f64;
    let each: Vec<String> = s
        .images
        .iter()
        .map(|(n, i)| format!("{n} {:.1}", i.bytes as f64 / 1e6))
        .collect();
    out.push(
        Row::new("stack", "image sizes, MB (built offline)")
            .lab(each.join(", "))
            .target(
                format!("at most {:.0} MB each", IMAGE_BYTES / 1e6),
                Verdict::of(largest <= IMAGE_BYTES && !s.images.is_empty()),
            ),
    );
    if let Some(last) = s.samples.last() {
        let peak = s.samples.iter().map(|x| x.total()).fold(0.0, f64::max);
        let containers: Vec<&str> = last.mib.keys().map(String::as_str).collect();
        out.push(
            Row::new(
                "stack",
                format!(
                    "whole-lab RAM at steady load ({}), MiB (after {}; highest sample)",
                    containers.join(", "),
                    if last.at_s >= 90.0 {
                        format!("{:.0} min", last.at_s / 60.0)
                    } else {
                        format!("{:.0} s", last.at_s)
                    }
                ),
            )
            .lab(format!("{:.1}; {peak:.1}", last.total()))
            .peer(format!(
                "{:.0} (OpenTelemetry Demo: 6 GB asked, its docs; not run here)",
                OTEL_DEMO_MIB
            ))
            .ratio(times(peak / OTEL_DEMO_MIB))
            .target(
                format!("under {STACK_MIB:.0} MB"),
                Verdict::of(peak < STACK_MIB),
            ),
        );
    }
    out.push(
        Row::new(
            "stack",
            "cold `up` (images present) to the first trace in agent-lite",
        )
        .lab(format!("{:.1} s", s.up_to_first_trace_s)),
    );
}

/// Each chaos phase's runs, in the order the scenario plays them.
pub fn alert_phases(r: &Results) -> Vec<(String, Vec<AlertPhase>)> {
    let mut phases: Vec<(String, Vec<AlertPhase>)> = vec![];
    for run in r.alerts.iter().flat_map(|a| &a.runs) {
        for p in &run.phases {
            match phases.iter_mut().find(|(n, _)| *n == p.phase) {
                Some((_, v)) => v.push(p.clone()),
                None => phases.push((p.phase.clone(), vec![p.clone()])),
            }
        }
    }
    phases
}

fn alert_rows(r: &Results, out: &mut Vec<Row>) {
    let Some(a) = &r.alerts else {
        out.push(Row::not_measured(
            "alerts",
            "chaos phase start to its monitor's ALERT",
        ));
        return;
    };
    for (phase, runs) in alert_phases(r) {
        let first = &runs[0];
        let target = first.target_s;
        let mut got: Vec<f64> = runs.iter().filter_map(|p| p.latency_s).collect();
        got.sort_by(f64::total_cmp);
        let within = runs
            .iter()
            .filter(|p| matches!((p.latency_s, target), (Some(l), Some(t)) if l <= t))
            .count();
        let lab = if got.is_empty() {
            format!("no alert in {} run(s)", runs.len())
        } else {
            format!(
                "median {:.0} s, max {:.0} s; {within} of {} runs within",
                got[got.len() / 2],
                got[got.len() - 1],
                runs.len()
            )
        };
        let delay = if first.evaluation_delay_s > 0.0 {
            format!(
                "; the monitor reads {:.0} s behind (evaluation_delay)",
                first.evaluation_delay_s
            )
        } else {
            String::new()
        };
        out.push(
            Row::new(
                "alerts",
                format!("'{phase}' start to \"{}\" ALERT", first.monitor),
            )
            .lab(lab)
            .target(
                match (target, first.window_s) {
                    (Some(t), Some(w)) => format!(
                        "within {t:.0} s (window {w:.0} s + evaluation every {:.0} s{delay}), every run",
                        a.interval_s
                    ),
                    _ => "window + one evaluation interval, every run".into(),
                },
                Verdict::of(within == runs.len()),
            ),
        );
    }
    if a.runs.iter().all(|r| r.phases.is_empty()) {
        out.push(Row::not_measured(
            "alerts",
            "chaos phase start to its monitor's ALERT (no expectation of the scenario named a chaos phase)",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DemoService, DemoSystem, DemoSystems, Meta};

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(32716.7), "32,717");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
        assert_eq!(thousands(-1234.0), "-1,234");
        assert_eq!(times(26.123), "26.1x");
        assert_eq!(times(0.5612), "0.56x");
    }

    #[test]
    fn the_cpu_a_request_costs_is_shown_traced_beside_untraced() {
        let system = |rps: f64, cpu: &str| {
            serde_json::from_str::<DemoSystem>(&format!(
                r#"{{"label": "x", "wrk": {{"rps": {rps}, "latency_ms": {{}}}},
                    "answered": 1000, "spans_delivered": 1000 {cpu}}}"#
            ))
            .expect("a demo system")
        };
        let traced = system(
            50_000.0,
            r#", "cpu": {"requests": 500000, "service_s": 12.0, "request_threads_s": 9.0, "receiver_s": 1.0}"#,
        );
        let untraced = system(
            90_000.0,
            r#", "cpu": {"requests": 900000, "service_s": 12.6, "request_threads_s": 12.6, "receiver_s": 0.0}"#,
        );
        let flask = system(1_500.0, "");
        let results = Results {
            demo: Some(DemoService {
                meta: Meta::default(),
                systems: DemoSystems {
                    traced,
                    untraced,
                    flask,
                },
                db_backed: None,
                profiler: None,
            }),
            ..Results::default()
        };
        let rows = rows(&results);
        let cpu = rows
            .iter()
            .find(|r| r.figure.starts_with("service CPU a request"))
            .expect("a CPU row");
        // 12 s for 500,000 requests: 24 µs, 18 on the request path, 6 elsewhere.
        assert_eq!(cpu.lab, "24.0 (18.0 + 6.0), traced");
        assert_eq!(cpu.peer, "14.0 (14.0 + 0.0), DD_TRACE_ENABLED=false");
        assert_eq!(cpu.ratio, "1.71x");
        let receiver = rows
            .iter()
            .find(|r| r.figure.starts_with("trace receiver CPU"))
            .expect("a receiver row");
        assert_eq!(receiver.lab, "2.0");
    }

    /// demo-service's figures as bench/demo-service.sh writes them, with the fixed-rate runs:
    /// `/slow?ms=0` traced and untraced (CPU µs a request by process), the profiler off and on.
    fn demo_with_fixed_rates(traced: [f64; 3], untraced: [f64; 3], on: f64, off: f64) -> Results {
        let wrk = |rps: f64| format!(r#"{{"rps": {rps}, "latency_ms": {{}}}}"#);
        let system = |rps: f64| {
            format!(
                r#"{{"label": "x", "wrk": {}, "answered": 10, "spans_delivered": 10}}"#,
                wrk(rps)
            )
        };
        let rate = |us: &str| {
            format!(
                r#"{{"runs": [{{"requests": 4000, "rps": 400.0}}], "requests": 4000, "cpu_s": {{}}, "us_per_request": {{{us}}}}}"#
            )
        };
        let db = |[d, i, p]: [f64; 3]| {
            rate(&format!(
                r#""demo_service": {d}, "inventory": {i}, "postgres": {p}, "receiver": 1.0"#
            ))
        };
        let text = format!(
            r#"{{"mode": "full", "measured_at": "2026-12-03 10:00 UTC", "machine": {{"cores": 2, "cpu": "x", "kernel": "y"}},
                "commit": "abc", "systems": {{"traced": {t}, "untraced": {t}, "flask": {t}}},
                "db_backed": {{"request": "GET /slow?ms=0", "traced": {{"wrk": {w1}, "answered": 1, "ram_pss_mib": 60.5}},
                    "untraced": {{"wrk": {w2}, "answered": 1, "ram_pss_mib": 58.0}},
                    "fixed_rate": {{"rate": 400, "duration_s": 10, "repeat": 3,
                        "systems": {{"traced": {dt}, "untraced": {du}}}}}}},
                "profiler": {{"request": "GET /", "rate": 2000, "duration_s": 10, "repeat": 3, "hz": 100,
                    "upload_period_s": 10, "profiles_received": 9,
                    "systems": {{"on": {on}, "off": {off}}}}}}}"#,
            t = system(1000.0),
            w1 = wrk(2700.0),
            w2 = wrk(3000.0),
            dt = db(traced),
            du = db(untraced),
            on = rate(&format!(r#""service": {on}, "receiver": 2.0"#)),
            off = rate(&format!(r#""service": {off}, "receiver": 2.0"#)),
        );
        Results {
            demo: Some(serde_json::from_str(&text).expect("demo-service figures")),
            ..Results::default()
        }
    }

    fn row<'a>(rows: &'a [Row], starts: &str) -> &'a Row {
        rows.iter()
            .find(|r| r.figure.starts_with(starts))
            .unwrap_or_else(|| panic!("a row {starts:?} in {rows:#?}"))
    }

    #[test]
    fn the_database_backed_request_is_judged_at_saturation_and_at_a_fixed_rate() {
        // Traced: 60 + 50 + 100 = 210 µs; untraced 50 + 45 + 100 = 195: 7.7% more, met; the
        // services alone 110 vs 95: 15.8% more.
        let rows = rows(&demo_with_fixed_rates(
            [60.0, 50.0, 100.0],
            [50.0, 45.0, 100.0],
            10.0,
            10.0,
        ));
        let fixed = row(&rows, "`GET /slow?ms=0` CPU a request at 400 req/s");
        assert_eq!(
            fixed.lab,
            "210.0 traced: +7.7% (the two services alone 110.0 vs 95.0: +15.8%)"
        );
        assert_eq!(fixed.peer, "195.0, DD_TRACE_ENABLED=false in both services");
        assert_eq!(fixed.verdict, Verdict::Met);
        let saturated = row(&rows, "`GET /slow?ms=0` (via inventory and PostgreSQL)");
        assert_eq!(saturated.lab, "10.0% (2,700 vs 3,000)");
        assert_eq!(saturated.verdict, Verdict::Met);
        let ram = row(&rows, "`GET /slow?ms=0` at saturation: RAM");
        assert_eq!(
            (ram.lab.as_str(), ram.peer.as_str()),
            ("60.5, traced", "58.0, untraced")
        );

        let rows = super::rows(&demo_with_fixed_rates(
            [70.0, 50.0, 100.0],
            [50.0, 45.0, 100.0],
            10.0,
            10.0,
        ));
        let fixed = row(&rows, "`GET /slow?ms=0` CPU a request");
        assert_eq!(fixed.verdict, Verdict::Missed, "{fixed:?}");
    }

    /// The tracer alone is set beside the untraced request: its share, and what the target
    /// leaves to everything else.
    #[test]
    fn the_tracers_own_cost_is_shown_beside_the_untraced_request() {
        let mut results = demo_with_fixed_rates([60.0, 50.0, 100.0], [50.0, 45.0, 100.0], 1.0, 1.0);
        let no_floor = rows(&results);
        assert!(
            !no_floor.iter().any(|r| r.figure.contains("tracer alone")),
            "no row without the figure"
        );
        let db = results
            .demo
            .as_mut()
            .and_then(|d| d.db_backed.as_mut())
            .expect("db_backed");
        db.tracer_floor = Some(TracerFloor {
            rate: 400.0,
            requests: 4000,
            bare_us: 7.0,
            attributes_us: 11.7,
        });
        let rows = rows(&results);
        let floor = row(
            &rows,
            "`GET /slow?ms=0` at 400 req/s: Datadog's tracer alone",
        );
        assert_eq!(
            floor.lab,
            "11.7 with the lab's attributes (7.0 bare): 6.0% of the untraced request"
        );
        assert_eq!(floor.peer, "195.0, the request untraced");
        assert!(
            floor.target.contains("(19.5 µs) leaves 7.8 µs"),
            "{}",
            floor.target
        );
        assert_eq!(floor.verdict, Verdict::Info);
        assert_eq!(
            tracer_floor_note(61.6, 528.1),
            "a lower bound, already past the 10% target (52.8 µs)"
        );
    }

    #[test]
    fn the_profilers_cost_is_the_cpu_a_request_it_adds() {
        let rows = rows(&demo_with_fixed_rates([1.0; 3], [1.0; 3], 20.3, 20.0));
        let p = row(&rows, "CPU a request with the profiler on (100 Hz)");
        assert_eq!(p.lab, "20.30: +1.50%");
        assert_eq!(p.peer, "20.00, DD_PROFILING_ENABLED=false");
        assert_eq!(p.verdict, Verdict::Met);
        assert!(p.figure.contains("at 2,000 req/s"), "{}", p.figure);
        let rows = super::rows(&demo_with_fixed_rates([1.0; 3], [1.0; 3], 20.5, 20.0));
        assert_eq!(
            row(&rows, "CPU a request with the profiler").verdict,
            Verdict::Missed
        );
    }

    #[test]
    fn the_profilers_row_gives_the_spread_of_its_paired_runs() {
        // Three runs of 1,000 requests each side: off 20 ms of CPU each (20 µs a request), on
        // 20.2, 20.6 and 19.9 ms: +1%, +3%, -0.5%; in all 60.7 vs 60: +1.17%.
        let system = |ms: [f64; 3]| {
            let runs: Vec<String> = ms
                .iter()
                .map(|m| {
                    format!(
                        r#"{{"requests": 1000, "rps": 100.0, "cpu": {{"service": {}}}}}"#,
                        m / 1000.0
                    )
                })
                .collect();
            format!(
                r#"{{"runs": [{}], "requests": 3000, "us_per_request": {{"service": {}}}}}"#,
                runs.join(", "),
                ms.iter().sum::<f64>() / 3.0
            )
        };
        let p: Profiler = serde_json::from_str(&format!(
            r#"{{"request": "GET /", "rate": 100, "duration_s": 10, "repeat": 3, "hz": 100,
                "upload_period_s": 10, "profiles_received": 3,
                "systems": {{"on": {}, "off": {}}}}}"#,
            system([20.2, 20.6, 19.9]),
            system([20.0; 3])
        ))
        .expect("profiler figures");
        let mut out = Vec::new();
        profiler_row(&p, &mut out);
        assert_eq!(
            out[0].lab,
            "20.23: +1.17% (3 runs -0.5% to +3.0%, median +1.0%)"
        );
        assert_eq!(out[0].verdict, Verdict::Met);
        assert_eq!(spread(&[0.01]), "", "one run has no spread");
    }

    #[test]
    fn figures_written_before_the_fixed_rate_runs_still_read() {
        let old: DemoService =
            serde_json::from_str(include_str!("../../results/data/demo-service.json"))
                .expect("the published demo-service figures");
        let rows = rows(&Results {
            demo: Some(DemoService {
                db_backed: None,
                profiler: None,
                ..old
            }),
            ..Results::default()
        });
        assert!(rows.iter().any(|r| r.figure.starts_with("`GET /` req/s")));
        assert!(!rows.iter().any(|r| r.figure.contains("profiler")));
    }

    #[test]
    fn the_whole_lab_row_names_every_container_sampled() {
        let stack: crate::data::Stack = serde_json::from_str(
            r#"{"mode": "quick", "measured_at": "2026-12-03 10:00 UTC", "machine": {"cores": 2, "cpu": "x", "kernel": "y"},
                "commit": "abc", "up_to_first_trace_s": 9.5, "images": {}, "postgres_image_bytes": 150000000,
                "samples": [{"at_s": 0, "mib": {"agent-lite": 30, "demo-service": 10, "inventory": 8, "loadgen": 12, "postgres": 40}},
                            {"at_s": 20, "mib": {"agent-lite": 35, "demo-service": 11, "inventory": 8, "loadgen": 12, "postgres": 41}}]}"#,
        )
        .expect("stack figures");
        let rows = rows(&Results {
            stack: Some(stack),
            ..Results::default()
        });
        let ram = row(&rows, "whole-lab RAM at steady load");
        assert!(
            ram.figure
                .contains("(agent-lite, demo-service, inventory, loadgen, postgres)"),
            "{}",
            ram.figure
        );
        assert_eq!(ram.lab, "107.0; 107.0");
        assert_eq!(ram.verdict, Verdict::Met);
    }

    #[test]
    fn a_stage_that_did_not_run_is_not_measured() {
        let rows = rows(&Results::default());
        assert_eq!(rows.len(), 6);
        assert!(rows.iter().all(|r| r.verdict == Verdict::NotMeasured));
    }
}
