//! What a run leaves: the summary printed at the end, the JSON report (phases, figures,
//! chaos, expectations, the per-second series) and a self-contained HTML page of the same
//! (goose's own HTML report loads its charts from a CDN and shows none offline; this one
//! draws them inline).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use crate::chaos::ChaosEvent;
use crate::expect::{Judged, Verdict};
use crate::plan::Plan;
use crate::scenario::{Load, Mix, Scenario};
use crate::stats::{LatencySummary, PhaseStats, Second};

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub description: String,
    pub source: String,
    pub target: String,
    pub started_at: String,
    /// The start in seconds since the epoch; phases' `start_s` count from it.
    pub started_epoch_s: f64,
    pub duration_s: f64,
    pub ended_by: String,
    pub users: usize,
    pub totals: Totals,
    pub phases: Vec<PhaseReport>,
    pub chaos: Vec<ChaosEvent>,
    pub skipped_actions: Vec<String>,
    pub expectations: Vec<Judged>,
    pub seconds: Vec<Second>,
    pub goose_html: Option<String>,
}

#[derive(Debug, Serialize, Default)]
pub struct Totals {
    pub requests: u64,
    pub errors: u64,
    pub burns: u64,
}

#[derive(Debug, Serialize)]
pub struct Planned {
    pub model: &'static str,
    pub rate: Option<f64>,
    pub users: Option<usize>,
    pub mix: Mix,
    pub error_share: f64,
    pub latency_share: f64,
    pub burns_per_s: Option<f64>,
    pub chaos: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct EndpointReport {
    pub requests: u64,
    pub errors: u64,
    pub transport_errors: u64,
    pub statuses: BTreeMap<u16, u64>,
    pub latency: LatencySummary,
}

#[derive(Debug, Serialize)]
pub struct PhaseReport {
    pub name: String,
    pub start_s: f64,
    pub duration_s: f64,
    pub planned: Planned,
    pub requests: u64,
    pub rps: f64,
    pub errors: u64,
    pub error_rate: f64,
    pub transport_errors: u64,
    pub unsent: u64,
    /// The traffic's latency, from the due time (open model).
    pub latency: LatencySummary,
    pub endpoints: BTreeMap<String, EndpointReport>,
}

/// A phase's figures over the time it really ran (`ran_s`).
pub fn phase_report(
    s: &Scenario,
    plan: &Plan,
    i: usize,
    stats: &PhaseStats,
    ran_s: f64,
) -> PhaseReport {
    let p = &s.phases[i];
    let pp = &plan.phases[i];
    let mut chaos = Vec::new();
    if let Some(c) = p.cpu_spike {
        chaos.push(format!(
            "cpu spike {}%{}",
            c.percent.0,
            if c.local { " (with local burner)" } else { "" }
        ));
    }
    if let Some(b) = p.error_burst {
        chaos.push(format!("error burst {}", b.share.0));
    }
    if let Some(b) = p.latency_burst {
        chaos.push(format!("latency burst {}", b.share.0));
    }
    for c in &p.containers {
        chaos.push(format!("{:?} {}", c.action, c.service).to_lowercase());
    }
    if let Some(o) = &p.agent_outage {
        chaos.push(format!("agent outage {} for {}", o.service, o.duration));
    }
    if let Some(l) = &p.db_lock {
        chaos.push(format!("database lock on {} for {}", l.table, l.duration));
    }
    let (model, rate, users) = match p.traffic.load {
        Load::Rate(r) => ("open", Some(r), None),
        Load::Users(n) => ("closed", None, Some(n)),
    };
    let t = &stats.traffic;
    PhaseReport {
        name: p.name.clone(),
        start_s: pp.start,
        duration_s: ran_s,
        planned: Planned {
            model,
            rate,
            users,
            mix: p.traffic.mix,
            error_share: p.error_burst.map_or(0.0, |b| b.share.0),
            latency_share: p.latency_burst.map_or(0.0, |b| b.share.0),
            burns_per_s: pp.burn.map(|b| b.rate),
            chaos,
        },
        requests: t.count,
        rps: if ran_s > 0.0 {
            t.count as f64 / ran_s
        } else {
            0.0
        },
        errors: t.errors,
        error_rate: if t.count > 0 {
            t.errors as f64 / t.count as f64
        } else {
            0.0
        },
        transport_errors: t.transport_errors,
        unsent: stats.unsent,
        latency: t.summary(),
        endpoints: stats
            .endpoints
            .iter()
            .map(|(k, e)| {
                (
                    (*k).to_owned(),
                    EndpointReport {
                        requests: e.count,
                        errors: e.errors,
                        transport_errors: e.transport_errors,
                        statuses: e.statuses.clone(),
                        latency: e.summary(),
                    },
                )
            })
            .collect(),
    }
}

/// The summary printed at the end of a run.
pub fn summary(r: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nloadgen: scenario '{}' against {}: {:.0}s, {} ({} users)",
        r.scenario, r.target, r.duration_s, r.ended_by, r.users
    );
    let _ = writeln!(
        out,
        "{:<18} {:>7} {:>9} {:>8} {:>8} {:>9} {:>9} {:>9} {:>7}",
        "phase", "time s", "requests", "req/s", "errors", "p50 ms", "p95 ms", "p99 ms", "unsent"
    );
    for p in &r.phases {
        let _ = writeln!(
            out,
            "{:<18} {:>7.0} {:>9} {:>8.1} {:>8} {:>9.1} {:>9.1} {:>9.1} {:>7}",
            truncate(&p.name, 18),
            p.duration_s,
            p.requests,
            p.rps,
            p.errors,
            p.latency.p50_ms,
            p.latency.p95_ms,
            p.latency.p99_ms,
            p.unsent
        );
        for (name, e) in &p.endpoints {
            let statuses: Vec<String> = e
                .statuses
                .iter()
                .map(|(s, n)| format!("{s}: {n}"))
                .chain(
                    (e.transport_errors > 0).then(|| format!("no answer: {}", e.transport_errors)),
                )
                .collect();
            let _ = writeln!(
                out,
                "  {:<16} {:>7} {:>9} {:>8} {:>8} {:>9.1} {:>9.1} {:>9.1}   {}",
                name,
                "",
                e.requests,
                "",
                e.errors,
                e.latency.p50_ms,
                e.latency.p95_ms,
                e.latency.p99_ms,
                statuses.join(", ")
            );
        }
    }
    let _ = writeln!(
        out,
        "total: {} requests, {} errors, {} /burn calls; latency is measured from each request's due time (open model)",
        r.totals.requests, r.totals.errors, r.totals.burns
    );
    for c in &r.chaos {
        let _ = writeln!(
            out,
            "chaos at {:.0}s ({}): {}: {}{}",
            c.t,
            c.phase,
            c.action,
            if c.ok { "" } else { "FAILED: " },
            c.result
        );
    }
    for s in &r.skipped_actions {
        let _ = writeln!(out, "skipped: {s}");
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n - 1).chain(std::iter::once('…')).collect()
    }
}

/// The expectations' verdicts, one block each.
pub fn expectations_text(judged: &[Judged]) -> String {
    let mut out = String::new();
    if judged.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\nexpectations:");
    for j in judged {
        let detail = match &j.verdict {
            Verdict::Passed { .. } => String::new(),
            Verdict::Failed { why } | Verdict::Skipped { why } => format!(": {why}"),
            Verdict::Pending => ": undecided".into(),
        };
        let _ = writeln!(
            out,
            "{:<7} {} (line {}){detail}",
            j.verdict.word(),
            j.expectation,
            j.line
        );
        if j.observed.is_empty() {
            let _ = writeln!(out, "        observed: no transition during the run");
        }
        for o in &j.observed {
            let _ = writeln!(out, "        observed: {o}");
        }
    }
    let failed = judged
        .iter()
        .filter(|j| matches!(j.verdict, Verdict::Failed { .. } | Verdict::Pending))
        .count();
    let _ = writeln!(
        out,
        "{} of {} expectations passed{}",
        judged
            .iter()
            .filter(|j| matches!(j.verdict, Verdict::Passed { .. }))
            .count(),
        judged.len(),
        if failed > 0 {
            format!(", {failed} FAILED")
        } else {
            String::new()
        }
    );
    out
}

pub fn write_json(dir: &Path, r: &RunReport) -> anyhow::Result<()> {
    let path = dir.join("report.json");
    let text = serde_json::to_string_pretty(r).context("cannot encode the report")?;
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

pub fn write_html(dir: &Path, r: &RunReport) -> anyhow::Result<()> {
    let path = dir.join("report.html");
    std::fs::write(&path, html(r)).with_context(|| format!("cannot write {}", path.display()))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// One page, no scripts, no external resources: tables and two inline SVG charts.
pub fn html(r: &RunReport) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>loadgen {name}</title>\
         <style>body{{font-family:sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         .PASSED{{color:#080}}.FAILED,.PENDING{{color:#c00}}.SKIPPED{{color:#888}}</style></head><body>\
         <h1>loadgen: {name}</h1><p>{desc}</p><p>Target {target}, started {started}, {dur:.0} s, {ended}, {users} users. \
         Latency is measured from each request's due time (open model).</p>",
        name = esc(&r.scenario),
        desc = esc(&r.description),
        target = esc(&r.target),
        started = esc(&r.started_at),
        dur = r.duration_s,
        ended = esc(&r.ended_by),
        users = r.users
    );
    h.push_str("<h2>Phases</h2><table><tr><th>phase</th><th>start s</th><th>time s</th><th>chaos</th><th>requests</th><th>req/s</th><th>errors</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>unsent</th></tr>");
    for p in &r.phases {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.1}</td><td>{:.1}</td><td>{:.1}</td><td>{}</td></tr>",
            esc(&p.name),
            p.start_s,
            p.duration_s,
            esc(&p.planned.chaos.join(", ")),
            p.requests,
            p.rps,
            p.errors,
            p.latency.p50_ms,
            p.latency.p95_ms,
            p.latency.p99_ms,
            p.unsent
        );
    }
    h.push_str("</table>");
    h.push_str("<h2>Requests per second</h2>");
    h.push_str(&chart(r, |s| s.requests as f64, "req/s"));
    h.push_str("<h2>p95 latency (ms, last 5 s)</h2>");
    h.push_str(&chart(r, |s| s.p95_ms, "ms"));
    if !r.chaos.is_empty() {
        h.push_str("<h2>Chaos</h2><ul>");
        for c in &r.chaos {
            let _ = write!(
                h,
                "<li>{:.0} s ({}): {}: {}</li>",
                c.t,
                esc(&c.phase),
                esc(&c.action),
                esc(&c.result)
            );
        }
        h.push_str("</ul>");
    }
    if !r.expectations.is_empty() {
        h.push_str("<h2>Expectations</h2><ul>");
        for j in &r.expectations {
            let why = match &j.verdict {
                Verdict::Failed { why } | Verdict::Skipped { why } => format!(": {}", esc(why)),
                _ => String::new(),
            };
            let _ = write!(
                h,
                "<li><b class=\"{w}\">{w}</b> {}{why}<br><small>{}</small></li>",
                esc(&j.expectation),
                esc(&j.observed.join("; ")),
                w = j.verdict.word()
            );
        }
        h.push_str("</ul>");
    }
    if let Some(g) = &r.goose_html {
        let _ = write!(
            h,
            "<p>goose's own report: <a href=\"{0}\">{0}</a></p>",
            esc(g)
        );
    }
    h.push_str("</body></html>\n");
    h
}

/// A line chart of one figure per second, the phases shaded behind it.
fn chart(r: &RunReport, value: impl Fn(&Second) -> f64, unit: &str) -> String {
    let (w, hgt) = (900.0, 200.0);
    let n = r.seconds.len().max(1) as f64;
    let max = r
        .seconds
        .iter()
        .map(&value)
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let x = |t: f64| t / n * w;
    let y = |v: f64| hgt - v / max * (hgt - 10.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" style=\"background:#fafafa\">",
        hgt + 20.0
    );
    let shades = ["#eef4ff", "#fff4e8"];
    for (i, p) in r.phases.iter().enumerate() {
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"0\" width=\"{:.1}\" height=\"{hgt}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"10\">{}</text>",
            x(p.start_s),
            x(p.duration_s).max(1.0),
            shades[i % 2],
            x(p.start_s) + 2.0,
            hgt + 14.0,
            esc(&p.name)
        );
    }
    let points: Vec<String> = r
        .seconds
        .iter()
        .map(|s| format!("{:.1},{:.1}", x(s.t as f64), y(value(s))))
        .collect();
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#2060c0\" stroke-width=\"1.5\" points=\"{}\"/><text x=\"4\" y=\"12\" font-size=\"11\">max {max:.1} {unit}</text></svg>",
        points.join(" ")
    );
    svg
}
