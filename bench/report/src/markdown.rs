//! summary.md (the figures table, the plots, then each stage's details) and the README's
//! part of it, between its `<!-- bench:summary -->` markers.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use crate::data::{
    paired_more, DbBacked, Meta, Percentiles, Profiler, RateSystem, Results, DEMO, INVENTORY,
    POSTGRES, SERVICE,
};
use crate::figures::{self, mib, thousands, times, Row};

/// bench/run's stages, in its order.
const STAGES: [&str; 6] = [
    "demo-service",
    "agent-lite",
    "loadgen",
    "collectors",
    "stack",
    "alerts",
];

pub const README_START: &str = "<!-- bench:summary -->";
pub const README_END: &str = "<!-- /bench:summary -->";

/// A plot written next to summary.md: file name and what it shows.
pub struct Plot {
    pub file: &'static str,
    pub alt: &'static str,
}

/// When, where and how the figures were measured, in one paragraph.
fn provenance(r: &Results) -> String {
    let metas = r.metas();
    let Some(first) = metas.first() else {
        return "No stage has written figures yet: run `bench/run`.".into();
    };
    let mut dates: Vec<&str> = metas.iter().map(|m| m.measured_at.as_str()).collect();
    dates.sort_unstable();
    let when = if dates[0][..10] == dates[dates.len() - 1][..10] {
        dates[0][..10].to_owned()
    } else {
        format!("{} to {}", &dates[0][..10], &dates[dates.len() - 1][..10])
    };
    let mut commits: Vec<&str> = metas.iter().map(|m| m.commit.as_str()).collect();
    commits.dedup();
    let m = &first.machine;
    let mut s = format!(
        "Measured {when} in {} mode on {} cores ({}), {}, at commit {}; every process on this one machine, traffic on 127.0.0.1.",
        first.mode,
        m.cores,
        m.cpu,
        m.kernel,
        commits.join(", ")
    );
    if let Some(run) = &r.run {
        // In the order bench/run plays them.
        let mut order: Vec<&String> = run.stages.keys().collect();
        order.sort_by_key(|n| STAGES.iter().position(|s| s == n).unwrap_or(STAGES.len()));
        let mut stages: Vec<String> = run
            .prepare_s
            .map(|p| format!("setup and build {}", duration(p)))
            .into_iter()
            .collect();
        stages.extend(
            order
                .into_iter()
                .map(|n| (n, &run.stages[n]))
                .map(|(n, st)| {
                    format!(
                        "{n} {}{}",
                        duration(st.seconds),
                        if st.exit == 0 { "" } else { " (failed)" }
                    )
                }),
        );
        let _ = write!(
            s,
            " The last `bench/run` took {} ({}).",
            duration(run.seconds),
            stages.join(", ")
        );
    }
    if first.mode == "quick" {
        s.push_str(
            " Quick mode runs each stage briefly, to prove that it works: its figures are not the published ones, which a full run (`bench/run`) writes to bench/results.",
        );
    }
    s.push_str(
        " The machine's cores are shared by the system measured and the load, and with other work: compare runs made on a quiet machine.",
    );
    s
}

fn duration(secs: f64) -> String {
    if secs >= 90.0 {
        format!("{:.0} min", secs / 60.0)
    } else {
        format!("{secs:.0} s")
    }
}

fn table(rows: &[Row]) -> String {
    let mut s = String::from(
        "| component | figure | lab | peer | lab / peer | target | |\n| --- | --- | ---: | --- | ---: | --- | --- |\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.group,
            r.figure,
            r.lab,
            r.peer,
            r.ratio,
            r.target,
            r.verdict.word()
        );
    }
    s
}

fn images(plots: &[Plot], prefix: &str) -> String {
    plots
        .iter()
        .map(|p| format!("![{}]({prefix}{})\n", p.alt, p.file))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The README's part: provenance, the table, the plots (paths from the repository's root).
pub fn readme_section(r: &Results, plots: &[Plot], results_dir: &str) -> String {
    format!(
        "{}\n\n{}\n{}\nEach stage's own table and notes: [`{results_dir}/summary.md`]({results_dir}/summary.md).",
        provenance(r),
        table(&figures::rows(r)),
        images(plots, &format!("{results_dir}/"))
    )
}

/// Replaces what lies between the markers; an error when the README has no markers.
pub fn replace_section(readme: &str, section: &str) -> Result<String, String> {
    let start = readme
        .find(README_START)
        .ok_or_else(|| format!("the README has no {README_START} marker"))?;
    let end = readme[start..]
        .find(README_END)
        .map(|i| start + i)
        .ok_or_else(|| format!("the README has no {README_END} marker after {README_START}"))?;
    Ok(format!(
        "{}{README_START}\n{}\n{}",
        &readme[..start],
        section.trim_end(),
        &readme[end..]
    ))
}

fn stage_head(s: &mut String, title: &str, m: &Meta) {
    let _ = writeln!(s, "\n## {title}\n");
    let _ = write!(s, "Measured {}", m.measured_at);
    if let Some(l) = m.load_before {
        let _ = write!(s, ", load average (1 min) {l} at the start");
    }
    let _ = writeln!(s, ".");
    if let Some(load) = &m.load {
        let _ = writeln!(s, "Load: {load}.");
    }
    s.push('\n');
}

fn notes(s: &mut String, m: &Meta) {
    if !m.notes.is_empty() {
        s.push('\n');
    }
    for n in &m.notes {
        let _ = writeln!(s, "- {n}");
    }
}

fn pct(p: &Percentiles, name: &str) -> String {
    p.get(name)
        .map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

/// `GET /slow?ms=0`: the saturation runs, then the fixed-rate runs' CPU by process.
fn db_tables(s: &mut String, db: &DbBacked) {
    let _ = writeln!(
        s,
        "\n{} through demo-service, inventory and PostgreSQL, at saturation:\n\n| system | req/s | p50 ms | p99 ms | requests | RAM (PSS) of the three, MiB |\n| --- | ---: | ---: | ---: | ---: | ---: |",
        db.request
    );
    for (what, sys) in [("traced", &db.traced), ("untraced", &db.untraced)] {
        let p = &sys.wrk.latency_ms;
        let _ = writeln!(
            s,
            "| {what} | {} | {} | {} | {} | {:.1} |",
            thousands(sys.wrk.rps),
            pct(p, "p50"),
            pct(p, "p99"),
            thousands(sys.answered as f64),
            sys.ram_pss_mib
        );
    }
    if let Some(f) = &db.fixed_rate {
        let _ = writeln!(
            s,
            "\nAt a fixed {} req/s, {} run(s) of {:.0} s, both systems loaded at the same time:\n",
            thousands(f.rate),
            f.repeat,
            f.duration_s
        );
        let whole = [DEMO, INVENTORY, POSTGRES];
        rate_table(s, &f.systems, &[DEMO, INVENTORY, POSTGRES, "receiver"]);
        if let (Some(t), Some(u)) = (f.systems.get("traced"), f.systems.get("untraced")) {
            run_by_run(
                s,
                "traced vs untraced (demo-service + inventory + PostgreSQL)",
                &paired_more(t, u, &whole),
            );
        }
    }
    if let Some(f) = &db.tracer_floor {
        let _ = writeln!(
            s,
            "\nDatadog's tracer alone on the same request (demo-service/benches/tracer_floor.rs: the four spans through the OpenTelemetry API, the context injected and extracted, every trace exported; one process at {} req/s, {} requests): {:.1} µs of CPU a request with the lab's attributes, {:.1} bare.",
            thousands(f.rate),
            thousands(f.requests as f64),
            f.attributes_us,
            f.bare_us
        );
    }
}

/// The profiler's runs: the service's CPU a request, off and on.
fn profiler_table(s: &mut String, p: &Profiler) {
    let _ = writeln!(
        s,
        "\nThe continuous profiler ({} Hz, an upload every {:.0} s; agent-lite took {} profiles): {} at a fixed {} req/s, {} run(s) of {:.0} s, both systems loaded at the same time:\n",
        p.hz,
        p.upload_period_s,
        p.profiles_received,
        p.request,
        thousands(p.rate),
        p.repeat,
        p.duration_s
    );
    rate_table(s, &p.systems, &[SERVICE, "receiver"]);
    if let (Some(on), Some(off)) = (p.systems.get("on"), p.systems.get("off")) {
        run_by_run(s, "on vs off", &paired_more(on, off, &[SERVICE]));
    }
}

/// Each paired run's difference, in run order: how far the runs stray from their total.
fn run_by_run(s: &mut String, what: &str, more: &[f64]) {
    if more.is_empty() {
        return;
    }
    let each: Vec<String> = more.iter().map(|m| format!("{:+.1}%", m * 100.0)).collect();
    let _ = writeln!(
        s,
        "- {what}, CPU a request run by run: {}{}",
        each.join(", "),
        figures::spread(more)
    );
}

/// Fixed-rate systems: requests, req/s of each run, CPU µs a request of each group.
fn rate_table(s: &mut String, systems: &BTreeMap<String, RateSystem>, groups: &[&str]) {
    let _ = writeln!(
        s,
        "| system | requests | req/s of each run | {} |\n| --- | ---: | --- | {}",
        groups
            .iter()
            .map(|g| format!("{} CPU a request, µs", g.replace('_', "-")))
            .collect::<Vec<_>>()
            .join(" | "),
        "---: | ".repeat(groups.len())
    );
    for (name, sys) in systems {
        let each: Vec<String> = groups
            .iter()
            .map(|g| {
                sys.us_per_request
                    .get(*g)
                    .map_or("-".into(), |v| format!("{v:.2}"))
            })
            .collect();
        let rates: Vec<String> = sys.runs.iter().map(|r| format!("{:.0}", r.rps)).collect();
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} |",
            thousands(sys.requests as f64),
            rates.join(", "),
            each.join(" | ")
        );
    }
    // Where it goes: each process's busiest threads (names as the kernel keeps them, 15
    // characters, numbers as N).
    s.push('\n');
    for (name, sys) in systems {
        for g in groups {
            let Some(threads) = sys.us_per_request_by_thread.get(*g) else {
                continue;
            };
            let mut busiest: Vec<(&String, &f64)> = threads.iter().collect();
            busiest.sort_by(|a, b| b.1.total_cmp(a.1));
            let top: Vec<String> = busiest
                .iter()
                .take(5)
                .map(|(t, us)| format!("`{t}` {us:.2}"))
                .collect();
            let _ = writeln!(
                s,
                "- {name}, {}: µs a request by thread: {}",
                g.replace('_', "-"),
                top.join(", ")
            );
        }
    }
}

/// The whole summary.md.
pub fn summary(r: &Results, plots: &[Plot]) -> String {
    let mut s = format!(
        "# Benchmark results\n\nWritten by `bench/run` (target/release/lab-bench-report); do not edit by hand.\n\n{}\n\n{}\n{}",
        provenance(r),
        table(&figures::rows(r)),
        images(plots, "")
    );
    if let Some(d) = &r.demo {
        stage_head(&mut s, "demo-service vs the seed's Flask app", &d.meta);
        s.push_str("| system | req/s | p50 ms | p90 ms | p99 ms | requests | spans delivered | wrk errors | service CPU a request, µs (request path + other threads) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for sys in [&d.systems.traced, &d.systems.untraced, &d.systems.flask] {
            let p = &sys.wrk.latency_ms;
            let cpu = sys
                .cpu
                .as_ref()
                .map_or_else(|| "-".to_string(), figures::cpu_breakdown);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                sys.label,
                thousands(sys.wrk.rps),
                pct(p, "p50"),
                pct(p, "p90"),
                pct(p, "p99"),
                thousands(sys.answered as f64),
                thousands(sys.spans_delivered as f64),
                sys.wrk.errors.total(),
                cpu
            );
        }
        if let Some(db) = &d.db_backed {
            db_tables(&mut s, db);
        }
        if let Some(p) = &d.profiler {
            profiler_table(&mut s, p);
        }
        notes(&mut s, &d.meta);
    }
    if let Some(a) = &r.agent {
        stage_head(
            &mut s,
            "agent-lite's intake vs Datadog's test agent",
            &a.meta,
        );
        let (o, p) = (&a.traces.agent_lite, &a.traces.peer);
        let _ = writeln!(
            s,
            "| measure | agent-lite | peer: {} | agent-lite / peer |\n| --- | ---: | ---: | ---: |",
            a.peer_label
        );
        let mut line = |what: &str, ours: String, peer: String, ratio: String| {
            let _ = writeln!(s, "| {what} | {ours} | {peer} | {ratio} |");
        };
        line(
            "spans accepted per CPU-second",
            thousands(o.spans_per_cpu_s()),
            thousands(p.spans_per_cpu_s()),
            times(o.spans_per_cpu_s() / p.spans_per_cpu_s()),
        );
        line(
            &format!("spans/s, wall clock ({} connections)", a.traces.connections),
            thousands(o.blast.spans_per_s),
            thousands(p.blast.spans_per_s),
            times(o.blast.spans_per_s / p.blast.spans_per_s),
        );
        let failed = |n: u64| {
            if n > 0 {
                format!(" ({n} failed requests)")
            } else {
                String::new()
            }
        };
        line(
            "spans accepted, CPU-seconds used",
            format!(
                "{} in {:.2}{}",
                thousands(o.blast.spans as f64),
                o.cpu_s,
                failed(o.blast.errors)
            ),
            format!(
                "{} in {:.2}{}",
                thousands(p.blast.spans as f64),
                p.cpu_s,
                failed(p.blast.errors)
            ),
            String::new(),
        );
        line(
            "RSS idle / peak after the trace blast, MiB",
            format!("{:.1} / {:.1}", mib(o.idle_rss_kib), mib(o.peak_rss_kib)),
            format!("{:.1} / {:.1}", mib(p.idle_rss_kib), mib(p.peak_rss_kib)),
            String::new(),
        );
        let dsd = &a.dogstatsd;
        line(
            "DogStatsD lines processed per CPU-second",
            thousands(dsd.lines_per_cpu_s()),
            "no DogStatsD listener".into(),
            String::new(),
        );
        line(
            "DogStatsD lines processed of those sent",
            format!(
                "{} of {} ({:.1}% lost in UDP, {} rejected)",
                thousands(dsd.blast.lines_processed as f64),
                thousands(dsd.blast.lines_sent as f64),
                dsd.blast.lost_pct,
                dsd.blast.lines_rejected
            ),
            String::new(),
            String::new(),
        );
        line(
            "peak RSS after the DogStatsD blast, MiB",
            format!("{:.1}", mib(dsd.peak_rss_kib)),
            String::new(),
            String::new(),
        );
        let m = &a.demo_load;
        line(
            "full demo load: peak RSS, MiB",
            format!("{:.1}", mib(m.peak_rss_kib)),
            String::new(),
            String::new(),
        );
        line(
            "full demo load: spans received of those the service finished",
            format!(
                "{} of {} ({} req/s; {} DogStatsD lines; {:.2} CPU-s; {} payloads refused)",
                thousands(m.spans_received as f64),
                m.spans_finished
                    .as_f64()
                    .map_or_else(|| m.spans_finished.to_string(), thousands),
                thousands(m.wrk.rps),
                thousands(m.dogstatsd_lines as f64),
                m.cpu_s,
                m.payloads_rejected
            ),
            String::new(),
            String::new(),
        );
        notes(&mut s, &a.meta);
    }
    if let Some(l) = &r.loadgen {
        stage_head(&mut s, "loadgen vs locust and wrk", &l.meta);
        s.push_str("| load generator | req/s | CPU-s | CPU, % of one core | req per CPU-s | p50 ms | p95 ms | p99 ms | errors |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for g in [&l.systems.loadgen, &l.systems.wrk, &l.systems.locust] {
            let run = &g.run;
            let _ = writeln!(
                s,
                "| {} | {} | {:.2} | {:.0}% | {} | {} | {} | {} | {} |",
                g.label,
                thousands(run.rps),
                run.cpu_s,
                100.0 * run.cpu_s / l.duration_s,
                thousands(run.per_cpu_s()),
                pct(&run.latency_ms, "p50"),
                pct(&run.latency_ms, "p95"),
                pct(&run.latency_ms, "p99"),
                run.errors
            );
        }
        notes(&mut s, &l.meta);
    }
    if let Some(c) = &r.collectors {
        stage_head(&mut s, "agent-lite's collectors", &c.meta);
        s.push_str("| agent-lite | CPU, % of one core | RSS MiB | peak RSS MiB | container log lines |\n| --- | ---: | ---: | ---: | ---: |\n");
        for (what, side) in [("collectors on", &c.on), ("collectors off", &c.off)] {
            let _ = writeln!(
                s,
                "| {what} | {:.2} | {:.1} | {:.1} | {} |",
                side.cpu_pct,
                mib(side.rss_kib),
                mib(side.peak_rss_kib),
                side.log_lines
            );
        }
        notes(&mut s, &c.meta);
    }
    if let Some(st) = &r.stack {
        stage_head(&mut s, "images and the whole stack", &st.meta);
        s.push_str("| image | MB | of which the binary, MB |\n| --- | ---: | ---: |\n");
        for (n, i) in &st.images {
            let _ = writeln!(
                s,
                "| lab/{n} | {:.1} | {:.1} |",
                i.bytes as f64 / 1e6,
                i.binary_bytes as f64 / 1e6
            );
        }
        if let Some(b) = st.base_image_bytes.as_ref().and_then(|b| b.as_f64()) {
            let _ = writeln!(s, "| base (debootstrap, cut down) | {:.1} | |", b / 1e6);
        }
        if let Some(b) = st.postgres_image_bytes {
            let _ = writeln!(
                s,
                "| lab/postgres (Debian's postgresql-15, not the lab's code) | {:.1} | |",
                b as f64 / 1e6
            );
        }
        let services: Vec<&String> = st
            .samples
            .first()
            .map_or(vec![], |x| x.mib.keys().collect());
        let _ = writeln!(
            s,
            "\n| after | {} | whole stack |\n| ---: | {}---: |",
            services
                .iter()
                .map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            "---: | ".repeat(services.len())
        );
        for x in &st.samples {
            let each: Vec<String> = services
                .iter()
                .map(|k| x.mib.get(*k).map_or("-".into(), |v| format!("{v:.1}")))
                .collect();
            let _ = writeln!(
                s,
                "| {:.0} s | {} | {:.1} |",
                x.at_s,
                each.join(" | "),
                x.total()
            );
        }
        let _ = writeln!(
            s,
            "\nMiB, as `docker stats` shows them ({}); cold `up` to the first trace visible: {:.1} s.",
            st.compose.as_deref().unwrap_or("compose"),
            st.up_to_first_trace_s
        );
        notes(&mut s, &st.meta);
    }
    if let Some(a) = &r.alerts {
        stage_head(&mut s, "chaos phase start to its monitor's ALERT", &a.meta);
        let phases = figures::alert_phases(r);
        let _ = writeln!(
            s,
            "| run | {} | loadgen exit |\n| ---: | {}---: |",
            phases
                .iter()
                .map(|(p, _)| format!("'{p}', s"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---: | ".repeat(phases.len())
        );
        for (i, run) in a.runs.iter().enumerate() {
            let cells: Vec<String> = phases
                .iter()
                .map(|(name, _)| {
                    run.phases
                        .iter()
                        .find(|p| &p.phase == name)
                        .map_or("-".into(), |p| match p.latency_s {
                            Some(l) if p.note.is_empty() => format!("{l:.0}"),
                            Some(l) => format!("{l:.0} ({})", p.note),
                            None => "no alert".into(),
                        })
                })
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                i + 1,
                cells.join(" | "),
                run.loadgen_exit
            );
        }
        let _ = writeln!(s, "\nScenario: {}.", a.scenario);
        notes(&mut s, &a.meta);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_section_is_replaced_between_its_markers_only() {
        let readme =
            "# x\n\nbefore\n<!-- bench:summary -->\nold\ntable\n<!-- /bench:summary -->\nafter\n";
        let new = replace_section(readme, "new table\n").unwrap();
        assert_eq!(
            new,
            "# x\n\nbefore\n<!-- bench:summary -->\nnew table\n<!-- /bench:summary -->\nafter\n"
        );
        // Again: the same result, nothing piles up.
        assert_eq!(replace_section(&new, "new table").unwrap(), new);
    }

    #[test]
    fn a_readme_without_markers_is_an_error() {
        assert!(replace_section("# x\n", "t").is_err());
        assert!(replace_section("<!-- bench:summary -->\n", "t").is_err());
    }

    #[test]
    fn the_profilers_runs_are_shown_with_where_their_cpu_goes() {
        let p: Profiler = serde_json::from_str(
            r#"{"request": "GET / traced", "rate": 2000, "duration_s": 10, "repeat": 2, "hz": 100,
                "upload_period_s": 10, "profiles_received": 7, "systems": {
                "off": {"runs": [{"rps": 1999.5, "requests": 20000, "cpu": {"service": 2.4}},
                                 {"rps": 2000.1, "requests": 20000, "cpu": {"service": 2.4}}], "requests": 40000,
                        "us_per_request": {"service": 120.0, "receiver": 5.0},
                        "us_per_request_by_thread": {"service": {"actix-rt|system:N|arbiter:N": 100.0, "demo-service-lo": 20.0}}},
                "on": {"runs": [{"rps": 2000.0, "requests": 20000, "cpu": {"service": 2.42}},
                                {"rps": 1999.9, "requests": 20000, "cpu": {"service": 2.44}}], "requests": 40000,
                       "us_per_request": {"service": 121.5, "receiver": 5.1},
                       "us_per_request_by_thread": {"service": {"actix-rt|system:N|arbiter:N": 100.9, "demo-service-pr": 0.6}}}}}"#,
        )
        .expect("profiler figures");
        let mut s = String::new();
        profiler_table(&mut s, &p);
        assert!(s.contains("agent-lite took 7 profiles"), "{s}");
        assert!(
            s.contains("| on | 40,000 | 2000, 2000 | 121.50 | 5.10 |"),
            "{s}"
        );
        assert!(
            s.contains("- on, service: µs a request by thread: `actix-rt|system:N|arbiter:N` 100.90, `demo-service-pr` 0.60"),
            "{s}"
        );
        assert!(
            s.contains(
                "- on vs off, CPU a request run by run: +0.8%, +1.7% (2 runs +0.8% to +1.7%"
            ),
            "{s}"
        );
    }

    #[test]
    fn an_empty_results_folder_says_what_to_run() {
        let s = summary(&Results::default(), &[]);
        assert!(s.contains("run `bench/run`"), "{s}");
        assert!(s.contains("not measured"), "{s}");
    }
}
