//! Exercise 1: start the lab and read the agent's status (`agent-lite status`, as the seed ran
//! `agent status`). Nothing to make: the check verifies what the status promises, that each
//! pipe of the agent carries data.

use serde_json::Value;

use super::client::ApiError;
use super::lang::{tr, Lang};
use super::report::Report;
use super::Ctx;

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "start the lab, read the agent's status",
            "démarrer le lab, lire le statut de l'agent"
        ),
        tr!(
            lang,
            "agent-lite answers; the host collector runs (system.cpu.user has data); demo-service's traces arrive tagged with env and version; its runtime metrics arrive over DogStatsD",
            "agent-lite répond ; le collecteur de l'hôte tourne (system.cpu.user a des données) ; les traces de demo-service arrivent avec env et version ; ses métriques runtime arrivent par DogStatsD"
        ),
    )
}

pub async fn check(ctx: &Ctx, status: &Value, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    let host = status["hostname"].as_str().unwrap_or("?");
    let uptime = status["uptime_secs"]
        .as_u64()
        .map(|s| format!(", up {s} s"))
        .unwrap_or_default();
    report.ok(tr!(
        lang,
        "agent-lite answers at {} (host {host}{uptime})",
        "agent-lite répond à {} (hôte {host}{uptime})",
        api.base()
    ));

    let host_on = status["collectors"]["host"]["enabled"] != false;
    let cpu = api.query("avg:system.cpu.user{*}", 10).await?;
    report.expect(
        host_on && cpu.has_points(),
        tr!(
            lang,
            "host metrics: system.cpu.user is collected",
            "métriques de l'hôte : system.cpu.user est collectée"
        ),
        tr!(
            lang,
            "no system.cpu.user over the last 10 minutes: the host collector is off or cannot read /proc (see the collectors part of `agent-lite status`)",
            "pas de system.cpu.user sur les 10 dernières minutes : le collecteur de l'hôte est éteint ou ne lit pas /proc (voir la partie collectors de `agent-lite status`)"
        ),
    );

    let traces = api
        .traces(&[
            ("service", "demo-service".to_owned()),
            ("limit", "1".to_owned()),
        ])
        .await?;
    match traces.first() {
        None => report.missing(tr!(
            lang,
            "no trace of demo-service yet: send it a request (`curl http://127.0.0.1:8080/`) and check again",
            "pas encore de trace de demo-service : envoyez-lui une requête (`curl http://127.0.0.1:8080/`) et relancez le contrôle"
        )),
        Some(t) => {
            let meta = &t["root"]["meta"];
            match (meta["env"].as_str(), meta["version"].as_str()) {
                (Some(env), Some(version)) => report.ok(tr!(
                    lang,
                    "demo-service's traces arrive (env {env}, version {version}: unified service tagging)",
                    "les traces de demo-service arrivent (env {env}, version {version} : unified service tagging)"
                )),
                _ => report.missing(tr!(
                    lang,
                    "demo-service's spans have no env or version tag: set DD_ENV and DD_VERSION (unified service tagging)",
                    "les spans de demo-service n'ont pas de tag env ou version : réglez DD_ENV et DD_VERSION (unified service tagging)"
                )),
            }
        }
    }

    let runtime = api
        .query("avg:runtime.rust.thread_count{service:demo-service}", 10)
        .await?;
    report.expect(
        runtime.has_points(),
        tr!(
            lang,
            "DogStatsD: demo-service's runtime metrics (runtime.rust.*) arrive",
            "DogStatsD : les métriques runtime de demo-service (runtime.rust.*) arrivent"
        ),
        tr!(
            lang,
            "no runtime.rust.* metric from demo-service over the last 10 minutes: is DD_RUNTIME_METRICS_ENABLED=true, and DogStatsD (8125/udp) reachable?",
            "aucune métrique runtime.rust.* de demo-service sur les 10 dernières minutes : DD_RUNTIME_METRICS_ENABLED=true est-il réglé, et DogStatsD (8125/udp) joignable ?"
        ),
    );
    Ok(())
}
