//! Exercise 3: the seed's CPU monitor (`system.cpu.user` above 80% over 5 minutes, full
//! window, no alert on missing data, the seed's message), a CPU spike, the monitor firing and
//! recovering. Firing takes 5 full minutes above 80%: the check asks for what a student must
//! have made and what the lab must show sooner (the definition, an evaluation, a spike), and
//! reports the firing and the recovery when they have happened.

use serde_json::Value;

use super::client::ApiError;
use super::dashboard::metrics_in;
use super::lang::{tr, Lang};
use super::monitor::{self, aggregation_and_window, clock, compared_with};
use super::report::Report;
use super::Ctx;

pub const NAME: &str = "Bootcamp: high CPU";
/// The seed's message, first line.
pub const MESSAGE: &str = "High CPU usage detected on {{host.name}}";

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "the seed's CPU monitor, a spike",
            "le moniteur CPU du seed, un pic"
        ),
        tr!(
            lang,
            "a monitor named \"{NAME}...\" with the seed's definition (avg over last_5m of system.cpu.user above 80, require_full_window, notify_no_data off, the seed's message), evaluated by agent-lite, and a spike of system.cpu.user above 80% in the last hour; the firing and the recovery are reported once they happened (they take 5 full minutes above 80%)",
            "un moniteur nommé \"{NAME}...\" avec la définition du seed (avg sur last_5m de system.cpu.user au-dessus de 80, require_full_window, notify_no_data désactivé, le message du seed), évalué par agent-lite, et un pic de system.cpu.user au-dessus de 80 % dans la dernière heure ; le déclenchement et le retour à la normale sont indiqués une fois arrivés (il faut 5 minutes pleines au-dessus de 80 %)"
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    let Some(m) = monitor::find_or_say(api, NAME, lang, report).await? else {
        return Ok(());
    };
    definition(&m, lang, report);

    let last_error = m["agent_lite"]["last_error"].as_str();
    let groups: Vec<String> = m["state"]["groups"]
        .as_object()
        .map(|g| {
            g.values()
                .map(|s| {
                    format!(
                        "{} ({})",
                        s["name"].as_str().unwrap_or("*"),
                        s["status"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    match last_error {
        Some(e) => report.missing(tr!(
            lang,
            "agent-lite cannot evaluate your monitor: {e}",
            "agent-lite ne peut pas évaluer votre moniteur : {e}"
        )),
        None if groups.is_empty() => report.missing(tr!(
            lang,
            "agent-lite has not evaluated your monitor on any host yet: wait for an evaluation (15 s), and check that its query draws data",
            "agent-lite n'a encore évalué votre moniteur sur aucun hôte : attendez une évaluation (15 s) et vérifiez que sa requête trace des données"
        )),
        None => report.ok(tr!(
            lang,
            "agent-lite evaluates it: {}",
            "agent-lite l'évalue : {}",
            groups.join(", ")
        )),
    }

    let highest = api.query("max:system.cpu.user{*}", 60).await?.max();
    match highest {
        Some(h) if h > 80.0 => report.ok(tr!(
            lang,
            "a CPU spike: system.cpu.user reached {h:.0}% in the last hour",
            "un pic CPU : system.cpu.user a atteint {h:.0} % dans la dernière heure"
        )),
        other => {
            let seen = other.map_or_else(|| "-".to_owned(), |h| format!("{h:.0}%"));
            report.missing(tr!(
                lang,
                "no CPU spike yet: system.cpu.user stayed at or under 80% over the last hour (highest {seen}); play the spike (docs/bootcamp/solutions/03/cpu-spike.toml)",
                "pas encore de pic CPU : system.cpu.user est resté à 80 % ou moins sur la dernière heure (au plus {seen}) ; lancez le pic (docs/bootcamp/solutions/03/cpu-spike.toml)"
            ));
        }
    }

    let Some(id) = m["id"].as_u64() else {
        return Ok(());
    };
    let history = api.monitor_history(id).await?;
    let fired = monitor::entered(&history, "Alert");
    let recovered = monitor::entered(&history, "OK");
    match fired.last() {
        None => report.note(tr!(
            lang,
            "it has not fired yet: it fires once the 5-minute average of a full window is above 80% (watch the Monitors view)",
            "il ne s'est pas encore déclenché : il se déclenche quand la moyenne d'une fenêtre pleine de 5 minutes dépasse 80 % (vue Monitors)"
        )),
        Some((at, group)) => {
            let at = clock(*at);
            report.note(tr!(
                lang,
                "it fired on {group} at {at}",
                "il s'est déclenché sur {group} à {at}"
            ));
            if let Some((back, _)) = recovered.last() {
                let back = clock(*back);
                report.note(tr!(
                    lang,
                    "and recovered at {back}",
                    "et il est revenu à OK à {back}"
                ));
            }
        }
    }
    Ok(())
}

/// The seed's definition, field by field, each shortfall named as the JSON would fix it.
fn definition(m: &Value, lang: Lang, report: &mut Report) {
    let query = m["query"].as_str().unwrap_or("");
    let kind = m["type"].as_str().unwrap_or("");
    report.expect(
        kind == "metric alert" || kind == "query alert",
        tr!(lang, "type: {kind}", "type : {kind}"),
        tr!(
            lang,
            "your monitor is of type \"{kind}\": a metric monitor is \"metric alert\" (or \"query alert\")",
            "votre moniteur est de type \"{kind}\" : un moniteur de métrique est \"metric alert\" (ou \"query alert\")"
        ),
    );
    report.expect(
        metrics_in(query).iter().any(|m| m == "system.cpu.user"),
        tr!(
            lang,
            "metric: system.cpu.user",
            "métrique : system.cpu.user"
        ),
        tr!(
            lang,
            "your query `{query}` does not read system.cpu.user",
            "votre requête `{query}` ne lit pas system.cpu.user"
        ),
    );
    let (aggregation, window) = aggregation_and_window(query).unwrap_or_default();
    report.expect(
        aggregation == "avg" && window == "last_5m",
        tr!(
            lang,
            "over 5 minutes: avg(last_5m)",
            "sur 5 minutes : avg(last_5m)"
        ),
        tr!(
            lang,
            "your query evaluates {aggregation}({window}): the seed averages over 5 minutes, avg(last_5m)",
            "votre requête évalue {aggregation}({window}) : le seed fait la moyenne sur 5 minutes, avg(last_5m)"
        ),
    );
    let comparator = m["agent_lite"]["comparator"].as_str().unwrap_or("?");
    let threshold = compared_with(query);
    let critical = m["options"]["thresholds"]["critical"].as_f64();
    report.expect(
        comparator == ">" && threshold == Some(80.0) && critical == Some(80.0),
        tr!(
            lang,
            "above 80: `> 80`, critical 80",
            "au-dessus de 80 : `> 80`, critical 80"
        ),
        tr!(
            lang,
            "your monitor alerts on `{comparator} {}` with critical {}: the seed's is `> 80` and \"thresholds\": {{\"critical\": 80}}",
            "votre moniteur alerte sur `{comparator} {}` avec critical {} : celui du seed est `> 80` et \"thresholds\": {{\"critical\": 80}}",
            threshold.map_or("?".into(), |t| t.to_string()),
            critical.map_or("-".into(), |t| t.to_string())
        ),
    );
    report.expect(
        m["options"]["require_full_window"] == true,
        tr!(lang, "require_full_window", "require_full_window"),
        tr!(
            lang,
            "your monitor has no require_full_window: add \"require_full_window\": true to its options (the seed waits for 5 full minutes of data)",
            "votre moniteur n'a pas require_full_window : ajoutez \"require_full_window\": true à ses options (le seed attend 5 minutes pleines de données)"
        ),
    );
    report.expect(
        m["options"]["notify_no_data"] != true,
        tr!(
            lang,
            "no alert on missing data (notify_no_data off)",
            "pas d'alerte sur données manquantes (notify_no_data désactivé)"
        ),
        tr!(
            lang,
            "your monitor alerts on missing data: the seed sets \"notify_no_data\": false",
            "votre moniteur alerte sur données manquantes : le seed règle \"notify_no_data\": false"
        ),
    );
    let message: String = m["message"]
        .as_str()
        .unwrap_or("")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    report.expect(
        message.contains(MESSAGE),
        tr!(
            lang,
            "the seed's message: \"{MESSAGE}\"",
            "le message du seed : \"{MESSAGE}\""
        ),
        tr!(
            lang,
            "your message does not say \"{MESSAGE}\" (the seed's, with {{{{host.name}}}} filled in by the notification)",
            "votre message ne dit pas \"{MESSAGE}\" (celui du seed, {{{{host.name}}}} rempli par la notification)"
        ),
    );
}
