//! Exercise 4: containers. A dashboard of container CPU and memory against their limits,
//! restarts and the event stream; then demo-service crashed (its process killed, as the OOM
//! killer would) and brought back by its restart policy, seen in the event stream.

use serde_json::Value;

use super::client::ApiError;
use super::dashboard::{self, Need};
use super::lang::{tr, Lang};
use super::monitor::clock;
use super::report::Report;
use super::Ctx;

pub const TITLE: &str = "Bootcamp: containers";
/// The crashed container's service (its `com.datadoghq.tags.service` label).
const SERVICE: &str = "demo-service";

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "containers: limits, restarts, events after a crash",
            "conteneurs : limites, redémarrages, événements après un crash"
        ),
        tr!(
            lang,
            "a dashboard titled \"{TITLE}\" with the exercise's four widgets drawing data; container metrics collected; in the last hour's event stream a `die` of a {SERVICE} container then its `start`, and container.restarts counting it",
            "un tableau de bord nommé \"{TITLE}\" avec les quatre widgets de l'exercice traçant des données ; les métriques des conteneurs collectées ; dans le flux d'événements de la dernière heure un `die` d'un conteneur {SERVICE} puis son `start`, et container.restarts qui le compte"
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    let containers = api.query("avg:container.cpu.usage{*}", 10).await?;
    report.expect(
        containers.has_points(),
        tr!(
            lang,
            "container metrics are collected",
            "les métriques des conteneurs sont collectées"
        ),
        tr!(
            lang,
            "no container metrics over the last 10 minutes: agent-lite cannot read the Docker socket (see the collectors part of `agent-lite status`; on Linux, LAB_DOCKER_GID in .env)",
            "aucune métrique de conteneur sur les 10 dernières minutes : agent-lite ne lit pas le socket Docker (voir la partie collectors de `agent-lite status` ; sous Linux, LAB_DOCKER_GID dans .env)"
        ),
    );

    if let Some(board) = dashboard::find_or_say(api, TITLE, lang, report).await? {
        let needs = [
            Need {
                what: tr!(lang, "CPU against the limit", "CPU par rapport à la limite"),
                metrics: &["container.cpu.usage", "container.cpu.limit"],
                kinds: &[],
                expression: true,
                markers: &[&[60.0], &[80.0]],
                query_holds: &[],
            },
            Need {
                what: tr!(
                    lang,
                    "memory against the limit",
                    "mémoire par rapport à la limite"
                ),
                metrics: &["container.memory.usage", "container.memory.limit"],
                kinds: &[],
                expression: false,
                markers: &[],
                query_holds: &[],
            },
            Need {
                what: tr!(lang, "restarts", "redémarrages"),
                metrics: &["container.restarts"],
                kinds: &[],
                expression: false,
                markers: &[],
                query_holds: &[],
            },
        ];
        for need in &needs {
            dashboard::judge(api, &board, need, 30, lang, report).await?;
        }
        let stream = board
            .widgets
            .iter()
            .any(|w| w.kind == "event_stream" || w.kind == "event_timeline");
        report.expect(
            stream,
            tr!(
                lang,
                "an event stream widget",
                "un widget de flux d'événements"
            ),
            tr!(
                lang,
                "event stream: no widget of type event_stream on \"{TITLE}\"",
                "flux d'événements : aucun widget de type event_stream sur \"{TITLE}\""
            ),
        );
    }

    crash(ctx, report).await
}

/// The crash: a `die` of a demo-service container, a `start` after it, the restart counted.
async fn crash(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    // Newest first.
    let events = api.events(60).await?;
    let of_service = |e: &Value, kind: &str| {
        let tags: Vec<&str> = e["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        tags.contains(&format!("event_type:{kind}").as_str())
            && (tags.contains(&format!("service:{SERVICE}").as_str())
                || tags.contains(&format!("compose_service:{SERVICE}").as_str()))
    };
    let container = |e: &Value| {
        e["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .find_map(|t| t.strip_prefix("container_name:"))
            .map(str::to_owned)
    };
    // A crash is a die followed by a start of the same container; the newest such pair. A
    // die with no start after it (a container stopped or removed) is said when nothing better.
    let dies: Vec<(usize, &Value)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| of_service(e, "die"))
        .collect();
    let Some(&(_, newest_die)) = dies.first() else {
        report.missing(tr!(
            lang,
            "no crash of {SERVICE} in the last hour's event stream: kill its process (the exercise's `kill -9` line) and check again",
            "aucun crash de {SERVICE} dans le flux d'événements de la dernière heure : tuez son processus (la ligne `kill -9` de l'exercice) et relancez le contrôle"
        ));
        return Ok(());
    };
    let crash = dies.iter().find_map(|&(at, die)| {
        let name = container(die)?;
        // Newer than the die: before it in the list.
        let start = events[..at]
            .iter()
            .rev()
            .find(|e| of_service(e, "start") && container(e).as_deref() == Some(name.as_str()))?;
        Some((die, start, name))
    });
    let Some((die, start, name)) = crash else {
        let name = container(newest_die).unwrap_or_default();
        report.missing(tr!(
            lang,
            "{name} died ({}) and has not started again: was it stopped rather than crashed (`docker kill` and `docker stop` are not crashes)? `docker compose start {SERVICE}`, then crash it with the exercise's line",
            "{name} s'est arrêté ({}) et n'a pas redémarré : a-t-il été arrêté plutôt que crashé (`docker kill` et `docker stop` ne sont pas des crashs) ? `docker compose start {SERVICE}`, puis crashez-le avec la ligne de l'exercice",
            clock(newest_die["date_happened"].as_i64().unwrap_or(0))
        ));
        return Ok(());
    };
    report.ok(tr!(
        lang,
        "the crash: \"{}\" at {}",
        "le crash : \"{}\" à {}",
        die["title"].as_str().unwrap_or("die"),
        clock(die["date_happened"].as_i64().unwrap_or(0))
    ));
    report.ok(tr!(
        lang,
        "its restart policy brought it back: \"{}\" at {}",
        "sa politique de redémarrage l'a relancé : \"{}\" à {}",
        start["title"].as_str().unwrap_or("start"),
        clock(start["date_happened"].as_i64().unwrap_or(0))
    ));
    let restarts = api
        .query(
            &format!("max:container.restarts{{container_name:{name}}}"),
            60,
        )
        .await?
        .max();
    match restarts {
        Some(n) if n >= 1.0 => report.ok(tr!(
            lang,
            "container.restarts of {name}: {n:.0}",
            "container.restarts de {name} : {n:.0}"
        )),
        _ => report.missing(tr!(
            lang,
            "container.restarts of {name} has not counted the crash yet: wait for a collection (15 s)",
            "container.restarts de {name} n'a pas encore compté le crash : attendez une collecte (15 s)"
        )),
    }
    Ok(())
}
