//! Exercise 11: alerts as tests. The student writes a monitor of their own and a loadgen
//! scenario whose expectations say when it must fire and recover, runs it with `--check` and
//! `--junit` as a CI job would. The verdicts, the exit code and the JUnit file stay on the
//! student's side; the check verifies what the run leaves in the lab: the monitor, and its
//! history going to Alert and back to OK.

use super::client::ApiError;
use super::dashboard::metrics_in;
use super::lang::{tr, Lang};
use super::monitor::{self, clock};
use super::report::Report;
use super::Ctx;

pub const NAME: &str = "Bootcamp: error rate (test)";
/// Longest window a scenario can wait out: a test of an alert should take minutes, not hours.
const MAX_WINDOW_SECS: i64 = 300;

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "alerts as tests: a scenario, --check, JUnit, CI",
            "les alertes comme des tests : un scénario, --check, JUnit, la CI"
        ),
        tr!(
            lang,
            "a monitor named \"{NAME}\" on demo-service's errors (trace.http.server.request.errors) with a window of at most 5 minutes, whose history went to Alert and then back to OK (what your scenario's run leaves in the lab; its verdicts, exit code and JUnit file are on your side)",
            "un moniteur nommé \"{NAME}\" sur les erreurs de demo-service (trace.http.server.request.errors) avec une fenêtre de 5 minutes au plus, dont l'historique est passé à Alert puis revenu à OK (ce que l'exécution de votre scénario laisse dans le lab ; ses verdicts, son code de sortie et son fichier JUnit sont de votre côté)"
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    let Some(m) = monitor::find_or_say(api, NAME, lang, report).await? else {
        return Ok(());
    };
    let query = m["query"].as_str().unwrap_or("");
    report.expect(
        metrics_in(query)
            .iter()
            .any(|x| x == "trace.http.server.request.errors")
            && query.contains("service:demo-service"),
        tr!(
            lang,
            "it watches demo-service's errors",
            "il surveille les erreurs de demo-service"
        ),
        tr!(
            lang,
            "your query `{query}` does not read trace.http.server.request.errors of service:demo-service",
            "votre requête `{query}` ne lit pas trace.http.server.request.errors de service:demo-service"
        ),
    );
    let window = m["agent_lite"]["window_secs"].as_i64().unwrap_or(0);
    report.expect(
        window > 0 && window <= MAX_WINDOW_SECS,
        tr!(
            lang,
            "a window a scenario can wait out: {window} s",
            "une fenêtre qu'un scénario peut attendre : {window} s"
        ),
        tr!(
            lang,
            "your monitor's window is {window} s: a scenario would wait that long for each verdict; use last_1m (at most last_5m)",
            "la fenêtre de votre moniteur est de {window} s : un scénario attendrait autant pour chaque verdict ; prenez last_1m (au plus last_5m)"
        ),
    );
    let Some(id) = m["id"].as_u64() else {
        return Ok(());
    };
    let history = api.monitor_history(id).await?;
    let fired = monitor::entered(&history, "Alert");
    let Some((fired_at, _)) = fired.first() else {
        report.missing(tr!(
            lang,
            "your monitor has never fired: run your scenario (`loadgen run alerts-as-tests.toml --check --junit junit.xml`), its error burst must take it to Alert",
            "votre moniteur ne s'est jamais déclenché : lancez votre scénario (`loadgen run alerts-as-tests.toml --check --junit junit.xml`), sa rafale d'erreurs doit le passer en Alert"
        ));
        return Ok(());
    };
    report.ok(tr!(
        lang,
        "it fired at {}",
        "il s'est déclenché à {}",
        clock(*fired_at)
    ));
    let recovered = monitor::entered(&history, "OK")
        .into_iter()
        .find(|(at, _)| at >= fired_at);
    match recovered {
        Some((at, _)) => report.ok(tr!(
            lang,
            "and recovered at {}: your scenario took it through a whole incident",
            "et il est revenu à OK à {} : votre scénario lui a fait traverser un incident entier",
            clock(at)
        )),
        None => report.missing(tr!(
            lang,
            "it has not recovered since: give your scenario a recovery phase long enough for the window to empty, with an expectation `state = \"OK\"`",
            "il n'est pas revenu à OK depuis : donnez à votre scénario une phase de retour assez longue pour que la fenêtre se vide, avec une attente `state = \"OK\"`"
        )),
    }
    Ok(())
}
