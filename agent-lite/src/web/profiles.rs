//! The profiles API (our own shape, `/api/v0`): the list of uploads, one upload's pprof as it
//! came, and profiles merged into a flame tree with its top functions.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::api::error;
use crate::intake::profiles::flame::{self, SpanFilter};
use crate::intake::profiles::store::Filter;
use crate::intake::profiles::SharedProfiles;

#[derive(Deserialize)]
pub struct ListParams {
    service: Option<String>,
    env: Option<String>,
    /// Unix seconds.
    from: Option<i64>,
    to: Option<i64>,
    limit: Option<usize>,
}

fn filter(
    service: Option<String>,
    env: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
) -> Filter {
    let given = |s: Option<String>| s.filter(|s| !s.is_empty());
    Filter {
        service: given(service),
        env: given(env),
        from,
        to,
    }
}

fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// `GET /api/v0/profiles?service=&env=&from=&to=`: newest first.
pub async fn list(State(profiles): State<SharedProfiles>, Query(p): Query<ListParams>) -> Response {
    if let (Some(f), Some(t)) = (p.from, p.to) {
        if f > t {
            return error(StatusCode::BAD_REQUEST, "from is after to");
        }
    }
    let found = profiles
        .lock()
        .list(&filter(p.service, p.env, p.from, p.to));
    let limit = p.limit.unwrap_or(500);
    let rows: Vec<_> = found
        .iter()
        .take(limit)
        .map(|p| {
            let m = &p.meta;
            json!({
                "id": p.id.to_string(),
                "service": m.service,
                "env": m.env,
                "version": m.version,
                "host": m.host,
                "runtime": m.runtime,
                "family": m.family,
                "start": time(m.start),
                "end": time(m.end),
                "types": p.types(),
                "attachments": p.attachments.iter().map(|a| &a.name).collect::<Vec<_>>(),
                "tags": m.tags,
            })
        })
        .collect();
    Json(json!({"profiles": rows, "total": found.len()})).into_response()
}

#[derive(Deserialize)]
pub struct GetParams {
    /// Which attachment (its file name); the first pprof when unset.
    attachment: Option<String>,
}

/// `GET /api/v0/profiles/{id}`: the pprof as uploaded (compressed as the profiler sent it).
pub async fn get(
    State(profiles): State<SharedProfiles>,
    Path(id): Path<String>,
    Query(p): Query<GetParams>,
) -> Response {
    let Ok(n) = id.parse::<u64>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not a profile id"),
        );
    };
    let Some(profile) = profiles.lock().get(n) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no profile {id} among the profiles kept"),
        );
    };
    let attachment = match &p.attachment {
        Some(name) => profile.attachments.iter().find(|a| &a.name == name),
        None => profile.attachments.first(),
    };
    let Some(a) = attachment else {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "profile {id} has no attachment {:?}",
                p.attachment.unwrap_or_default()
            ),
        );
    };
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{id}-{}\"", a.name.replace('"', "")),
            ),
        ],
        a.uploaded.clone(),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct AggregateParams {
    service: Option<String>,
    env: Option<String>,
    #[serde(rename = "type")]
    profile_type: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    /// Code hotspots: only the samples taken under these spans (comma-separated decimal ids;
    /// a trace's root span id matches its `local root span id` label).
    local_root_span_id: Option<String>,
    span_id: Option<String>,
    /// Cut the tree at this many frames (the top table keeps them all).
    max_depth: Option<usize>,
}

fn ids(v: Option<&str>, what: &str) -> Result<Vec<u64>, super::api::ApiError> {
    v.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u64>().map_err(|_| {
                super::api::ApiError(
                    StatusCode::BAD_REQUEST,
                    format!("{what} {s:?} is not a decimal span id"),
                )
            })
        })
        .collect()
}

/// Merges the profiles `p` selects, off the runtime's workers (decoding is CPU work, a few ms
/// a profile); the tree cut at `tree_depth` frames.
async fn merge(
    profiles: SharedProfiles,
    p: AggregateParams,
    tree_depth: usize,
) -> Result<flame::Aggregate, Response> {
    if let (Some(f), Some(t)) = (p.from, p.to) {
        if f > t {
            return Err(error(StatusCode::BAD_REQUEST, "from is after to"));
        }
    }
    let spans = match (
        ids(p.local_root_span_id.as_deref(), "local_root_span_id"),
        ids(p.span_id.as_deref(), "span_id"),
    ) {
        (Ok(local_root_span_ids), Ok(span_ids)) => SpanFilter {
            local_root_span_ids,
            span_ids,
        },
        (Err(e), _) | (_, Err(e)) => return Err(e.into_response()),
    };
    let profile_type = p
        .profile_type
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "cpu".to_owned());
    let found = profiles
        .lock()
        .list(&filter(p.service, p.env, p.from, p.to));
    tokio::task::spawn_blocking(move || {
        flame::aggregate_to_depth(&found, &profile_type, &spans, tree_depth)
    })
    .await
    .map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("aggregation failed: {e}"),
        )
    })
}

/// `GET /api/v0/profiles/aggregate?service=&type=&from=&to=`: the merged profile as a tree,
/// the root itself `{name, value, children}` (frames by function), with `type`, `unit`,
/// `profiles` and `samples` beside the root's own fields.
pub async fn aggregate(
    State(profiles): State<SharedProfiles>,
    Query(p): Query<AggregateParams>,
) -> Response {
    let depth = p.max_depth.unwrap_or(usize::MAX);
    match merge(profiles, p, depth).await {
        Ok(agg) => Json(agg.flame_graph()).into_response(),
        Err(refused) => refused,
    }
}

/// `GET /api/v0/profiles/top?service=&type=&from=&to=`: the same merge's functions by self
/// value, `{type, unit, profiles, samples, total, top: [{name, self, total}]}`.
pub async fn top(
    State(profiles): State<SharedProfiles>,
    Query(p): Query<AggregateParams>,
) -> Response {
    // No tree wanted: only its root is built.
    match merge(profiles, p, 0).await {
        Ok(agg) => Json(agg.top_table()).into_response(),
        Err(refused) => refused,
    }
}
