//! Exercise 6: logs joined to traces. From an error's log line to its trace (the line's
//! `dd.trace_id`), and from the trace back to its log lines. The student gives the trace they
//! followed (`--trace-id`): the check verifies that it is the trace of an error log line of
//! demo-service, and that the trace leads back to that line.

use super::client::ApiError;
use super::lang::{tr, Lang};
use super::report::Report;
use super::Ctx;

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "logs joined to traces",
            "logs reliés aux traces"
        ),
        tr!(
            lang,
            "the trace you give (--trace-id) is kept by agent-lite, is an error trace of demo-service, and its log lines (found by trace id) include an error line of demo-service",
            "la trace que vous donnez (--trace-id) est gardée par agent-lite, est une trace d'erreur de demo-service, et ses lignes de log (trouvées par trace id) comprennent une ligne d'erreur de demo-service"
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    let Some(trace_id) = ctx.trace_id.as_deref().map(str::trim) else {
        report.missing(tr!(
            lang,
            "tell the check which trace you followed: `lab-check 6 --trace-id <ID>`, the dd.trace_id of an error log line of demo-service (Logs view, status error)",
            "dites au contrôle quelle trace vous avez suivie : `lab-check 6 --trace-id <ID>`, le dd.trace_id d'une ligne de log d'erreur de demo-service (vue Logs, statut error)"
        ));
        return Ok(());
    };
    let Some(spans) = api.trace(trace_id).await? else {
        report.missing(tr!(
            lang,
            "agent-lite keeps no trace {trace_id}: copy the dd.trace_id of the log line (a decimal number), not its span id",
            "agent-lite ne garde aucune trace {trace_id} : copiez le dd.trace_id de la ligne de log (un nombre décimal), pas son span id"
        ));
        return Ok(());
    };
    let services: Vec<&str> = spans.iter().filter_map(|s| s["service"].as_str()).collect();
    let failing = spans
        .iter()
        .find(|s| s["error"].as_i64().unwrap_or(0) != 0 && s["service"] == "demo-service");
    report.ok(tr!(
        lang,
        "trace {trace_id} found: {} spans ({})",
        "trace {trace_id} trouvée : {} spans ({})",
        spans.len(),
        dedup(&services).join(", ")
    ));
    match failing {
        Some(span) => report.ok(tr!(
            lang,
            "it is an error of demo-service: {} ({})",
            "c'est une erreur de demo-service : {} ({})",
            span["resource"].as_str().unwrap_or("?"),
            span["meta"]["error.message"].as_str().unwrap_or("error")
        )),
        None => report.missing(tr!(
            lang,
            "trace {trace_id} has no error on demo-service: follow the trace of an error log line (status error), e.g. after `curl http://127.0.0.1:8080/error`",
            "la trace {trace_id} n'a pas d'erreur sur demo-service : suivez la trace d'une ligne de log d'erreur (statut error), par ex. après `curl http://127.0.0.1:8080/error`"
        )),
    }

    let lines = api
        .logs(&[
            ("trace_id", trace_id.to_owned()),
            ("limit", "50".to_owned()),
        ])
        .await?;
    let error_line = lines
        .iter()
        .find(|l| l["status"] == "error" && l["service"] == "demo-service");
    match (lines.is_empty(), error_line) {
        (true, _) => report.missing(tr!(
            lang,
            "no log line carries trace {trace_id}: are demo-service's logs collected, with DD_LOGS_INJECTION=true?",
            "aucune ligne de log ne porte la trace {trace_id} : les logs de demo-service sont-ils collectés, avec DD_LOGS_INJECTION=true ?"
        )),
        (false, None) => report.missing(tr!(
            lang,
            "trace {trace_id} has {} log line(s), none an error of demo-service: start from an error line",
            "la trace {trace_id} a {} ligne(s) de log, aucune erreur de demo-service : partez d'une ligne d'erreur",
            lines.len()
        )),
        (false, Some(line)) => report.ok(tr!(
            lang,
            "and back: its {} log line(s) include the error \"{}\"",
            "et retour : ses {} ligne(s) de log comprennent l'erreur \"{}\"",
            lines.len(),
            line["message"].as_str().unwrap_or("")
        )),
    }
    Ok(())
}

fn dedup<'a>(items: &[&'a str]) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for i in items {
        if !out.contains(i) {
            out.push(i);
        }
    }
    out
}
