//! Exercise 9: profiling, the hot function of the CPU spike. The student turns demo-service's
//! profiler on, plays the spike, reads the CPU profile and names the function that burns
//! (`--function`); the check verifies the profiles arrived, that they hold a spike, and that
//! the function named is the hottest one.

use super::client::ApiError;
use super::lang::{tr, Lang};
use super::report::Report;
use super::Ctx;

/// The profiles looked at: the last half hour.
const MINUTES: i64 = 30;
/// Below this share of the CPU, the hottest function is no spike: an idle service spreads
/// its few samples over the runtime's own functions.
const SPIKE_SHARE: f64 = 0.25;

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "profiling, the hot function of the spike",
            "profiling, la fonction chaude du pic"
        ),
        tr!(
            lang,
            "CPU profiles of demo-service arrived; over the last {MINUTES} minutes one function holds at least {}% of their CPU (a spike was profiled); and the function you name (--function) is that hottest one",
            "des profils CPU de demo-service sont arrivés ; sur les {MINUTES} dernières minutes une fonction tient au moins {} % de leur CPU (un pic a été profilé) ; et la fonction que vous nommez (--function) est la plus chaude",
            SPIKE_SHARE * 100.0
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    let profiles = api.profiles("demo-service").await?;
    if profiles.is_empty() {
        report.missing(tr!(
            lang,
            "no profile from demo-service: turn its profiler on (DD_PROFILING_ENABLED=true, the exercise's compose.override.yaml) and restart it",
            "aucun profil de demo-service : activez son profiler (DD_PROFILING_ENABLED=true, le compose.override.yaml de l'exercice) et redémarrez-le"
        ));
        return Ok(());
    }
    report.ok(tr!(
        lang,
        "{} profile(s) from demo-service",
        "{} profil(s) de demo-service",
        profiles.len()
    ));
    let (functions, whole) = api.hot_functions("demo-service", MINUTES).await?;
    let Some((hottest, hottest_self)) = functions.first() else {
        report.missing(tr!(
            lang,
            "demo-service's profiles of the last {MINUTES} minutes hold no CPU sample yet: wait for an upload (DD_PROFILING_UPLOAD_PERIOD)",
            "les profils de demo-service des {MINUTES} dernières minutes n'ont encore aucun échantillon CPU : attendez un envoi (DD_PROFILING_UPLOAD_PERIOD)"
        ));
        return Ok(());
    };
    let share = |v: f64| if whole > 0.0 { v / whole } else { 0.0 };
    let spiked = share(*hottest_self) >= SPIKE_SHARE;
    report.expect(
        spiked,
        tr!(
            lang,
            "the profiles hold a spike: one function has {:.0}% of the CPU",
            "les profils contiennent un pic : une fonction a {:.0} % du CPU",
            share(*hottest_self) * 100.0
        ),
        tr!(
            lang,
            "no spike in the profiles of the last {MINUTES} minutes (the hottest function has {:.0}% of the CPU): play the CPU spike while the profiler runs",
            "aucun pic dans les profils des {MINUTES} dernières minutes (la fonction la plus chaude a {:.0} % du CPU) : lancez le pic CPU pendant que le profiler tourne",
            share(*hottest_self) * 100.0
        ),
    );
    let Some(named) = ctx.function.as_deref().map(str::trim) else {
        report.missing(tr!(
            lang,
            "name the hot function you found: `lab-check 9 --function <NAME>` (Profiles view, the top of the CPU table)",
            "nommez la fonction chaude trouvée : `lab-check 9 --function <NOM>` (vue Profiles, le haut de la table CPU)"
        ));
        return Ok(());
    };
    if same_function(named, hottest) {
        if spiked {
            report.ok(tr!(
                lang,
                "{hottest} is the hottest function of the spike",
                "{hottest} est la fonction la plus chaude du pic"
            ));
        }
        return Ok(());
    }
    match functions
        .iter()
        .position(|(f, _)| same_function(named, f))
    {
        Some(rank) => report.missing(tr!(
            lang,
            "{named} is in the profiles (rank {}, {:.0}% of the CPU) but not the hottest: look for the widest frame at the top of the flame graph",
            "{named} est dans les profils (rang {}, {:.0} % du CPU) mais n'est pas la plus chaude : cherchez le cadre le plus large en haut du flame graph",
            rank + 1,
            share(functions[rank].1) * 100.0
        )),
        None => report.missing(tr!(
            lang,
            "no function {named} in demo-service's CPU profiles of the last {MINUTES} minutes",
            "aucune fonction {named} dans les profils CPU de demo-service des {MINUTES} dernières minutes"
        )),
    }
    Ok(())
}

/// `spin`, `routes::spin` and `demo_service::http::routes::spin` name the same function.
fn same_function(named: &str, profiled: &str) -> bool {
    let (a, b) = (named.to_lowercase(), profiled.to_lowercase());
    a == b || b.ends_with(&format!("::{a}")) || a.ends_with(&format!("::{b}"))
}

#[cfg(test)]
mod tests {
    use super::same_function;

    #[test]
    fn a_function_is_named_with_or_without_its_path() {
        assert!(same_function("spin", "spin"));
        assert!(same_function("spin", "demo_service::http::routes::spin"));
        assert!(same_function("routes::spin", "spin"));
        assert!(!same_function("pin", "spin"));
    }
}
