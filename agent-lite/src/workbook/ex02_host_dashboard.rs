//! Exercise 2: host monitoring, the seed's infrastructure dashboard built widget by widget:
//! CPU user vs system with an 80% marker, CPU saturation through a formula, memory with its
//! critical 80%, disk in use with its critical 95%.

use super::client::ApiError;
use super::dashboard::{self, Need};
use super::lang::{tr, Lang};
use super::report::Report;
use super::Ctx;

pub const TITLE: &str = "Bootcamp: host";

pub fn describe(lang: Lang) -> (String, String) {
    (
        tr!(
            lang,
            "host monitoring, the infrastructure dashboard",
            "supervision de l'hôte, le tableau de bord d'infrastructure"
        ),
        tr!(
            lang,
            "a dashboard titled \"{TITLE}\" with the four widgets of the exercise (metrics, formula, markers), each query drawing data in the lab",
            "un tableau de bord nommé \"{TITLE}\" avec les quatre widgets de l'exercice (métriques, formule, marqueurs), chaque requête traçant des données dans le lab"
        ),
    )
}

pub async fn check(ctx: &Ctx, report: &mut Report) -> Result<(), ApiError> {
    let (api, lang) = (&ctx.api, ctx.lang);
    let Some(board) = dashboard::find_or_say(api, TITLE, lang, report).await? else {
        return Ok(());
    };
    let needs = [
        Need {
            what: tr!(lang, "CPU user vs system", "CPU user vs system"),
            metrics: &["system.cpu.user", "system.cpu.system"],
            kinds: &[],
            expression: false,
            markers: &[&[80.0]],
            query_holds: &[],
        },
        Need {
            what: tr!(
                lang,
                "CPU saturation (a formula)",
                "saturation CPU (une formule)"
            ),
            metrics: &["system.cpu.*"],
            kinds: &[],
            expression: true,
            markers: &[],
            query_holds: &[],
        },
        Need {
            what: tr!(lang, "memory usage", "utilisation mémoire"),
            metrics: &["system.mem.*"],
            kinds: &[],
            expression: false,
            markers: &[&[80.0, 0.8]],
            query_holds: &[],
        },
        Need {
            what: tr!(lang, "disk usage", "utilisation disque"),
            metrics: &["system.disk.in_use"],
            kinds: &[],
            expression: false,
            markers: &[&[95.0, 0.95]],
            query_holds: &[],
        },
    ];
    for need in &needs {
        dashboard::judge(api, &board, need, 30, lang, report).await?;
    }
    Ok(())
}
