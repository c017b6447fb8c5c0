//! A dashboard definition in Datadog's dashboard JSON, checked as Datadog's API checks it
//! before it is kept: the required fields of the dashboard, of each widget and of the widget
//! types the page renders (the SLO widget too), with their types and enumerations (from Datadog's published API
//! spec, as `datadog-api-client` models it). What is kept is the JSON itself, every field of
//! it, the ones not checked here included: the structs below only read what they check.
//!
//! A refusal names the JSON path of the offending value and the reason
//! (`widgets[1].definition.requests[0].q: invalid type: integer `3`, expected a string`);
//! serde_path_to_error tracks the path through serde's own errors.

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// Why a definition is refused: where, and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct Invalid {
    pub path: String,
    pub reason: String,
}

impl Invalid {
    pub fn at(path: impl Into<String>, reason: impl Into<String>) -> Self {
        let path = path.into();
        Self {
            path: if path.is_empty() { "$".into() } else { path },
            reason: reason.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum LayoutType {
    Ordered,
    Free,
}

#[derive(Deserialize)]
#[allow(dead_code)] // Read only to check their types.
struct Dashboard {
    title: String,
    layout_type: LayoutType,
    widgets: Vec<Widget>,
    description: Option<String>,
    template_variables: Option<Vec<TemplateVariable>>,
    notify_list: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    is_read_only: Option<bool>,
    reflow_type: Option<ReflowType>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum ReflowType {
    Auto,
    Fixed,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct TemplateVariable {
    name: String,
    prefix: Option<String>,
    default: Option<String>,
    defaults: Option<Vec<String>>,
    available_values: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Widget {
    // Checked by its own type below, once `type` is known.
    definition: serde_json::Map<String, Value>,
    id: Option<i64>,
    layout: Option<Layout>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Layout {
    x: u64,
    y: u64,
    width: u64,
    height: u64,
}

// ---- the widget types the page renders -------------------------------------------------

#[derive(Deserialize)]
#[allow(dead_code)]
struct Timeseries {
    requests: Vec<Request>,
    markers: Option<Vec<Marker>>,
    yaxis: Option<Axis>,
    title: Option<String>,
    show_legend: Option<bool>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Request {
    q: Option<String>,
    queries: Option<Vec<Query>>,
    formulas: Option<Vec<Formula>>,
    display_type: Option<DisplayType>,
    aggregator: Option<Aggregator>,
    conditional_formats: Option<Vec<ConditionalFormat>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum DisplayType {
    Area,
    Bars,
    Line,
    Overlay,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Aggregator {
    Avg,
    Last,
    Max,
    Min,
    Sum,
    Percentile,
}

/// A query of the `queries` form. Every data source names its query; a metrics query has
/// its query text (other sources, such as events, have other shapes and are kept as they are).
#[derive(Deserialize)]
#[allow(dead_code)]
struct Query {
    data_source: String,
    name: String,
    query: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Formula {
    formula: String,
    alias: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Marker {
    value: String,
    display_type: Option<String>,
    label: Option<String>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Axis {
    min: Option<String>,
    max: Option<String>,
    scale: Option<String>,
    label: Option<String>,
    include_zero: Option<bool>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct ConditionalFormat {
    comparator: Comparator,
    value: f64,
    palette: String,
}

#[derive(Deserialize)]
enum Comparator {
    #[serde(rename = "=")]
    Equal,
    #[serde(rename = ">")]
    Greater,
    #[serde(rename = ">=")]
    GreaterOrEqual,
    #[serde(rename = "<")]
    Less,
    #[serde(rename = "<=")]
    LessOrEqual,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct QueryValue {
    requests: Vec<Request>,
    precision: Option<i64>,
    autoscale: Option<bool>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Toplist {
    requests: Vec<Request>,
}

/// event_stream and manage_status: a query string.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Queried {
    query: String,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Note {
    content: String,
}

/// The SLO widget (`SLOWidgetDefinition`): `view_type` is required (Datadog documents
/// `detail`), the rest optional, with the enumerations of `WidgetTimeWindows` and
/// `WidgetViewMode`.
#[derive(Deserialize)]
#[allow(dead_code)]
struct Slo {
    view_type: String,
    slo_id: Option<String>,
    time_windows: Option<Vec<TimeWindow>>,
    view_mode: Option<ViewMode>,
    show_error_budget: Option<bool>,
    global_time_target: Option<String>,
    additional_query_filters: Option<String>,
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum TimeWindow {
    #[serde(rename = "7d")]
    SevenDays,
    #[serde(rename = "30d")]
    ThirtyDays,
    #[serde(rename = "90d")]
    NinetyDays,
    WeekToDate,
    PreviousWeek,
    MonthToDate,
    PreviousMonth,
    GlobalTime,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum ViewMode {
    Overall,
    Component,
    Both,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Group {
    layout_type: GroupLayout,
    widgets: Vec<Value>,
    title: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum GroupLayout {
    Ordered,
}

// ---- checking ----------------------------------------------------------------------------

fn join(prefix: &str, inner: &serde_path_to_error::Path) -> String {
    let inner = inner.to_string();
    match (prefix.is_empty(), inner.as_str()) {
        (_, ".") | (_, "") => prefix.to_owned(),
        (true, _) => inner,
        (false, i) if i.starts_with('[') => format!("{prefix}{i}"),
        (false, i) => format!("{prefix}.{i}"),
    }
}

/// `value` read as `T`, or the path (under `prefix`) and reason of the first mismatch.
fn read<T: DeserializeOwned>(prefix: &str, value: &Value) -> Result<T, Invalid> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = join(prefix, e.path());
        Invalid::at(path, e.into_inner().to_string())
    })
}

/// A dashboard Datadog would accept, or why not.
pub fn check(value: &Value) -> Result<(), Invalid> {
    if !value.is_object() {
        return Err(Invalid::at("$", "a dashboard is a JSON object"));
    }
    let dashboard: Dashboard = read("", value)?;
    let free = matches!(dashboard.layout_type, LayoutType::Free);
    let widgets = value.get("widgets").and_then(Value::as_array);
    for (i, w) in widgets.into_iter().flatten().enumerate() {
        check_widget(&format!("widgets[{i}]"), w, free)?;
    }
    Ok(())
}

fn check_widget(path: &str, value: &Value, free: bool) -> Result<(), Invalid> {
    let widget: Widget = read(path, value)?;
    if free && widget.layout.is_none() {
        return Err(Invalid::at(
            format!("{path}.layout"),
            "required for every widget of a free layout (x, y, width, height)",
        ));
    }
    let path = format!("{path}.definition");
    let def = Value::Object(widget.definition);
    let kind = match def.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(other) => {
            return Err(Invalid::at(
                format!("{path}.type"),
                format!("expected a string, found {other}"),
            ))
        }
        None => return Err(Invalid::at(path, "missing field `type`")),
    };
    match kind.as_str() {
        "timeseries" => read::<Timeseries>(&path, &def).map(drop),
        "query_value" => read::<QueryValue>(&path, &def).map(drop),
        "toplist" => read::<Toplist>(&path, &def).map(drop),
        "event_stream" | "manage_status" => read::<Queried>(&path, &def).map(drop),
        "note" => read::<Note>(&path, &def).map(drop),
        "slo" => read::<Slo>(&path, &def).map(drop),
        "group" => {
            let group: Group = read(&path, &def)?;
            for (i, w) in group.widgets.iter().enumerate() {
                check_widget(&format!("{path}.widgets[{i}]"), w, false)?;
            }
            Ok(())
        }
        // A type the page does not render is kept as it is; the page names it.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(v: Value) -> String {
        check(&v).expect_err("refused").to_string()
    }

    #[test]
    fn refusals_name_the_path_and_reason() {
        assert_eq!(
            refused(json!({"layout_type": "ordered", "widgets": []})),
            "$: missing field `title`"
        );
        assert!(
            refused(json!({"title": "t", "layout_type": "grid", "widgets": []}))
                .starts_with("layout_type: unknown variant `grid`")
        );
        let bad_q = json!({"title": "t", "layout_type": "ordered", "widgets": [
            {"definition": {"type": "note", "content": "hi"}},
            {"definition": {"type": "timeseries", "requests": [{"q": 3}]}}]});
        assert!(refused(bad_q).starts_with("widgets[1].definition.requests[0].q: invalid type"));
        let nested = json!({"title": "t", "layout_type": "ordered", "widgets": [
            {"definition": {"type": "group", "layout_type": "ordered", "widgets": [
                {"definition": {"type": "timeseries"}}]}}]});
        assert_eq!(
            refused(nested),
            "widgets[0].definition.widgets[0].definition: missing field `requests`"
        );
        let free = json!({"title": "t", "layout_type": "free", "widgets": [
            {"definition": {"type": "note", "content": "hi"}}]});
        assert!(refused(free).starts_with("widgets[0].layout: required"));
        let marker = json!({"title": "t", "layout_type": "ordered", "widgets": [
            {"definition": {"type": "timeseries", "requests": [], "markers": [{"display_type": "error dashed"}]}}]});
        assert_eq!(
            refused(marker),
            "widgets[0].definition.markers[0]: missing field `value`"
        );
    }

    #[test]
    fn slo_widgets_are_checked_as_datadogs_spec_says() {
        let slo = |def: Value| json!({"title": "t", "layout_type": "ordered", "widgets": [{"definition": def}]});
        assert!(check(&slo(
            json!({"type": "slo", "view_type": "detail", "slo_id": "abc",
            "time_windows": ["7d", "week_to_date", "global_time"], "view_mode": "overall",
            "show_error_budget": true})
        ))
        .is_ok());
        assert_eq!(
            refused(slo(json!({"type": "slo", "slo_id": "abc"}))),
            "widgets[0].definition: missing field `view_type`"
        );
        assert!(refused(slo(
            json!({"type": "slo", "view_type": "detail", "time_windows": ["1d"]})
        ))
        .starts_with("widgets[0].definition.time_windows[0]: unknown variant `1d`"));
        assert!(refused(slo(
            json!({"type": "slo", "view_type": "detail", "slo_id": 3})
        ))
        .starts_with("widgets[0].definition.slo_id: invalid type"));
    }

    #[test]
    fn unknown_widget_types_and_fields_are_accepted() {
        let v = json!({"title": "t", "layout_type": "ordered", "unknown_field": {"a": 1},
            "widgets": [{"definition": {"type": "heatmap", "requests": "whatever"}}]});
        assert!(check(&v).is_ok());
    }
}
