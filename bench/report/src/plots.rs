//! The PNG plots: throughput per system, latency percentiles per system, alert latency per
//! run, and the stack's memory over time. Drawn with plotters' bitmap backend; text with a
//! font compiled into the binary (DejaVu Sans, fonts/), so no system font or fontconfig is
//! needed: CI machines and containers often have neither.

use std::path::Path;

use anyhow::{anyhow, Context as _};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::data::{Percentiles, Results};
use crate::figures::{self, thousands};
use crate::markdown::Plot;

const FONT: &str = "sans-serif";
const OURS: RGBColor = RGBColor(31, 119, 180);
const OURS_LIGHT: RGBColor = RGBColor(125, 176, 215);
const PEER: RGBColor = RGBColor(230, 126, 34);
const CEILING: RGBColor = RGBColor(127, 127, 127);
const TARGET: RGBColor = RGBColor(200, 30, 30);
const SERIES: [RGBColor; 6] = [
    OURS,
    PEER,
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    CEILING,
];

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type Res<T = ()> = anyhow::Result<T>;

/// plotters' drawing errors carry the backend's error type; one message is enough here.
fn e<E: std::fmt::Debug>(err: E) -> anyhow::Error {
    anyhow!("drawing failed: {err:?}")
}

/// Makes DejaVu Sans the "sans-serif" family plotters draws every text with.
pub fn register_font() -> Res {
    static DEJAVU: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
    plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU)
        .map_err(|_| anyhow!("the embedded DejaVu Sans does not load"))
}

/// Draws every plot the results have figures for into `dir`; returns those written.
pub fn draw_all(r: &Results, dir: &Path) -> Res<Vec<Plot>> {
    let mut out = vec![];
    let panels = throughput_panels(r);
    if !panels.is_empty() {
        throughput(&dir.join("throughput.png"), &panels)?;
        out.push(Plot {
            file: "throughput.png",
            alt: "throughput of each system beside its peers",
        });
    }
    let panels = latency_panels(r);
    if !panels.is_empty() {
        latency(&dir.join("latency.png"), &panels)?;
        out.push(Plot {
            file: "latency.png",
            alt: "latency percentiles of each system",
        });
    }
    if r.alerts.as_ref().is_some_and(|a| !a.runs.is_empty()) {
        alert_latency(&dir.join("alert-latency.png"), r)?;
        out.push(Plot {
            file: "alert-latency.png",
            alt: "time from each chaos phase's start to its monitor's ALERT, per run",
        });
    }
    if r.stack.as_ref().is_some_and(|s| !s.samples.is_empty()) {
        stack_ram(&dir.join("stack-ram.png"), r)?;
        out.push(Plot {
            file: "stack-ram.png",
            alt: "memory of the compose stack's containers at steady load",
        });
    }
    Ok(out)
}

// --- throughput -------------------------------------------------------------------------------

struct Bar {
    label: String,
    value: f64,
    color: RGBColor,
    /// Said after the value: the ratio to the peer.
    note: String,
}

struct BarPanel {
    title: String,
    unit: &'static str,
    bars: Vec<Bar>,
    /// A target drawn as a vertical line: (value, label).
    target: Option<(f64, String)>,
}

fn bar(label: impl Into<String>, value: f64, color: RGBColor) -> Bar {
    Bar {
        label: label.into(),
        value,
        color,
        note: String::new(),
    }
}

impl Bar {
    fn vs(mut self, peer: f64, whom: &str) -> Self {
        if peer > 0.0 {
            let sep = if self.note.is_empty() { "" } else { ", " };
            self.note = format!(
                "{}{sep}{} {whom}",
                self.note,
                figures::times(self.value / peer)
            );
        }
        self
    }
}

fn throughput_panels(r: &Results) -> Vec<BarPanel> {
    let mut panels = vec![];
    if let Some(d) = &r.demo {
        let s = &d.systems;
        panels.push(BarPanel {
            title: "demo-service: GET / served per second (wrk, same load)".into(),
            unit: "requests per second",
            bars: vec![
                bar("demo-service, traced", s.traced.wrk.rps, OURS)
                    .vs(s.flask.wrk.rps, "the peer")
                    .vs(s.untraced.wrk.rps, "untraced"),
                bar("demo-service, untraced", s.untraced.wrk.rps, OURS_LIGHT)
                    .vs(s.flask.wrk.rps, "the peer"),
                bar(
                    "peer: seed's Flask app, ddtrace-run, gunicorn -w 2",
                    s.flask.wrk.rps,
                    PEER,
                ),
            ],
            target: Some((
                figures::DEMO_VS_FLASK * s.flask.wrk.rps,
                format!("target: {}x the peer", figures::DEMO_VS_FLASK),
            )),
        });
    }
    if let Some(l) = &r.loadgen {
        let s = &l.systems;
        panels.push(BarPanel {
            title: "load generators: requests driven per second against demo-service".into(),
            unit: "requests per second",
            bars: vec![
                bar("loadgen", s.loadgen.run.rps, OURS)
                    .vs(s.locust.run.rps, "locust")
                    .vs(s.wrk.run.rps, "wrk"),
                bar("peer: wrk -t2 (the ceiling)", s.wrk.run.rps, CEILING),
                bar("peer: locust, 1 process", s.locust.run.rps, PEER),
            ],
            target: Some((
                figures::LOADGEN_VS_LOCUST * s.locust.run.rps,
                format!("target: {}x locust", figures::LOADGEN_VS_LOCUST),
            )),
        });
    }
    if let Some(a) = &r.agent {
        panels.push(BarPanel {
            title: "trace intake: v0.4 spans accepted per CPU-second (same payloads)".into(),
            unit: "spans per CPU-second",
            bars: vec![
                bar("agent-lite", a.traces.agent_lite.spans_per_cpu_s(), OURS)
                    .vs(a.traces.peer.spans_per_cpu_s(), "the peer"),
                bar(
                    format!("peer: {}", a.peer_label),
                    a.traces.peer.spans_per_cpu_s(),
                    PEER,
                ),
            ],
            target: Some((
                figures::SPANS_PER_CPU_S,
                format!("target: {}", thousands(figures::SPANS_PER_CPU_S)),
            )),
        });
        panels.push(BarPanel {
            title: "DogStatsD intake: lines processed per CPU-second (no peer: the test agent has no listener)".into(),
            unit: "lines per CPU-second",
            bars: vec![bar("agent-lite", a.dogstatsd.lines_per_cpu_s(), OURS)],
            target: Some((
                figures::LINES_PER_CPU_S,
                format!("target: {}", thousands(figures::LINES_PER_CPU_S)),
            )),
        });
    }
    panels
}

fn throughput(path: &Path, panels: &[BarPanel]) -> Res {
    let rows: usize = panels.iter().map(|p| p.bars.len() + 2).sum();
    let height = 70 + rows as u32 * 46;
    let root = BitMapBackend::new(path, (1100, height)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let root = root
        .titled("Throughput, each system beside its peers", (FONT, 26))
        .map_err(e)?;
    let mut rest = root;
    for p in panels {
        let h = (p.bars.len() + 2) as u32 * 46;
        let (area, below) = rest.split_vertically(h);
        bar_panel(&area, p)?;
        rest = below;
    }
    rest.present().map_err(e)?;
    Ok(())
}

fn bar_panel(area: &Area, p: &BarPanel) -> Res {
    let n = p.bars.len() as f64;
    let top = p
        .bars
        .iter()
        .map(|b| b.value)
        .chain(p.target.iter().map(|t| t.0))
        .fold(1.0, f64::max)
        * 1.3; // room right of the longest bar for its value
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, 18))
        .margin(8)
        .margin_right(30)
        .x_label_area_size(34)
        .y_label_area_size(8)
        .build_cartesian_2d(0f64..top, 0f64..n)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(0)
        .x_labels(6)
        .x_desc(p.unit)
        .x_label_formatter(&|v| short(*v))
        .label_style((FONT, 14))
        .draw()
        .map_err(e)?;
    // The target first: the bars and their values are drawn over it.
    if let Some((x, label)) = &p.target {
        chart
            .draw_series(DashedLineSeries::new(
                [(*x, 0.0), (*x, n)],
                6,
                4,
                TARGET.stroke_width(2),
            ))
            .map_err(e)?;
        let style = TextStyle::from((FONT, 13).into_font())
            .color(&TARGET)
            .pos(Pos::new(HPos::Right, VPos::Top));
        chart
            .draw_series(std::iter::once(Text::new(
                label.clone(),
                (*x - top * 0.005, n - 0.02),
                style,
            )))
            .map_err(e)?;
    }
    let left = TextStyle::from((FONT, 15).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    for (i, b) in p.bars.iter().enumerate() {
        // First bar on top; each row: the bar in its lower half, its name above it.
        let base = n - 1.0 - i as f64;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, base + 0.08), (b.value, base + 0.5)],
                b.color.filled(),
            )))
            .map_err(e)?;
        chart
            .draw_series([
                Text::new(b.label.clone(), (top * 0.004, base + 0.74), left.clone()),
                Text::new(
                    if b.note.is_empty() {
                        thousands(b.value)
                    } else {
                        format!("{}  ({})", thousands(b.value), b.note)
                    },
                    (b.value + top * 0.008, base + 0.29),
                    left.clone(),
                ),
            ])
            .map_err(e)?;
    }
    Ok(())
}

/// The legend box, the same on every plot.
fn legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> Res {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font((FONT, 14))
        .draw()
        .map_err(e)
}

/// A line's key in the legend.
fn key(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style)
}

/// 32000 -> "32k", 1500000 -> "1.5M".
fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map_or(s.clone(), str::to_owned)
}

// --- latency --------------------------------------------------------------------------------

struct LinePanel {
    title: String,
    percentiles: &'static [&'static str],
    systems: Vec<(String, Percentiles, RGBColor)>,
}

fn latency_panels(r: &Results) -> Vec<LinePanel> {
    let mut panels = vec![];
    if let Some(d) = &r.demo {
        let s = &d.systems;
        panels.push(LinePanel {
            title: "demo-service: GET / latency under the same wrk load".into(),
            percentiles: &["p50", "p75", "p90", "p95", "p99"],
            systems: vec![
                (
                    "demo-service, traced".into(),
                    s.traced.wrk.latency_ms.clone(),
                    OURS,
                ),
                (
                    "demo-service, untraced".into(),
                    s.untraced.wrk.latency_ms.clone(),
                    OURS_LIGHT,
                ),
                (
                    "peer: Flask + ddtrace-run".into(),
                    s.flask.wrk.latency_ms.clone(),
                    PEER,
                ),
            ],
        });
    }
    if let Some(l) = &r.loadgen {
        let s = &l.systems;
        panels.push(LinePanel {
            title: "load generators: latency each one measured, at its own request rate".into(),
            percentiles: &["p50", "p95", "p99"],
            systems: vec![
                ("loadgen".into(), s.loadgen.run.latency_ms.clone(), OURS),
                ("peer: wrk".into(), s.wrk.run.latency_ms.clone(), CEILING),
                ("peer: locust".into(), s.locust.run.latency_ms.clone(), PEER),
            ],
        });
    }
    panels
}

fn latency(path: &Path, panels: &[LinePanel]) -> Res {
    let root = BitMapBackend::new(path, (1100, 60 + 420 * panels.len() as u32)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let root = root
        .titled(
            "Latency percentiles per system (milliseconds, log scale)",
            (FONT, 26),
        )
        .map_err(e)?;
    for (area, p) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
        line_panel(area, p)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

fn line_panel(area: &Area, p: &LinePanel) -> Res {
    let values: Vec<f64> = p
        .systems
        .iter()
        .flat_map(|(_, ps, _)| p.percentiles.iter().filter_map(|q| ps.get(q)))
        .filter(|v| *v > 0.0)
        .collect();
    // Whole decades, so that the log axis is labelled at both ends.
    let lo = 10f64.powf(values.iter().copied().fold(1.0, f64::min).log10().floor());
    let hi = 10f64.powf(values.iter().copied().fold(1.0, f64::max).log10().ceil());
    let n = p.percentiles.len() as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, 18))
        .margin(10)
        .margin_right(30)
        .x_label_area_size(34)
        .y_label_area_size(70)
        .build_cartesian_2d((0..n - 1).into_segmented(), (lo..hi).log_scale())
        .map_err(e)?;
    let names = p.percentiles;
    chart
        .configure_mesh()
        .x_labels(names.len())
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                names.get(*i as usize).copied().unwrap_or("").to_owned()
            }
            SegmentValue::Last => String::new(),
        })
        .y_desc("ms")
        .y_label_formatter(&|v| trim_ms(*v))
        .label_style((FONT, 14))
        .draw()
        .map_err(e)?;
    for (name, ps, color) in &p.systems {
        let points: Vec<(SegmentValue<i32>, f64)> = names
            .iter()
            .enumerate()
            .filter_map(|(i, q)| Some((SegmentValue::CenterOf(i as i32), ps.get(q)?)))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        let color = *color;
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(3)))
            .map_err(e)?
            .label(name.as_str())
            .legend(key(color.stroke_width(3)));
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(p.clone(), 5, color.filled())),
            )
            .map_err(e)?;
        // The p99 (the last point) with its value: the figure people quote.
        if let Some(last) = points.last() {
            let style = TextStyle::from((FONT, 13).into_font())
                .color(&color)
                .pos(Pos::new(HPos::Left, VPos::Bottom));
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(" {} ms", trim_ms(last.1)),
                    last.clone(),
                    style,
                )))
                .map_err(e)?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    Ok(())
}

fn trim_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        trim(v)
    } else {
        format!("{v:.2}")
    }
}

// --- alert latency --------------------------------------------------------------------------

fn alert_latency(path: &Path, r: &Results) -> Res {
    let phases = figures::alert_phases(r);
    let runs = r.alerts.as_ref().map_or(0, |a| a.runs.len()) as i32;
    let top = phases
        .iter()
        .flat_map(|(_, ps)| ps.iter().flat_map(|p| [p.latency_s, p.target_s]))
        .flatten()
        .fold(10.0, f64::max)
        * 1.4; // headroom for the legend, above the points
    let root = BitMapBackend::new(path, (1100, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let scenario = r.alerts.as_ref().map_or("", |a| a.scenario.as_str());
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Chaos phase start to its monitor's ALERT, per run",
            (FONT, 24),
        )
        .margin(12)
        .margin_right(30)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d((0..runs - 1).into_segmented(), 0f64..top)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_labels(runs as usize)
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => format!("{}", i + 1),
            SegmentValue::Last => String::new(),
        })
        .x_desc(format!("run ({scenario})"))
        .y_desc("seconds after the phase began")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(e)?;
    let mut targets: Vec<f64> = vec![];
    for (k, (phase, ps)) in phases.iter().enumerate() {
        let color = SERIES[k % SERIES.len()];
        let points: Vec<(SegmentValue<i32>, f64)> = r
            .alerts
            .iter()
            .flat_map(|a| a.runs.iter().enumerate())
            .filter_map(|(i, run)| {
                let p = run.phases.iter().find(|p| &p.phase == phase)?;
                Some((SegmentValue::CenterOf(i as i32), p.latency_s?))
            })
            .collect();
        let label = format!("{phase}: \"{}\"", ps[0].monitor);
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .map_err(e)?
            .label(label)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
        chart
            .draw_series(
                points
                    .iter()
                    .map(|p| Circle::new(p.clone(), 6, color.filled())),
            )
            .map_err(e)?;
        // A run whose monitor never went Alert: a cross at the top.
        let missing = r
            .alerts
            .iter()
            .flat_map(|a| a.runs.iter().enumerate())
            .filter(|(_, run)| {
                run.phases
                    .iter()
                    .any(|p| &p.phase == phase && p.latency_s.is_none())
            })
            .map(|(i, _)| {
                Cross::new(
                    (SegmentValue::CenterOf(i as i32), top * 0.96),
                    7,
                    TARGET.stroke_width(3),
                )
            });
        chart.draw_series(missing).map_err(e)?;
        if let Some(t) = ps[0].target_s {
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
    }
    for t in &targets {
        chart
            .draw_series(DashedLineSeries::new(
                [(SegmentValue::Exact(0), *t), (SegmentValue::Last, *t)],
                8,
                5,
                TARGET.stroke_width(2),
            ))
            .map_err(e)?
            .label(format!("target: window + one evaluation = {t:.0} s"))
            .legend(key(TARGET.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().map_err(e)?;
    Ok(())
}

// --- stack RAM ------------------------------------------------------------------------------

/// A series: its name, points, colour and width.
type Line = (String, Vec<(f64, f64)>, RGBColor, u32);

fn stack_ram(path: &Path, r: &Results) -> Res {
    let Some(s) = &r.stack else { return Ok(()) };
    let minutes = s.samples.last().map_or(1.0, |x| x.at_s / 60.0).max(0.1);
    let peak = s.samples.iter().map(|x| x.total()).fold(0.0, f64::max);
    let top = peak.max(figures::STACK_MIB) * 1.15;
    let root = BitMapBackend::new(path, (1100, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Compose stack memory at steady load (baseline scenario)",
            (FONT, 24),
        )
        .margin(12)
        .margin_right(30)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..minutes, 0f64..top)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("minutes after the first trace")
        .y_desc("MiB (docker stats)")
        .x_label_formatter(&|v| trim(*v))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(e)?;
    let services: Vec<String> = s
        .samples
        .first()
        .map_or(vec![], |x| x.mib.keys().cloned().collect());
    let mut lines: Vec<Line> = services
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let pts = s
                .samples
                .iter()
                .filter_map(|x| Some((x.at_s / 60.0, *x.mib.get(name)?)))
                .collect();
            (name.clone(), pts, SERIES[(i + 2) % SERIES.len()], 2)
        })
        .collect();
    lines.push((
        "whole stack".into(),
        s.samples
            .iter()
            .map(|x| (x.at_s / 60.0, x.total()))
            .collect(),
        OURS,
        4,
    ));
    for (name, pts, color, width) in lines {
        chart
            .draw_series(LineSeries::new(pts.clone(), color.stroke_width(width)))
            .map_err(e)?
            .label(name)
            .legend(key(color.stroke_width(width)));
        chart
            .draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
            .map_err(e)?;
    }
    chart
        .draw_series(DashedLineSeries::new(
            [(0.0, figures::STACK_MIB), (minutes, figures::STACK_MIB)],
            8,
            5,
            TARGET.stroke_width(2),
        ))
        .map_err(e)?
        .label(format!("target: under {:.0} MB", figures::STACK_MIB))
        .legend(key(TARGET.stroke_width(2)));
    legend(&mut chart, SeriesLabelPosition::MiddleRight)?;
    root.present()
        .map_err(e)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
