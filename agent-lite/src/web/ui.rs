//! The lab's page, served from inside the binary: no CDN, no npm, works offline. The assets
//! are plain files in `ui/` (ES modules: `app.js`, `lib/`, `views/`, `widgets/`), compiled in
//! by `build.rs`, which lists them all.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

mod assets {
    include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));
}

// `no-cache`: the page is small and a rebuilt binary must not be hidden by a stale copy.
const CACHE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-cache");

fn asset(path: &str) -> Option<&'static str> {
    assets::ASSETS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, body)| *body)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        _ => "text/plain; charset=utf-8",
    }
}

pub async fn index() -> Response {
    file(Path("index.html".to_owned())).await
}

/// `/ui/{*path}`: one embedded file, or 404.
pub async fn file(Path(path): Path<String>) -> Response {
    match asset(&path) {
        Some(body) => ([(header::CONTENT_TYPE, content_type(&path)), CACHE], body).into_response(),
        None => (StatusCode::NOT_FOUND, format!("no page asset {path:?}")).into_response(),
    }
}
