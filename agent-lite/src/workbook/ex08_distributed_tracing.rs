//! Exercise 8: distributed tracing. A trace through inventory and PostgreSQL, the service map,
//! then a dependency outage (PostgreSQL stopped) and its blast radius up to demo-service's
//! answers, and the recovery. Nothing to make: the check verifies what the lab must show.

use serde_json::Value;

use super::client::{ApiError, LabApi};
use super::lang::{tr, Lang};
use super::monitor::clock;
use super::report::Report;
use super::Ctx;

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "distributed tracing, a dependency outage",
            "traces distribuées, la panne d'une dépendance"
        ),
        tr!(
            lang,
            "a trace of GET /slow with spans of demo-service, inventory and its PostgreSQL query; the service map's edges demo-service -> inventory -> the database; a request of demo-service that failed with 503 or 504 on the dependency (the outage), and a GET /slow answered 200 after it (the recovery)",
            "une trace de GET /slow avec des spans de demo-service, d'inventory et de sa requête PostgreSQL ; les arêtes de la service map demo-service -> inventory -> la base ; une requête de demo-service en échec 503 ou 504 sur la dépendance (la panne), et un GET /slow répondu 200 après (le retour)"
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    across_services(api, lang, report).await?;
    service_map(api, lang, report).await?;
    outage(api, lang, report).await
}

async fn across_services(api: &LabApi, lang: Lang, report: &mut Report) -> Result<(), ApiError> {
    let slow = api
        .traces(&[
            ("service", "demo-service".to_owned()),
            ("resource", "GET /slow".to_owned()),
            ("limit", "20".to_owned()),
        ])
        .await?;
    for t in &slow {
        let Some(id) = t["trace_id"].as_str() else {
            continue;
        };
        let Some(spans) = api.trace(id).await? else {
            continue;
        };
        let has = |service: &str| spans.iter().any(|s| s["service"] == service);
        let query = spans
            .iter()
            .find(|s| s["meta"]["db.system"] == "postgresql" || s["name"] == "postgres.query");
        if let (true, true, Some(q)) = (has("demo-service"), has("inventory"), query) {
            report.ok(tr!(
                lang,
                "trace {id} crosses demo-service -> inventory -> PostgreSQL ({} spans; the query: {})",
                "la trace {id} traverse demo-service -> inventory -> PostgreSQL ({} spans ; la requête : {})",
                spans.len(),
                q["resource"].as_str().unwrap_or("?")
            ));
            return Ok(());
        }
    }
    report.missing(tr!(
        lang,
        "no trace of GET /slow through inventory and PostgreSQL: `curl http://127.0.0.1:8080/slow` (with inventory and postgres up)",
        "aucune trace de GET /slow passant par inventory et PostgreSQL : `curl http://127.0.0.1:8080/slow` (avec inventory et postgres lancés)"
    ));
    Ok(())
}

async fn service_map(api: &LabApi, lang: Lang, report: &mut Report) -> Result<(), ApiError> {
    let map = api.service_map().await?;
    let edges: Vec<&Value> = map["edges"].as_array().into_iter().flatten().collect();
    let databases: Vec<&str> = map["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["kind"] == "database")
        .filter_map(|n| n["service"].as_str())
        .collect();
    let to_inventory = edges
        .iter()
        .any(|e| e["from"] == "demo-service" && e["to"] == "inventory");
    let to_database = edges.iter().find(|e| {
        e["from"] == "inventory" && e["to"].as_str().is_some_and(|to| databases.contains(&to))
    });
    match (to_inventory, to_database) {
        (true, Some(db)) => report.ok(tr!(
            lang,
            "service map: demo-service -> inventory -> {} ({} errors of {} queries)",
            "service map : demo-service -> inventory -> {} ({} erreurs sur {} requêtes)",
            db["to"].as_str().unwrap_or("?"),
            db["errors"],
            db["requests"]
        )),
        _ => report.missing(tr!(
            lang,
            "the service map has no path demo-service -> inventory -> database yet: call /slow and open the Service Map view",
            "la service map n'a pas encore le chemin demo-service -> inventory -> base : appelez /slow et ouvrez la vue Service Map"
        )),
    }
    Ok(())
}

async fn outage(api: &LabApi, lang: Lang, report: &mut Report) -> Result<(), ApiError> {
    let failed = api
        .traces(&[
            ("service", "demo-service".to_owned()),
            ("error", "true".to_owned()),
            ("limit", "200".to_owned()),
        ])
        .await?;
    let status = |t: &Value| {
        t["root"]["meta"]["http.status_code"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    };
    // Newest first: the latest request the outage failed.
    let Some(hit) = failed
        .iter()
        .find(|t| matches!(status(t).as_str(), "503" | "504"))
    else {
        report.missing(tr!(
            lang,
            "no request of demo-service failed on its dependency (503 or 504): stop PostgreSQL (`docker compose stop postgres`), call /slow, look at the service map and the error, then start it again",
            "aucune requête de demo-service n'a échoué sur sa dépendance (503 ou 504) : arrêtez PostgreSQL (`docker compose stop postgres`), appelez /slow, regardez la service map et l'erreur, puis relancez-le"
        ));
        return Ok(());
    };
    let failed_at = hit["root"]["start"].as_f64().unwrap_or(0.0);
    report.ok(tr!(
        lang,
        "the outage's blast radius: {} answered {} at {} ({})",
        "le rayon d'impact de la panne : {} a répondu {} à {} ({})",
        hit["root"]["resource"].as_str().unwrap_or("?"),
        status(hit),
        clock((failed_at / 1e9) as i64),
        hit["root"]["meta"]["error.message"]
            .as_str()
            .unwrap_or("error")
    ));
    let recent = api
        .traces(&[
            ("service", "demo-service".to_owned()),
            ("resource", "GET /slow".to_owned()),
            ("status", "200".to_owned()),
            ("limit", "1".to_owned()),
        ])
        .await?;
    let back = recent
        .first()
        .filter(|t| t["root"]["start"].as_f64().unwrap_or(0.0) > failed_at);
    match back {
        Some(t) => report.ok(tr!(
            lang,
            "and the recovery: GET /slow answered 200 at {}",
            "et le retour : GET /slow a répondu 200 à {}",
            clock((t["root"]["start"].as_f64().unwrap_or(0.0) / 1e9) as i64)
        )),
        None => report.missing(tr!(
            lang,
            "no GET /slow answered 200 since the outage: start PostgreSQL again (`docker compose start postgres`) and call /slow",
            "aucun GET /slow répondu 200 depuis la panne : relancez PostgreSQL (`docker compose start postgres`) et appelez /slow"
        )),
    }
    Ok(())
}
