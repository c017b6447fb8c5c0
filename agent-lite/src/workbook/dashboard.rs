//! Reading a student's dashboard (Datadog's dashboard JSON, as agent-lite's API returns it):
//! its widgets, the metrics each one queries, its formulas and markers; and judging it against
//! what an exercise asks of its widgets, down to whether each query draws data in the lab.

use serde_json::Value;

use super::client::{ApiError, LabApi, QueryAnswer};
use super::lang::{tr, Lang};
use super::report::Report;

/// One widget, reduced to what the exercises judge. Group widgets are opened: their widgets
/// count as the dashboard's.
#[derive(Debug, Default)]
pub struct Widget {
    pub title: String,
    pub kind: String,
    /// Every query as written: legacy `q` strings and the `query` of each `queries` entry.
    pub queries: Vec<String>,
    pub formulas: Vec<String>,
    /// The numbers of the markers (`"y = 80"`) and of the conditional formats' thresholds.
    pub markers: Vec<f64>,
}

pub struct Dashboard {
    pub id: String,
    pub title: String,
    pub widgets: Vec<Widget>,
    /// `(name, prefix, default)` of each template variable.
    variables: Vec<(String, String, String)>,
}

/// The dashboard titled `title` (case and surrounding spaces aside), or every title there is.
pub fn find(dashboards: &[Value], title: &str) -> Result<Dashboard, Vec<String>> {
    let wanted = title.trim().to_lowercase();
    dashboards
        .iter()
        .find(|d| d["title"].as_str().map(|t| t.trim().to_lowercase()) == Some(wanted.clone()))
        .map(Dashboard::read)
        .ok_or_else(|| {
            dashboards
                .iter()
                .filter_map(|d| d["title"].as_str().map(str::to_owned))
                .collect()
        })
}

impl Dashboard {
    fn read(d: &Value) -> Self {
        let mut widgets = Vec::new();
        collect_widgets(&d["widgets"], &mut widgets);
        let variables = d["template_variables"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| {
                let name = v["name"].as_str()?.to_owned();
                let prefix = v["prefix"].as_str().unwrap_or(&name).to_owned();
                let default = v["default"].as_str().unwrap_or("*").to_owned();
                Some((name, prefix, default))
            })
            .collect();
        Self {
            id: d["id"].as_str().unwrap_or("").to_owned(),
            title: d["title"].as_str().unwrap_or("").to_owned(),
            widgets,
            variables,
        }
    }

    /// `query` with its template variables replaced by their defaults, as the dashboard first
    /// draws it: `{$host}` is `{*}`, `{$service,$env}` with a default service
    /// `service:demo-service`.
    pub fn resolve(&self, query: &str) -> String {
        let mut out = String::with_capacity(query.len());
        let mut rest = query;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..=open]);
            let Some(close) = rest[open..].find('}') else {
                out.push_str(&rest[open + 1..]);
                return out;
            };
            let scope = &rest[open + 1..open + close];
            let tags: Vec<String> = scope
                .split(',')
                .map(str::trim)
                .filter_map(|tag| match tag.strip_prefix('$') {
                    Some(var) => self.variable_tag(var),
                    None => (!tag.is_empty() && tag != "*").then(|| tag.to_owned()),
                })
                .collect();
            if tags.is_empty() {
                out.push('*');
            } else {
                out.push_str(&tags.join(","));
            }
            out.push('}');
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }

    fn variable_tag(&self, var: &str) -> Option<String> {
        let name = var.strip_suffix(".value").unwrap_or(var);
        let (_, prefix, default) = self.variables.iter().find(|(n, _, _)| n == name)?;
        (default != "*" && !default.is_empty()).then(|| format!("{prefix}:{default}"))
    }
}

fn collect_widgets(list: &Value, into: &mut Vec<Widget>) {
    for w in list.as_array().into_iter().flatten() {
        let def = &w["definition"];
        if def["type"] == "group" {
            collect_widgets(&def["widgets"], into);
            continue;
        }
        into.push(read_widget(def));
    }
}

fn read_widget(def: &Value) -> Widget {
    let mut w = Widget {
        title: def["title"].as_str().unwrap_or("").to_owned(),
        kind: def["type"].as_str().unwrap_or("").to_owned(),
        ..Widget::default()
    };
    // Most widgets have a list of requests; a few (query_value's older form) an object.
    let requests: Vec<&Value> = match &def["requests"] {
        Value::Array(list) => list.iter().collect(),
        Value::Object(_) => vec![&def["requests"]],
        _ => Vec::new(),
    };
    for r in requests {
        if let Some(q) = r["q"].as_str() {
            w.queries.push(q.to_owned());
        }
        for q in r["queries"].as_array().into_iter().flatten() {
            if let Some(q) = q["query"].as_str() {
                w.queries.push(q.to_owned());
            }
        }
        for f in r["formulas"].as_array().into_iter().flatten() {
            if let Some(f) = f["formula"].as_str() {
                w.formulas.push(f.to_owned());
            }
        }
        for c in r["conditional_formats"].as_array().into_iter().flatten() {
            if let Some(v) = c["value"].as_f64() {
                w.markers.push(v);
            }
        }
    }
    for m in def["markers"].as_array().into_iter().flatten() {
        if let Some(v) = m["value"].as_str() {
            w.markers.extend(numbers_in(v));
        }
    }
    w
}

/// The numbers written in a marker's value: `y = 80` gives 80, `0 < y < 0.95` gives 0, 0.95.
fn numbers_in(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// The metric names a query reads: the name before each scope's `{`
/// (`p95:trace.http.server.request{...}` reads `trace.http.server.request`).
pub fn metrics_in(query: &str) -> Vec<String> {
    let bytes = query.as_bytes();
    let mut out = Vec::new();
    for (i, _) in query.match_indices('{') {
        let start = bytes[..i]
            .iter()
            .rposition(|&b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'.'))
            .map_or(0, |p| p + 1);
        let name = &query[start..i];
        // `by {host}` leaves an empty name (a space before the brace).
        if !name.is_empty() && name.contains('.') {
            out.push(name.to_owned());
        }
    }
    out
}

/// A pattern of the workbook: `system.cpu.user` exactly, or `system.mem.*` for any of them.
fn matches(pattern: &str, metric: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => metric.starts_with(prefix),
        None => metric == pattern,
    }
}

impl Widget {
    pub fn metrics(&self) -> Vec<String> {
        self.queries.iter().flat_map(|q| metrics_in(q)).collect()
    }

    pub fn reads(&self, pattern: &str) -> bool {
        self.metrics().iter().any(|m| matches(pattern, m))
    }

    /// A formula that computes (an operator or a function), not one that names a query; or
    /// a legacy query with arithmetic between its parts.
    pub fn has_expression(&self) -> bool {
        let computes = |s: &str| s.contains(['+', '-', '*', '/', '(']);
        self.formulas.iter().any(|f| computes(f))
            || self
                .queries
                .iter()
                .any(|q| outside_scopes(q).contains(['+', '-', '*', '/']))
    }

    pub fn has_marker(&self, value: f64) -> bool {
        self.markers
            .iter()
            .any(|m| (m - value).abs() <= value.abs() * 1e-6)
    }

    fn name(&self) -> String {
        if self.title.is_empty() {
            self.kind.clone()
        } else {
            self.title.clone()
        }
    }
}

/// A query without its `{...}` scopes, whose tags may hold `-` (`service:demo-service`), and
/// without `.as_count()`-style suffixes.
fn outside_scopes(query: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in query.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.replace(".as_count()", "").replace(".as_rate()", "")
}

/// What an exercise asks of one widget. Every field is a condition; empty ones ask nothing.
pub struct Need<'a> {
    /// What the widget shows, in the student's language ("CPU user vs system").
    pub what: String,
    /// Metrics the widget must read (patterns, see [`matches`]).
    pub metrics: &'a [&'a str],
    /// One of these widget types, when not empty.
    pub kinds: &'a [&'a str],
    pub expression: bool,
    /// Each entry: a marker at one of these values (`&[0.95, 95.0]`: the fraction or the
    /// percent).
    pub markers: &'a [&'a [f64]],
    /// Text one of the queries must hold once spaces are removed (`by{http.status_code}`).
    pub query_holds: &'a [&'a str],
}

/// Judges `need` on `dashboard`: the widget that meets it, or the closest one and what it
/// lacks; then whether each of that widget's queries draws data in the lab over the last
/// `minutes`. Adds the findings to `report`; true when everything was there.
pub async fn judge(
    api: &LabApi,
    dashboard: &Dashboard,
    need: &Need<'_>,
    minutes: i64,
    lang: Lang,
    report: &mut Report,
) -> Result<bool, ApiError> {
    let what = &need.what;
    let candidates: Vec<&Widget> = dashboard
        .widgets
        .iter()
        .filter(|w| need.kinds.is_empty() || need.kinds.contains(&w.kind.as_str()))
        .filter(|w| need.metrics.iter().all(|m| w.reads(m)))
        .collect();
    // The candidate closest to the need: its shortfalls are what the student has left to do.
    let Some(best) = candidates
        .iter()
        .min_by_key(|w| shortfalls(w, need, dashboard).len())
        .copied()
    else {
        let metrics = need.metrics.join(", ");
        let kinds = need.kinds.join(" / ");
        report.missing(match (need.metrics.is_empty(), need.kinds.is_empty()) {
            (false, _) => tr!(
                lang,
                "{what}: no widget of \"{}\" reads {metrics}",
                "{what} : aucun widget de \"{}\" ne lit {metrics}",
                dashboard.title
            ),
            (true, false) => tr!(
                lang,
                "{what}: no widget of type {kinds} on \"{}\"",
                "{what} : aucun widget de type {kinds} sur \"{}\"",
                dashboard.title
            ),
            (true, true) => tr!(lang, "{what}: no widget", "{what} : aucun widget"),
        });
        return Ok(false);
    };
    let lacks = shortfalls(best, need, dashboard);
    let name = best.name();
    if !lacks.is_empty() {
        for lack in lacks {
            let text = lack.say(lang);
            report.missing(tr!(
                lang,
                "{what}: your widget \"{name}\" {text}",
                "{what} : votre widget \"{name}\" {text}"
            ));
        }
        return Ok(false);
    }
    let mut drawn = true;
    for query in &best.queries {
        let resolved = dashboard.resolve(query);
        match api.query(&resolved, minutes).await? {
            QueryAnswer::Refused(reason) => {
                drawn = false;
                report.missing(tr!(
                    lang,
                    "{what}: agent-lite refuses the query `{resolved}` of \"{name}\": {reason}",
                    "{what} : agent-lite refuse la requête `{resolved}` de \"{name}\" : {reason}"
                ));
            }
            answer if !answer.has_points() => {
                drawn = false;
                report.missing(tr!(
                    lang,
                    "{what}: the query `{resolved}` of \"{name}\" draws no data over the last {minutes} minutes (a metric or tag misspelt?)",
                    "{what} : la requête `{resolved}` de \"{name}\" ne trace aucune donnée sur les {minutes} dernières minutes (une métrique ou un tag mal écrit ?)"
                ));
            }
            _ => {}
        }
    }
    if drawn {
        report.ok(tr!(
            lang,
            "{what}: \"{name}\" draws data",
            "{what} : \"{name}\" trace des données"
        ));
    }
    Ok(drawn)
}

enum Lack {
    Expression,
    Marker(Vec<f64>),
    QueryHolds(String),
}

impl Lack {
    fn say(&self, lang: Lang) -> String {
        match self {
            Lack::Expression => tr!(
                lang,
                "computes nothing: add a formula (e.g. `100 * a / b`)",
                "ne calcule rien : ajoutez une formule (par ex. `100 * a / b`)"
            ),
            Lack::Marker(values) => {
                let values = values
                    .iter()
                    .map(|v| format!("y = {v}"))
                    .collect::<Vec<_>>()
                    .join(tr!(lang, " or ", " ou ").as_str());
                tr!(
                    lang,
                    "has no marker at {values}",
                    "n'a pas de marqueur à {values}"
                )
            }
            Lack::QueryHolds(text) => tr!(
                lang,
                "has no query with `{text}`",
                "n'a pas de requête avec `{text}`"
            ),
        }
    }
}

fn shortfalls(w: &Widget, need: &Need<'_>, dashboard: &Dashboard) -> Vec<Lack> {
    let mut lacks = Vec::new();
    if need.expression && !w.has_expression() {
        lacks.push(Lack::Expression);
    }
    for values in need.markers {
        if !values.iter().any(|v| w.has_marker(*v)) {
            lacks.push(Lack::Marker(values.to_vec()));
        }
    }
    for text in need.query_holds {
        let holds = w.queries.iter().any(|q| {
            let q: String = dashboard.resolve(q).split_whitespace().collect();
            q.contains(text)
        });
        if !holds {
            lacks.push(Lack::QueryHolds((*text).to_owned()));
        }
    }
    lacks
}

/// Finds the dashboard titled `title`, saying so in `report`; `None` (and what there is) when
/// it is not there.
pub async fn find_or_say(
    api: &LabApi,
    title: &str,
    lang: Lang,
    report: &mut Report,
) -> Result<Option<Dashboard>, ApiError> {
    let all = api.dashboards().await?;
    match find(&all, title) {
        Ok(d) => {
            let (id, n) = (&d.id, d.widgets.len());
            report.ok(tr!(
                lang,
                "dashboard \"{title}\" found (id {id}, {n} widgets)",
                "tableau de bord \"{title}\" trouvé (id {id}, {n} widgets)"
            ));
            Ok(Some(d))
        }
        Err(titles) => {
            let there = if titles.is_empty() {
                tr!(lang, "none", "aucun")
            } else {
                titles.join(", ")
            };
            report.missing(tr!(
                lang,
                "no dashboard titled \"{title}\" (dashboards in the lab: {there})",
                "aucun tableau de bord nommé \"{title}\" (ceux du lab : {there})"
            ));
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dashboard() -> Dashboard {
        Dashboard::read(&json!({
            "id": "abc-def-ghi",
            "title": "Bootcamp: host",
            "template_variables": [
                {"name": "host", "prefix": "host", "default": "*"},
                {"name": "service", "prefix": "service", "default": "demo-service"}
            ],
            "widgets": [
                {"definition": {"type": "group", "widgets": [
                    {"definition": {"type": "timeseries", "title": "CPU",
                        "requests": [{"queries": [
                            {"data_source": "metrics", "name": "u", "query": "avg:system.cpu.user{$host}"},
                            {"data_source": "metrics", "name": "s", "query": "avg:system.cpu.system{$host}"}
                        ], "formulas": [{"formula": "u"}, {"formula": "s"}]}],
                        "markers": [{"value": "y = 80", "display_type": "error dashed"}]}}
                ]}},
                {"definition": {"type": "timeseries", "title": "Disk",
                    "requests": [{"q": "100 * max:system.disk.in_use{$host} by {device}"}]}}
            ]
        }))
    }

    #[test]
    fn widgets_are_read_through_groups_with_metrics_formulas_and_markers() {
        let d = dashboard();
        assert_eq!(d.widgets.len(), 2);
        let cpu = &d.widgets[0];
        assert!(cpu.reads("system.cpu.user") && cpu.reads("system.cpu.*"));
        assert!(cpu.has_marker(80.0));
        assert!(
            !cpu.has_expression(),
            "formulas that only name a query compute nothing"
        );
        let disk = &d.widgets[1];
        assert_eq!(disk.metrics(), vec!["system.disk.in_use".to_owned()]);
        assert!(disk.has_expression());
    }

    #[test]
    fn template_variables_resolve_to_their_defaults() {
        let d = dashboard();
        assert_eq!(
            d.resolve("avg:system.cpu.user{$host}"),
            "avg:system.cpu.user{*}"
        );
        assert_eq!(
            d.resolve("sum:trace.http.server.request.hits{$service,$host} by {http.status_code}"),
            "sum:trace.http.server.request.hits{service:demo-service} by {http.status_code}"
        );
    }

    #[test]
    fn tags_with_dashes_are_not_arithmetic() {
        let w = Widget {
            queries: vec![
                "sum:trace.http.server.request.hits{service:demo-service}.as_count()".into(),
            ],
            ..Widget::default()
        };
        assert!(!w.has_expression());
    }
}
