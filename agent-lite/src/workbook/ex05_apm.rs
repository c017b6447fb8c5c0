//! Exercise 5: APM. The service page, a slow trace's waterfall and flame graph, an error's
//! stack, p95; and the seed's APM dashboard: requests, error rate, p95, errors by HTTP status.

use super::client::ApiError;
use super::dashboard::{self, Need};
use super::lang::{tr, Lang};
use super::report::Report;
use super::Ctx;

pub const TITLE: &str = "Bootcamp: APM";

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "APM: traces, errors, p95, the service dashboard",
            "APM : traces, erreurs, p95, le tableau de bord du service"
        ),
        tr!(
            lang,
            "a dashboard titled \"{TITLE}\" with requests, error rate (a formula), p95 and errors by HTTP status of demo-service, drawing data; a trace of GET /slow over 1 s and an error trace of GET /error with its stack in the recent traces",
            "un tableau de bord nommé \"{TITLE}\" avec les requêtes, le taux d'erreur (une formule), le p95 et les erreurs par statut HTTP de demo-service, traçant des données ; une trace de GET /slow de plus d'1 s et une trace d'erreur de GET /error avec sa pile dans les traces récentes"
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    if let Some(board) = dashboard::find_or_say(api, TITLE, lang, report).await? {
        let service = "service:demo-service";
        let needs = [
            Need {
                what: tr!(lang, "requests", "requêtes"),
                metrics: &["trace.http.server.request.hits"],
                kinds: &[],
                expression: false,
                markers: &[],
                query_holds: &[service],
            },
            Need {
                what: tr!(
                    lang,
                    "error rate (a formula)",
                    "taux d'erreur (une formule)"
                ),
                metrics: &[
                    "trace.http.server.request.errors",
                    "trace.http.server.request.hits",
                ],
                kinds: &[],
                expression: true,
                markers: &[],
                query_holds: &[service],
            },
            Need {
                what: tr!(lang, "p95 latency", "latence p95"),
                metrics: &["trace.http.server.request"],
                kinds: &[],
                expression: false,
                markers: &[],
                query_holds: &["p95:trace.http.server.request", service],
            },
            Need {
                what: tr!(lang, "errors by HTTP status", "erreurs par statut HTTP"),
                metrics: &["trace.http.server.request.errors"],
                kinds: &[],
                expression: false,
                markers: &[],
                query_holds: &["by{http.status_code}", service],
            },
        ];
        for need in &needs {
            dashboard::judge(api, &board, need, 60, lang, report).await?;
        }
    }

    let slow = api
        .traces(&[
            ("service", "demo-service".to_owned()),
            ("resource", "GET /slow".to_owned()),
            ("min_duration_ms", "1000".to_owned()),
            ("limit", "1".to_owned()),
        ])
        .await?;
    match slow.first() {
        Some(t) => report.ok(tr!(
            lang,
            "a slow trace: GET /slow took {:.0} ms (trace {}: open its waterfall and flame graph)",
            "une trace lente : GET /slow a pris {:.0} ms (trace {} : ouvrez sa cascade et son flame graph)",
            t["duration_ms"].as_f64().unwrap_or(0.0),
            t["trace_id"].as_str().unwrap_or("?")
        )),
        None => report.missing(tr!(
            lang,
            "no trace of GET /slow over 1 s: `curl 'http://127.0.0.1:8080/slow?ms=1500'`",
            "aucune trace de GET /slow de plus d'1 s : `curl 'http://127.0.0.1:8080/slow?ms=1500'`"
        )),
    }

    let errors = api
        .traces(&[
            ("service", "demo-service".to_owned()),
            ("resource", "GET /error".to_owned()),
            ("error", "true".to_owned()),
            ("limit", "20".to_owned()),
        ])
        .await?;
    let with_stack = errors.iter().find(|t| {
        t["root"]["meta"]["error.stack"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    });
    match with_stack {
        Some(t) => report.ok(tr!(
            lang,
            "an error trace: GET /error, {} (trace {}: its span has error.stack)",
            "une trace d'erreur : GET /error, {} (trace {} : son span a error.stack)",
            t["root"]["meta"]["error.type"]
                .as_str()
                .or(t["root"]["meta"]["error.message"].as_str())
                .unwrap_or("error"),
            t["trace_id"].as_str().unwrap_or("?")
        )),
        None => report.missing(tr!(
            lang,
            "no error trace of GET /error with its stack: `curl http://127.0.0.1:8080/error`",
            "aucune trace d'erreur de GET /error avec sa pile : `curl http://127.0.0.1:8080/error`"
        )),
    }
    Ok(())
}
