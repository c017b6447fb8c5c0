//! agent-lite's page in Debian's headless Chromium through chromedriver, and the waits a
//! view needs on a loaded machine: its text, a script's answer, its charts drawn, a click that
//! lands though the view re-renders. Shared by the tests that drive the page.

use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt as _;
use lab_testkit::process::ChildProcess;
use lab_testkit::{free_port, wait_for};
use serde_json::{json, Value};

/// The page is drawn on a loaded machine (other tests, loadgen): generous, polled.
const PAGE_DEADLINE: Duration = Duration::from_secs(60);

fn which(name: &str) -> String {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| panic!("{name} is not installed: run tests/setup"))
}

/// chromedriver on `port`, answering; stopped when dropped.
pub fn chromedriver(port: u16) -> ChildProcess {
    let driver = ChildProcess::spawn(&which("chromedriver"), &[&format!("--port={port}")], &[]);
    wait_for("chromedriver", Duration::from_secs(20), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    driver
}

/// A session of Debian's headless Chromium through the chromedriver on `port`, its window
/// `window` (width, height) pixels.
pub async fn chromium(port: u16, window: (u32, u32)) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": which("chromium"),
               "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        format!("--window-size={},{}", window.0, window.1)]}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session")
}

/// Runs `checks` in a fresh Chromium whose window is `window` (width, height) pixels; the
/// session is closed even when a check fails, so that no Chromium outlives the test.
pub fn in_browser<F, Fut>(window: (u32, u32), checks: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let port = free_port();
    let _driver = chromedriver(port);
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    rt.block_on(async {
        let c = chromium(port, window).await;
        let outcome = std::panic::AssertUnwindSafe(checks(Page { c: c.clone() }))
            .catch_unwind()
            .await;
        let _ = c.close().await;
        if let Err(panic) = outcome {
            std::panic::resume_unwind(panic);
        }
    });
}

pub struct Page {
    pub c: Client,
}

impl Page {
    /// Opens `url` with the page's 10 s live refresh off, so that a view is not redrawn (its
    /// panels back to "…") while it is waited on or pictured.
    pub async fn open(&self, url: &str) {
        self.c
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("open {url}: {e}"));
        self.set_live(false).await;
    }

    /// Ticks or unticks the live box; ticking it by script starts no refresh of its own.
    pub async fn set_live(&self, on: bool) {
        let _ = self
            .c
            .execute(
                "const l = document.getElementById('live'); if (l) l.checked = arguments[0];",
                vec![json!(on)],
            )
            .await;
    }

    /// What the view shows, with its address: what a failed wait prints.
    pub async fn main_text(&self) -> String {
        let main = match self.c.find(Locator::Css("main")).await {
            Ok(m) => m.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let url = self.c.current_url().await.map(|u| u.to_string());
        format!("{} shows:\n{main}", url.unwrap_or_default())
    }

    /// Waits until `css` matches an element whose text contains `text`.
    pub async fn wait_text(&self, css: &str, text: &str) {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            if let Ok(el) = self.c.find(Locator::Css(css)).await {
                if el.text().await.is_ok_and(|t| t.contains(text)) {
                    return;
                }
            }
            if Instant::now() > deadline {
                panic!("{css} never showed {text:?}; {}", self.main_text().await);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until `script` (a function's body) returns something other than null or false.
    pub async fn wait_script(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            if let Ok(v) = self.c.execute(script, vec![]).await {
                if !v.is_null() && v != Value::Bool(false) {
                    return v;
                }
            }
            if Instant::now() > deadline {
                panic!("never {what}; {}", self.main_text().await);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until every chart `css` matches has drawn points (`data-points`), and there
    /// is at least one.
    pub async fn wait_charts(&self, css: &str) {
        let script = format!(
            "const c = [...document.querySelectorAll({css:?})]; \
             return c.length > 0 && c.every((e) => Number(e.dataset.points) > 0);"
        );
        self.wait_script(&format!("every chart of {css} drawn"), &script)
            .await;
    }

    /// Clicks what `css` matches, finding it again while a click fails (a view re-renders
    /// as its data comes, and an element found just before may be gone).
    pub async fn click(&self, css: &str) {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            // Scrolled to the middle first: at the top edge the sticky header takes clicks.
            let _ = self
                .c
                .execute(
                    "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView({block: 'center'});",
                    vec![json!(css)],
                )
                .await;
            let clicked = match self.c.find(Locator::Css(css)).await {
                Ok(el) => el.click().await.map(|_| ()),
                Err(e) => Err(e),
            };
            match clicked {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => panic!("cannot click {css}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        }
    }

    /// Types `text` into the field `css` matches, replacing what it held.
    pub async fn type_into(&self, css: &str, text: &str) {
        let field = self
            .c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"));
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }
}
