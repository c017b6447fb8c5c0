//! Exercise 7: runtime metrics during the spike. A dashboard of demo-service's own figures
//! (CPU, memory, threads, context switches: `runtime.rust.*`), and the spike of exercise 3 seen
//! from inside the service.

use super::client::ApiError;
use super::dashboard::{self, Need};
use super::lang::{tr, Lang};
use super::report::Report;
use super::Ctx;

pub const TITLE: &str = "Bootcamp: runtime";
/// Half a core: demo-service idles at a few percent; the spike's /burn calls hold its workers.
const SPIKE_PERCENT: f64 = 50.0;

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "runtime metrics during the spike",
            "métriques runtime pendant le pic"
        ),
        tr!(
            lang,
            "a dashboard titled \"{TITLE}\" with demo-service's CPU, memory, threads and context switches (runtime.rust.*, scoped to service:demo-service), drawing data; and runtime.rust.cpu.percent of demo-service above {SPIKE_PERCENT}% of a core in the last hour (the spike)",
            "un tableau de bord nommé \"{TITLE}\" avec le CPU, la mémoire, les threads et les changements de contexte de demo-service (runtime.rust.*, limité à service:demo-service), traçant des données ; et runtime.rust.cpu.percent de demo-service au-dessus de {SPIKE_PERCENT} % d'un cœur dans la dernière heure (le pic)"
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    if let Some(board) = dashboard::find_or_say(api, TITLE, lang, report).await? {
        let service = "service:demo-service";
        let needs = [
            Need {
                what: tr!(lang, "CPU", "CPU"),
                metrics: &["runtime.rust.cpu.percent"],
                kinds: &[],
                expression: false,
                markers: &[],
                query_holds: &[service],
            },
            Need {
                what: tr!(lang, "memory", "mémoire"),
                metrics: &["runtime.rust.mem.*"],
                kinds: &[],
                expression: false,
                markers: &[],
                query_holds: &[service],
            },
            Need {
                what: tr!(lang, "threads", "threads"),
                metrics: &["runtime.rust.thread_count"],
                kinds: &[],
                expression: false,
                markers: &[],
                query_holds: &[service],
            },
            Need {
                what: tr!(lang, "context switches", "changements de contexte"),
                metrics: &["runtime.rust.cpu.ctx_switch.*"],
                kinds: &[],
                expression: false,
                markers: &[],
                query_holds: &[service],
            },
        ];
        for need in &needs {
            dashboard::judge(api, &board, need, 60, lang, report).await?;
        }
    }

    let highest = api
        .query("max:runtime.rust.cpu.percent{service:demo-service}", 60)
        .await?
        .max();
    match highest {
        Some(h) if h > SPIKE_PERCENT => report.ok(tr!(
            lang,
            "the spike from inside: demo-service's CPU reached {h:.0}% of a core",
            "le pic vu de l'intérieur : le CPU de demo-service a atteint {h:.0} % d'un cœur"
        )),
        other => {
            let seen = other.map_or_else(|| "-".to_owned(), |h| format!("{h:.0}%"));
            report.missing(tr!(
                lang,
                "demo-service's CPU (runtime.rust.cpu.percent) stayed under {SPIKE_PERCENT}% of a core over the last hour (highest {seen}): play the spike of exercise 3 again and watch",
                "le CPU de demo-service (runtime.rust.cpu.percent) est resté sous {SPIKE_PERCENT} % d'un cœur sur la dernière heure (au plus {seen}) : relancez le pic de l'exercice 3 et observez"
            ));
        }
    }
    Ok(())
}
