//! A README screenshot of the page as it stands: the view drawn with its data, nothing being
//! redrawn when the picture is taken, the live box ticked as a student sees it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::browser::Page;

/// The window every picture is taken in.
pub const WINDOW: (u32, u32) = (1400, 1000);

/// How long a view may keep redrawing before a picture is taken anyway.
const STILL_DEADLINE: Duration = Duration::from_secs(60);

/// The README's screenshots: `docs/screenshots/`.
fn screenshots_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
}

/// Pictures the window, scrolled to the top, as `docs/screenshots/<name>.png`, with the live
/// box ticked. Ticking it by script starts no refresh, but the page's timer may fire during
/// the picture: a picture taken while the view changed is taken again once the view has been
/// still for a while.
pub async fn shoot(p: &Page, name: &str) {
    let png = loop {
        let _ = p.c.execute("window.scrollTo(0, 0);", vec![]).await;
        watch_redraws(p).await;
        p.set_live(true).await;
        let png = p.c.screenshot().await.expect("a screenshot");
        p.set_live(false).await;
        if !redrawn(p).await {
            break png;
        }
        wait_still(p).await;
    };
    let path = screenshots_dir().join(format!("{name}.png"));
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    eprintln!("screenshot {}", path.display());
}

/// From now on, notes any change to the view.
async fn watch_redraws(p: &Page) {
    let _ = p
        .c
        .execute(
            "if (window.labShot) window.labShot.disconnect(); window.labRedrawn = false; \
             window.labShot = new MutationObserver(() => { window.labRedrawn = true; }); \
             window.labShot.observe(document.getElementById('view'), {childList: true, subtree: true, attributes: true, characterData: true});",
            vec![],
        )
        .await;
}

async fn redrawn(p: &Page) -> bool {
    p.c.execute("return window.labRedrawn === true;", vec![])
        .await
        .map_or(true, |v| v == Value::Bool(true))
}

/// Waits until the view has not changed for 3 s (a redraw begun has fetched its data).
async fn wait_still(p: &Page) {
    let deadline = Instant::now() + STILL_DEADLINE;
    loop {
        watch_redraws(p).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
        if !redrawn(p).await {
            return;
        }
        assert!(Instant::now() < deadline, "the view never stood still");
    }
}
