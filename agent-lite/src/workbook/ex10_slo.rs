//! Exercise 10: an SLO with a burn-rate alert (the seed's "next steps"). demo-service's
//! availability from its trace metrics, a `slo alert` monitor on its burn rate, and an error
//! burst that spends the budget fast enough to fire it.

use serde_json::Value;

use super::client::ApiError;
use super::dashboard::metrics_in;
use super::lang::{tr, Lang};
use super::monitor::{self, clock};
use super::report::Report;
use super::Ctx;

pub const NAME: &str = "Bootcamp: demo-service availability";
const HITS: &str = "trace.http.server.request.hits";
const ERRORS: &str = "trace.http.server.request.errors";

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "an SLO and its burn-rate alert",
            "un SLO et son alerte de burn rate"
        ),
        tr!(
            lang,
            "a metric SLO named \"{NAME}\" (good requests over all requests of demo-service from its trace metrics, a target under 100), a monitor of type slo alert on its burn_rate, the budget spent in the last hour, and the alert fired",
            "un SLO de métrique nommé \"{NAME}\" (requêtes réussies sur toutes les requêtes de demo-service, depuis ses métriques de traces, une cible sous 100), un moniteur de type slo alert sur son burn_rate, le budget entamé dans la dernière heure, et l'alerte déclenchée"
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    let slos = api.slos().await?;
    let wanted = NAME.to_lowercase();
    let Some(slo) = slos.iter().find(|s| {
        s["name"]
            .as_str()
            .is_some_and(|n| n.trim().to_lowercase() == wanted)
    }) else {
        let names: Vec<&str> = slos.iter().filter_map(|s| s["name"].as_str()).collect();
        let there = if names.is_empty() {
            tr!(lang, "none", "aucun")
        } else {
            names.join(", ")
        };
        report.missing(tr!(
            lang,
            "no SLO named \"{NAME}\" (SLOs in the lab: {there})",
            "aucun SLO nommé \"{NAME}\" (SLOs du lab : {there})"
        ));
        return Ok(());
    };
    let id = slo["id"].as_str().unwrap_or("").to_owned();
    report.ok(tr!(
        lang,
        "SLO \"{NAME}\" found (id {id})",
        "SLO \"{NAME}\" trouvé (id {id})"
    ));
    definition(slo, lang, report);

    let history = api.slo_history(&id, 60).await?;
    let timeframe = slo["thresholds"][0]["timeframe"].as_str().unwrap_or("7d");
    let remaining = history["overall"]["error_budget_remaining"][timeframe].as_f64();
    match remaining {
        Some(left) if left < 100.0 => report.ok(tr!(
            lang,
            "the budget is spent: {left:.0}% of the {timeframe} budget left",
            "le budget est entamé : il reste {left:.0} % du budget {timeframe}"
        )),
        _ => report.missing(tr!(
            lang,
            "nothing has spent the budget in the last hour: play the error burst (docs/bootcamp/solutions/10/error-burst.toml)",
            "rien n'a entamé le budget dans la dernière heure : lancez la rafale d'erreurs (docs/bootcamp/solutions/10/error-burst.toml)"
        )),
    }

    let monitors = api.monitors().await?;
    let alert = monitors.iter().find(|m| {
        m["type"] == "slo alert"
            && m["agent_lite"]["slo_id"] == id.as_str()
            && m["query"]
                .as_str()
                .is_some_and(|q| q.trim_start().starts_with("burn_rate("))
    });
    let Some(alert) = alert else {
        report.missing(tr!(
            lang,
            "no burn-rate alert on your SLO: a monitor of \"type\": \"slo alert\" with the query `burn_rate(\"{id}\").over(\"7d\").long_window(...).short_window(...) > N`",
            "aucune alerte de burn rate sur votre SLO : un moniteur de \"type\": \"slo alert\" avec la requête `burn_rate(\"{id}\").over(\"7d\").long_window(...).short_window(...) > N`"
        ));
        return Ok(());
    };
    report.ok(tr!(
        lang,
        "burn-rate alert \"{}\" (id {})",
        "alerte de burn rate \"{}\" (id {})",
        alert["name"].as_str().unwrap_or(""),
        alert["id"]
    ));
    let Some(alert_id) = alert["id"].as_u64() else {
        return Ok(());
    };
    let fired = monitor::entered(&api.monitor_history(alert_id).await?, "Alert");
    match fired.last() {
        Some((at, _)) => report.ok(tr!(
            lang,
            "the burst burned the budget fast enough: your alert fired at {}",
            "la rafale a brûlé le budget assez vite : votre alerte s'est déclenchée à {}",
            clock(*at)
        )),
        None => report.missing(tr!(
            lang,
            "your burn-rate alert has not fired: play the error burst and wait for its windows (with lab_short_windows, a minute or two)",
            "votre alerte de burn rate ne s'est pas déclenchée : lancez la rafale d'erreurs et attendez ses fenêtres (avec lab_short_windows, une minute ou deux)"
        )),
    }
    Ok(())
}

/// A metric SLO of demo-service's good requests over its requests, with a target.
fn definition(slo: &Value, lang: Lang, report: &mut Report) {
    let kind = slo["type"].as_str().unwrap_or("");
    let numerator = slo["query"]["numerator"].as_str().unwrap_or("");
    let denominator = slo["query"]["denominator"].as_str().unwrap_or("");
    let reads = |q: &str, m: &str| metrics_in(q).iter().any(|x| x == m);
    let service = "service:demo-service";
    let good = kind == "metric"
        && reads(numerator, HITS)
        && reads(numerator, ERRORS)
        && reads(denominator, HITS)
        && numerator.contains(service)
        && denominator.contains(service);
    report.expect(
        good,
        tr!(
            lang,
            "good requests over all requests: ({HITS} - {ERRORS}) / {HITS} of demo-service",
            "requêtes réussies sur toutes les requêtes : ({HITS} - {ERRORS}) / {HITS} de demo-service"
        ),
        tr!(
            lang,
            "your SLO is not demo-service's availability: a \"type\": \"metric\" SLO whose numerator is `sum:{HITS}{{service:demo-service}}.as_count() - sum:{ERRORS}{{service:demo-service}}.as_count()` and denominator `sum:{HITS}{{service:demo-service}}.as_count()` (yours: type {kind}, numerator `{numerator}`, denominator `{denominator}`)",
            "votre SLO n'est pas la disponibilité de demo-service : un SLO \"type\": \"metric\" dont le numérateur est `sum:{HITS}{{service:demo-service}}.as_count() - sum:{ERRORS}{{service:demo-service}}.as_count()` et le dénominateur `sum:{HITS}{{service:demo-service}}.as_count()` (le vôtre : type {kind}, numérateur `{numerator}`, dénominateur `{denominator}`)"
        ),
    );
    let target = slo["thresholds"][0]["target"].as_f64();
    report.expect(
        target.is_some_and(|t| t > 0.0 && t < 100.0),
        tr!(
            lang,
            "target {}%",
            "cible {} %",
            target.unwrap_or(0.0)
        ),
        tr!(
            lang,
            "your SLO has no target under 100: \"thresholds\": [{{\"timeframe\": \"7d\", \"target\": 99}}]",
            "votre SLO n'a pas de cible sous 100 : \"thresholds\": [{{\"timeframe\": \"7d\", \"target\": 99}}]"
        ),
    );
}
