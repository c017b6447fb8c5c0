//! `GET /metrics`: the latest point of every count and gauge series in the Prometheus text
//! format (names with `.` turned into `_`, tags into labels), for scrapers and quick looks.

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::store::{Kind, SharedStore};

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub async fn exposition(State(store): State<SharedStore>) -> impl IntoResponse {
    let store = store.lock();
    let mut out = String::new();
    for (key, series) in store.all() {
        if series.kind == Kind::Distribution {
            continue;
        }
        let Some((_, point)) = series.points.iter().next_back() else {
            continue;
        };
        let labels: Vec<String> = key
            .tags
            .iter()
            .map(|t| {
                let (k, v) = t.split_once(':').unwrap_or((t.as_str(), ""));
                format!("{}=\"{}\"", sanitize(k), escape(v))
            })
            .collect();
        let _ = writeln!(
            out,
            "{}{{{}}} {}",
            sanitize(&key.name),
            labels.join(","),
            point.scalar()
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
